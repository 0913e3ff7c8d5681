/**
 * The coldrl module over an NGINX's life, with the real sidecar and a model that evicts the largest
 * candidate (bench/nginx.ts writeSizeModel):
 *  - a deadline of 2 s (coldrl_timeout reaches 60 s; ppoll needs it split into seconds and nanoseconds);
 *  - two caches beside each other: the side table is shared, and evictions in one must leave the other's
 *    entries indexed (each cache draws only its own);
 *  - `nginx -s reload` once the caches are loaded (nginx then clears their loaders): the new cycle's
 *    cache manager must still evict through the sidecar. The cache loader runs 60 s after the start, so
 *    this test waits that long.
 * And the side table's features of a copy the origin REVALIDATED (proxy_cache_revalidate, a 304), which
 * replay/ reads as an expired copy refetched; and of copies whose TTL the origin set with X-Accel-Expires.
 * And proxy_cache_min_uses, Set-Cookie and Vary: *, with and without proxy_ignore_headers: replay/'s hits and
 * misses over the access log (cachetrain, and cachetrain_text for the headers) are NGINX's own, with the
 * rules given as options and read from the instance's nginx.conf.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import {
  buildNginxModule, freePorts, httpGet, NginxInstance, Sidecar, writeSizeModel, type ColdrlDirectives, type ColdrlStatus, type NginxBuild, type ProxyOptions,
} from '../../bench/nginx.js';
import { logReadOptions, nginxConfOptions, openSource, type ConfValues } from '../../replay/formats/index.js';
import { STALE_TTL, type LogReadOptions } from '../../replay/formats/nginx-source.js';
import { Cache, type NginxRules } from '../../replay/cache.js';
import { policyFactory } from '../../replay/registry.js';
import { parseCacheSize } from '../../replay/size.js';
import { loadTrace } from '../../replay/trace.js';
import { keysOf, tempDir } from '../helpers.js';
import { assertFeatureParity } from './parity.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KB = 1024;

async function until(what: string, ms: number, ok: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms / 1000} s`);
    await sleep(200);
  }
}

/** The module built, a temporary folder with DIR/www, and a live sidecar with the size model on DIR/sidecar.sock. */
async function setUp(t: TestContext, prefix: string): Promise<{ build: NginxBuild; dir: string; socket: string }> {
  const build = buildNginxModule();
  const dir = tempDir(t, prefix);
  const model = join(dir, 'size.onnx');
  writeSizeModel(model);
  const socket = join(dir, 'sidecar.sock');
  const sidecar = await Sidecar.start(model, socket);
  t.after(() => sidecar.stop());
  return { build, dir, socket };
}

/**
 * An NGINX with the module, in folder `dir` (created): `files` (name -> bytes) in DIR/www for its origin,
 * the module on the set-up's sidecar (timeout 100ms, candidates sample, interval 50ms unless `o.coldrl`
 * says otherwise); stopped after the test.
 */
async function startProxy(t: TestContext, set: { build: NginxBuild; socket: string }, dir: string, files: Record<string, number>,
  o: Omit<ProxyOptions, 'dir' | 'build' | 'originPort' | 'proxyPort' | 'coldrl'> & { coldrl?: Partial<ColdrlDirectives> }): Promise<{ ngx: NginxInstance; port: number }> {
  mkdirSync(join(dir, 'www'), { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, 'www', name), Buffer.alloc(bytes, 120));
  const [originPort, proxyPort] = await freePorts(2);
  const ngx = await NginxInstance.start({
    ...o, dir, build: set.build, originPort: originPort!, proxyPort: proxyPort!,
    coldrl: { socket: set.socket, timeout: '100ms', candidates: 'sample', interval: '50ms', ...o.coldrl },
  });
  t.after(() => ngx.stop());
  return { ngx, port: proxyPort! };
}

