/**
 * The keys zone's node limit, against a real NGINX (Debian's nginx 1.22, stock: the module is not loaded).
 * keys_zone=coldrl_e2e:64k holds keysZoneNodes(64k) nodes: the test requests that many distinct objects
 * (no watermark yet, in the debug log), then one more, which finds the zone full: the worker sets the
 * watermark to 7/8 of the count and evicts the LRU tail, and the cache manager then evicts down to the
 * watermark. The files left in the cache must be the objects the simulator keeps on the same access log
 * with Cache's keysLimit.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { buildNginxModule, freePorts, httpGet, NginxInstance, Sidecar, writeSizeModel, type NginxBuild } from '../../bench/nginx.js';
import { Cache } from '../../replay/cache.js';
import { openSource } from '../../replay/formats/index.js';
import { keysZoneNodes } from '../../replay/nginx-conf.js';
import { policyFactory } from '../../replay/registry.js';
import { loadTrace } from '../../replay/trace.js';
import { keysOf, tempDir } from '../helpers.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('nginx: a full keys zone evicts as the simulator\'s keysLimit says (node count, watermark, survivors)', { timeout: 120_000 }, async (t) => {
  const build = buildNginxModule();
  const dir = tempDir(t, 'coldrl-keys-');
  const nodes = keysZoneNodes(64 * 1024, 'coldrl_e2e');
  assert.equal(nodes, 447, '64k: 15 pages of 32 nodes, less the log context\'s page and the zone header');
  mkdirSync(join(dir, 'www'), { recursive: true });
  for (let i = 0; i <= nodes; i++) writeFileSync(join(dir, 'www', `o${i}`), 'x'.repeat(100 + (i % 7) * 50));
  const [originPort, proxyPort] = await freePorts(2);
  const ngx = await NginxInstance.start({ dir, build, originPort: originPort!, proxyPort: proxyPort!, maxSize: '1g', coldrl: null, errorLevel: 'debug', keysZone: '64k' });
  try {
    const watermarks = () => [...ngx.errorLog().matchAll(/http file cache watermark: (\d+)/g)].map((m) => Number(m[1]));
    for (let i = 0; i < nodes; i++) assert.equal((await httpGet(proxyPort!, `/o${i}`)).cache, 'MISS');
    assert.deepEqual(watermarks(), [], `${nodes} nodes fit`);
    assert.equal((await httpGet(proxyPort!, `/o${nodes}`)).cache, 'MISS');
    const watermark = nodes - Math.floor(nodes / 8);
    assert.deepEqual(watermarks(), [watermark], 'one more finds the zone full');
    // the cache manager runs within 10 s and evicts until the count is below the watermark
    const until = Date.now() + 30_000;
    while (ngx.cachedFiles().size >= watermark && Date.now() < until) await sleep(200);
    const files = ngx.cachedFiles();
    assert.equal(files.size, watermark - 1);

    const trace = await loadTrace(openSource(`nginx-json:${join(dir, 'access.log')}`, undefined, {}));
    assert.equal(trace.length, nodes + 1);
    const cache = new Cache(policyFactory('lru').factory, { capacity: 2 ** 30, semantics: 'nginx', inactive: 3600, keysLimit: nodes });
    for (let i = 0; i < trace.length; i++) cache.access(trace, i);
    cache.check();
    assert.equal(cache.stats.zoneFull, 1);
    const kept = new Set(keysOf(trace).filter((_, id) => cache.objects.resident[id] === 1).map((k) => md5(String(k))));
    assert.deepEqual([...files].sort(), [...kept].sort(), 'the files NGINX kept are the objects the simulator kept');
  } finally {
    await ngx.stop();
  }
});

/** The module built, a temporary folder, and a live sidecar with the size model on DIR/sidecar.sock. */
async function withSidecar(t: TestContext, prefix: string): Promise<{ build: NginxBuild; dir: string; socket: string }> {
  const build = buildNginxModule();
  const dir = tempDir(t, prefix);
  const model = join(dir, 'size.onnx');
  writeSizeModel(model);
  const socket = join(dir, 'sidecar.sock');
  const sidecar = await Sidecar.start(model, socket);
  t.after(() => sidecar.stop());
  return { build, dir, socket };
}