test('nginx: the module with a 2 s deadline, two caches, and through a reload', { timeout: 200_000 }, async (t) => {
  const set = await setUp(t, 'coldrl-nginx-life-');
  // 40 blocks of 4 KiB in cache A (max_size=160k); objects of 3 to 12 blocks
  const objects = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`o${i}`, (3 + (i % 10)) * 4 * KB - 512]));
  const { ngx, port: proxyPort } = await startProxy(t, set, set.dir, objects, { maxSize: '160k', secondCache: true, coldrl: { timeout: '2s', k: 16 } });
  const get = async (path: string) => {
    const r = await httpGet(proxyPort!, path);
    assert.equal(r.status, 200, path);
    return r.cache;
  };
  const indexed = (s: ColdrlStatus) => s.side_table.resident;
  const files = () => ngx.cachedFiles('cache').size + ngx.cachedFiles('cache-b').size;

  // cache B: ten objects, far below its max_size: never evicted
  for (let i = 0; i < 10; i++) assert.equal(await get(`/b/o${i}`), 'MISS');
  // nginx renames a stored copy into place once the upstream is done, which may be just after the client
  // has the last byte
  await until('cache B stores the ten', 5000, () => ngx.cachedFiles('cache-b').size === 10);
  // cache A: more than it holds
  for (let i = 0; i < 20; i++) await get(`/o${i}`);
  await until('evictions in cache A', 15_000, async () => (await ngx.status()).decisions >= 1);
  await sleep(500);
  let s = await ngx.status();
  assert.ok(s.model_decisions >= 1 && s.evictions.model >= 1, `the model evicts under a 2 s deadline: ${JSON.stringify(s)}`);
  assert.deepEqual(s.fallbacks, { timeout: 0, connect: 0, bad_reply: 0, sidecar: 0, breaker: 0 });
  assert.equal(ngx.cachedFiles('cache-b').size, 10, 'cache B untouched');
  assert.equal(indexed(s), files(), 'every cached object of both caches is indexed, B\'s too');

  // the loader marks both caches loaded (60 s after the start); a reload then clears their loaders
  await until('the cache loader', 90_000, () => (ngx.errorLog().match(/http file cache: /g) ?? []).length >= 2);
  const wrapped = () => [...ngx.errorLog().matchAll(/coldrl: (\d+) cache path\(s\) evict/g)].map((m) => Number(m[1]));
  assert.deepEqual(wrapped(), [2]);
  process.kill(ngx.proc.pid!, 'SIGHUP');
  await until('the reload', 15_000, () => wrapped().length >= 2);
  assert.deepEqual(wrapped(), [2, 2], 'after the reload both caches still evict through coldrl');
  const before = (await ngx.status()).model_decisions;
  for (let i = 20; i < 40; i++) await get(`/o${i}`);
  await until('evictions after the reload', 20_000, async () => (await ngx.status()).model_decisions > before);
  await sleep(500);
  s = await ngx.status();
  assert.deepEqual(s.fallbacks, { timeout: 0, connect: 0, bad_reply: 0, sidecar: 0, breaker: 0 });
  assert.equal(indexed(s), files());
});

test('nginx: a copy REVALIDATED by the origin (a 304) renews its features, as replay/ reads its log line', { timeout: 60_000 }, async (t) => {
  const set = await setUp(t, 'coldrl-nginx-reval-');
  const { dir } = set;
  const { ngx, port: proxyPort } = await startProxy(t, set, dir, { r0: 3000, r1: 3000, r2: 3000, r3: 3000, big: 30_000 },
    { maxSize: '40k', originExpires: '1s', revalidate: true, coldrl: { logFeatures: true } }); // coldrl_k unset
  for (let i = 0; i < 4; i++) assert.equal((await httpGet(proxyPort!, `/r${i}`)).cache, 'MISS');
  await sleep(2500); // max-age=1: nginx's validity is in whole seconds, so past it within 2 s
  assert.equal((await httpGet(proxyPort!, '/r0')).cache, 'REVALIDATED');
  assert.equal((await httpGet(proxyPort!, '/big')).cache, 'MISS'); // 4 + 8 blocks: over the 10 of max_size
  await until('an eviction', 10_000, async () => (await ngx.status()).decisions >= 1);
  await sleep(300);
  assert.equal((await ngx.status()).k, 64, 'coldrl_k\'s default: the trainer\'s K');
  const compared = await assertFeatureParity(ngx.errorLog(), join(dir, 'access.log'));
  assert.ok(compared >= 4, `candidates compared: ${compared}`);
});

test('nginx: X-Accel-Expires sets the TTL over Cache-Control, 0 keeps a response out, unless proxy_ignore_headers names it; as replay/ reads the log', { timeout: 60_000 }, async (t) => {
  const set = await setUp(t, 'coldrl-nginx-xae-');
  const epoch = Math.floor(Date.now() / 1000) + 100;
  for (const ignore of [undefined, 'X-Accel-Expires']) {
    const sub = join(set.dir, ignore ? 'ignoring' : 'obeying');
    const { ngx, port: proxyPort } = await startProxy(t, set, sub, { secs: 3000, epoch: 3000, stale: 3000, zero: 3000, junk: 3000, plain: 3000, big: 30_000 }, {
      maxSize: '40k', ...(ignore ? { ignoreHeaders: ignore } : {}), // every file: expires 1h
      originHeaders: Object.fromEntries(Object.entries({ secs: '5', epoch: `@${epoch}`, stale: `@${epoch - 200}`, zero: '0', junk: '5s' })
        .map(([n, v]) => [n, { 'X-Accel-Expires': v }])),
      coldrl: { logFeatures: true },
    });
    for (const n of ['secs', 'epoch', 'stale', 'zero', 'junk', 'plain']) assert.equal((await httpGet(proxyPort!, `/${n}`)).cache, 'MISS', n);
    assert.equal((await httpGet(proxyPort!, '/zero')).cache, ignore ? 'HIT' : 'MISS', 'X-Accel-Expires: 0 is not cached unless ignored');
    assert.equal((await httpGet(proxyPort!, '/stale')).cache, ignore ? 'HIT' : 'EXPIRED', 'a past @epoch is stored already stale');
    assert.equal((await httpGet(proxyPort!, '/big')).cache, 'MISS'); // 5 (6 when zero is cached) + 8 blocks: over the 10 of max_size
    await until('an eviction', 10_000, async () => (await ngx.status()).decisions >= 1);
    await sleep(300);
    // replay/ reads the same TTLs from the log: 5 s, the epoch less the line's time, none for "0", the
    // Cache-Control's hour for a value nginx ignores; the hour for every one when proxy_ignore_headers names it
    const read = ignore ? logReadOptions({ 'ignore-headers': ignore }) : {};
    const trace = await loadTrace(openSource(`nginx-json:${join(sub, 'access.log')}`, undefined, read));
    const ttl = (n: string) => { const i = keysOf(trace).findIndex((k) => String(k).endsWith(`/${n}`)); return [trace.ttl[i], trace.flags[i]]; };
    if (ignore) {
      for (const n of ['secs', 'epoch', 'stale', 'zero', 'junk', 'plain']) assert.deepEqual(ttl(n), [3600, 0], n);
    } else {
      assert.deepEqual(ttl('secs'), [5, 0]);
      assert.deepEqual(ttl('stale'), [STALE_TTL, 0], 'stored already stale');
      assert.ok(Math.abs(ttl('epoch')[0]! - 100) < 3 && ttl('epoch')[1] === 0, `@epoch: ${ttl('epoch')}`);
      assert.equal(ttl('zero')[1], 1, 'uncacheable');
      assert.deepEqual(ttl('junk'), [3600, 0]);
      assert.deepEqual(ttl('plain'), [3600, 0]);
    }
    // and the module sent the same features (remaining TTL among them) for every candidate
    const compared = await assertFeatureParity(ngx.errorLog(), join(sub, 'access.log'), read);
    assert.ok(compared >= 4, `candidates compared: ${compared}`);
  }
});

/** replay/'s HIT or MISS for each request of an access log, in nginx semantics under `rules` and reader options. */
async function simulated(accessLog: string, rules: NginxRules, read: LogReadOptions = {}, capacity = 1 << 20, format = 'nginx-json'): Promise<string[]> {
  const trace = await loadTrace(openSource(accessLog, format, read));
  const cache = new Cache(policyFactory('lru').factory, { capacity, semantics: 'nginx', ...rules });
  return Array.from({ length: trace.length }, (_, i) => (cache.access(trace, i) ? 'HIT' : 'MISS'));
}

/**
 * The same, with everything read from DIR/nginx.conf as `coldrl replay --trace DIR/access.log --nginx-conf
 * DIR/nginx.conf --cache-zone coldrl_e2e` reads it: the log_format its access_log names, the zone's
 * max_size, inactive= and keys zone, and the caching rules of the location that uses it.
 */