test('nginx: with the module, the decisions after a full keys zone are count-bound (need 1) and draw uniform candidates', { timeout: 120_000 }, async (t) => {
  const { build, dir, socket } = await withSidecar(t, 'coldrl-keys-module-');
  const nodes = keysZoneNodes(64 * 1024, 'coldrl_e2e');
  mkdirSync(join(dir, 'www'), { recursive: true });
  for (let i = 0; i <= nodes; i++) writeFileSync(join(dir, 'www', `o${i}`), 'x'.repeat(100));
  const [originPort, proxyPort] = await freePorts(2);
  const ngx = await NginxInstance.start({
    dir, build, originPort: originPort!, proxyPort: proxyPort!, maxSize: '1g', keysZone: '64k',
    coldrl: { socket, timeout: '100ms', interval: '50ms' }, // coldrl_candidates unset: blend, a keyed source
  });
  t.after(() => ngx.stop());
  for (let i = 0; i <= nodes; i++) await httpGet(proxyPort!, `/o${i}`);
  const watermark = nodes - Math.floor(nodes / 8);
  const until = Date.now() + 30_000;
  while (ngx.cachedFiles().size >= watermark && Date.now() < until) await sleep(200);
  assert.equal(ngx.cachedFiles().size, watermark - 1, 'the module evicted down to the watermark');
  const lines = ngx.errorLog().split('\n').filter((l) => /coldrl decision \d+: live/.test(l));
  assert.ok(lines.length > 0, 'decisions through the module');
  for (const l of lines) assert.match(l, / candidates:sample n:\d+ need:1 /, `count-bound, uniform candidates: ${l.slice(0, 200)}`);
});

/**
 * proxy_cache_min_uses 2: every URL requested once leaves a node that stores nothing (exists = 0) until
 * `inactive`. When those fill the keys zone, nginx's forced_expire deletes them from the LRU tail; a module
 * that drew its candidates from the stored objects deleted hot objects instead (reviewer's reproduction:
 * 61 of 100 hot objects left). With the LRU tail a placeholder, a decision bound by the node count is handed
 * to nginx's own manager: the hot objects survive as with stock nginx, live sidecar or none.
 */
test('nginx: with proxy_cache_min_uses 2, one-off URLs that fill the keys zone are evicted as placeholders, hot objects stay', { timeout: 240_000 }, async (t) => {
  const { build, dir, socket } = await withSidecar(t, 'coldrl-keys-placeholders-');
  const HOT = 100;
  const ONE_OFF = 500;
  mkdirSync(join(dir, 'www'), { recursive: true });
  for (let i = 0; i < HOT; i++) writeFileSync(join(dir, 'www', `h${i}`), 'h'.repeat(100 + (i % 7) * 50));
  for (let i = 0; i < ONE_OFF; i++) writeFileSync(join(dir, 'www', `u${i}`), 'u'.repeat(100));
  const nodes = keysZoneNodes(64 * 1024, 'coldrl_e2e');
  assert.ok(HOT + ONE_OFF > nodes && HOT + 150 < nodes - Math.floor(nodes / 8), 'the one-offs fill the zone; the hot ones stay far from its LRU tail');

  for (const [name, coldrl] of [['stock', null], ['sidecar', { socket }], ['no-sidecar', { socket: join(dir, 'absent.sock') }]] as const) {
    const sub = join(dir, name);
    mkdirSync(sub, { recursive: true });
    symlinkSync(join(dir, 'www'), join(sub, 'www'));
    const [originPort, proxyPort] = await freePorts(2);
    const ngx = await NginxInstance.start({
      dir: sub, build, originPort: originPort!, proxyPort: proxyPort!, maxSize: '1g', keysZone: '64k', minUses: 2, accessLog: false,
      coldrl: coldrl && { ...coldrl, timeout: '100ms', interval: '50ms' },
    });
    t.after(() => ngx.stop());
    const hot = async () => {
      let hits = 0;
      for (let i = 0; i < HOT; i++) if ((await httpGet(proxyPort!, `/h${i}`)).cache === 'HIT') hits++;
      return hits;
    };
    await hot();
    assert.equal(await hot(), 0, `${name}: stored on the second request`);
    assert.equal(await hot(), HOT, `${name}: the hot objects are cached`);
    for (let i = 0; i < ONE_OFF; i++) {
      assert.equal((await httpGet(proxyPort!, `/u${i}`)).cache, 'MISS');
      if (i % 50 === 49) await hot();
    }
    await sleep(500); // the cache manager evicts below the watermark
    assert.equal(await hot(), HOT, `${name}: every hot object is still a HIT`);
    if (coldrl) {
      const s = await ngx.status();
      assert.ok(s.tail_handoffs.placeholder > 0, `${name}: count-bound runs were handed to nginx: ${JSON.stringify(s)}`);
      assert.equal(s.evictions.model, 0, `${name}: the module deleted no stored object`);
    }
    await ngx.stop();
  }
});