async function simulatedFromConf(dir: string): Promise<string[]> {
  const v: ConfValues = { 'nginx-conf': join(dir, 'nginx.conf'), 'cache-zone': 'coldrl_e2e' };
  const { keysLimit, zoneLine } = nginxConfOptions('replay', join(dir, 'access.log'), v);
  assert.doesNotMatch(zoneLine!, /note/, 'the cachetrain log\'s key is the proxy_cache_key');
  return simulated(join(dir, 'access.log'), { inactive: Number(v.inactive), keysLimit, minUses: Number(v['min-uses'] ?? 1) }, logReadOptions(v),
    parseCacheSize(v['cache-size']!).bytes);
}

test('nginx: Set-Cookie and Vary: * keep a response out, unless proxy_ignore_headers names them; replay reads the same', { timeout: 60_000 }, async (t) => {
  const set = await setUp(t, 'coldrl-nginx-hdrs-');
  const order = ['cookie', 'vary', 'plain', 'cookie', 'vary', 'plain'];
  for (const [ignore, expected] of [
    [undefined, ['MISS', 'MISS', 'MISS', 'MISS', 'MISS', 'HIT']],
    ['Set-Cookie Vary', ['MISS', 'MISS', 'MISS', 'HIT', 'HIT', 'HIT']],
  ] as const) {
    const sub = join(set.dir, ignore ? 'ignoring' : 'obeying');
    const { ngx, port: proxyPort } = await startProxy(t, set, sub, { cookie: 3000, vary: 3000, plain: 3000 }, {
      maxSize: '1m', ...(ignore ? { ignoreHeaders: ignore } : {}), textLog: true,
      originHeaders: { cookie: { 'Set-Cookie': 'session=42' }, vary: { Vary: '*' } },
    });
    const seen: string[] = [];
    for (const n of order) seen.push((await httpGet(proxyPort!, `/${n}`)).cache);
    assert.deepEqual(seen, expected, `proxy_ignore_headers ${ignore ?? '(none)'}`);
    await until('the log phase of the last request', 5000, async () => (await ngx.status()).side_table.tracked_requests >= order.length);
    assert.equal((await ngx.status()).side_table.resident, ngx.cachedFiles().size, 'the module indexed what was stored');
    assert.deepEqual(await simulated(join(sub, 'access.log'), {}, ignore ? logReadOptions({ 'ignore-headers': ignore }) : {}), seen);
    assert.deepEqual(await simulatedFromConf(sub), seen, 'proxy_ignore_headers read from nginx.conf');
    const text = join(sub, 'access.text.log');
    assert.deepEqual(await simulated(text, {}, ignore ? logReadOptions({ 'ignore-headers': ignore }) : {}, 1 << 20, 'nginx-combined'), seen, 'the cachetrain_text log');
    const logged = readFileSync(join(sub, 'access.log'), 'utf8');
    assert.ok(!logged.includes('session=42'), 'the cookie itself is not logged');
  }
});

test('nginx: ranges and conditional requests are hits on the cached 200; a 404 is cached when its headers give a TTL or proxy_cache_valid names it; replay reads the same', { timeout: 60_000 }, async (t) => {
  const set = await setUp(t, 'coldrl-nginx-status-');
  const { dir } = set;
  const { ngx, port: proxyPort } = await startProxy(t, set, dir, { obj: 5000, other: 5000 }, {
    maxSize: '1m', originHeaders: { gone: { 'Cache-Control': 'max-age=60' } }, // no such file: a 404 with a TTL
  });
  const range = { Range: 'bytes=0-99' };
  const first = await httpGet(proxyPort!, '/obj');
  const steps: [string, Record<string, string>, number, string][] = [
    ['/other', range, 206, 'MISS'], // a range of an uncached object: NGINX fetches and stores the 200
    ['/other', {}, 200, 'HIT'],
    ['/obj', range, 206, 'HIT'],
    ['/obj', { 'If-None-Match': first.etag! }, 304, 'HIT'],
    ['/gone', {}, 404, 'MISS'], ['/gone', {}, 404, 'HIT'],
    ['/missing', {}, 404, 'MISS'], ['/missing', {}, 404, 'MISS'], // no TTL: proxy_cache_valid's codes only
  ];
  const seen = [first.cache];
  for (const [path, headers, status, cache] of steps) {
    const r = await httpGet(proxyPort!, path, headers);
    assert.deepEqual([r.status, r.cache], [status, cache], `${path} ${JSON.stringify(headers)}`);
    seen.push(r.cache);
  }
  await until('the log phase of the last request', 5000, async () => (await ngx.status()).side_table.tracked_requests >= seen.length);
  assert.deepEqual(await simulated(join(dir, 'access.log'), {}), seen);
  // a log without $upstream_status reads the client's 206 and 304 as the 200 behind them: the same
  const withoutUp = join(dir, 'without-up-status.log');
  writeFileSync(withoutUp, readFileSync(join(dir, 'access.log'), 'utf8').replace(/"up_status":"[^"]*",/g, ''));
  assert.deepEqual(await simulated(withoutUp, {}), seen);

  // proxy_cache_valid 404 1m caches a 404 without headers too: --cache-valid '404 1m'
  const sub = join(dir, 'valid');
  const { ngx: valid, port: proxyB } = await startProxy(t, set, sub, { obj: 5000 }, { maxSize: '1m', cacheValid: ['404 1m'] });
  const seenB: string[] = [];
  for (const path of ['/missing', '/missing', '/obj', '/obj']) seenB.push((await httpGet(proxyB!, path)).cache);
  assert.deepEqual(seenB, ['MISS', 'HIT', 'MISS', 'HIT']);
  await until('the log phase of the last request', 5000, async () => (await valid.status()).side_table.tracked_requests >= seenB.length);
  assert.deepEqual(await simulated(join(sub, 'access.log'), {}, logReadOptions({ 'cache-valid': '404 1m' })), seenB);
  assert.deepEqual(await simulatedFromConf(sub), seenB, 'proxy_cache_valid read from nginx.conf');
  assert.deepEqual(await simulated(join(sub, 'access.log'), {}), ['MISS', 'MISS', 'MISS', 'HIT'], 'without it, the 404 is not cached');
});

test('nginx: proxy_cache_min_uses 2 stores on the second request; replay --min-uses 2 gives NGINX\'s hits and misses', { timeout: 60_000 }, async (t) => {
  const set = await setUp(t, 'coldrl-nginx-uses-');
  const { dir } = set;
  const { ngx, port: proxyPort } = await startProxy(t, set, dir, { a: 3000, b: 3000, c: 3000, p: 3000 }, { maxSize: '1m', minUses: 2 });
  const order = ['a', 'a', 'b', 'a', 'c', 'c', 'c', 'b', 'b', 'a'];
  const seen: string[] = [];
  for (const n of order) seen.push((await httpGet(proxyPort!, `/${n}`)).cache);
  assert.deepEqual(seen, ['MISS', 'MISS', 'MISS', 'HIT', 'MISS', 'MISS', 'HIT', 'MISS', 'HIT', 'HIT']);
  await until('the log phase of the last request', 5000, async () => (await ngx.status()).side_table.tracked_requests >= order.length);
  const s = await ngx.status();
  assert.equal(s.side_table.resident, ngx.cachedFiles().size, 'the module indexed what was stored, not the scarce misses');
  assert.deepEqual(await simulated(join(dir, 'access.log'), { minUses: 2 }), seen);
  assert.deepEqual(await simulatedFromConf(dir), seen, 'proxy_cache_min_uses read from nginx.conf');
  // a request whose response is not stored (a 404) still counts in the key's node, as its lookup came
  // first; a POST, which NGINX does not look up, counts nothing
  const more: [string, string, number, string][] = [['GET', '/late', 404, 'MISS'], ['POST', '/p', 405, ''], ['GET', '/p', 200, 'MISS']];
  for (const [method, path, status, cache] of more) {
    const r = await httpGet(proxyPort!, path, {}, method);
    assert.deepEqual([r.status, r.cache], [status, cache], `${method} ${path}`);
    seen.push(cache || 'MISS');
  }
  writeFileSync(join(dir, 'www', 'late'), Buffer.alloc(3000, 1));
  for (const [path, cache] of [['/late', 'MISS'], ['/late', 'HIT'], ['/p', 'MISS'], ['/p', 'HIT']]) {
    const r = await httpGet(proxyPort!, path!);
    assert.deepEqual([r.status, r.cache], [200, cache], `GET ${path}`);
    seen.push(r.cache);
  }
  const logged = () => readFileSync(join(dir, 'access.log'), 'utf8').split('\n').length - 1;
  await until('the log lines of every request', 5000, () => logged() >= seen.length);
  assert.deepEqual(await simulated(join(dir, 'access.log'), { minUses: 2 }), seen, 'the 404 counted a use, the POST none');
});
