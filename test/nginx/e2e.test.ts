/**
 * End to end: Debian's nginx with the coldrl module (built by nginx/build.sh) as a caching reverse proxy in
 * front of an origin server block, the real sidecar (`coldrl serve`) with a real ONNX model whose choices
 * are known (it evicts the largest candidate), all on 127.0.0.1 in a temporary directory.
 *
 * The cache holds 40 blocks of 4 KiB (max_size=160k). Six small objects (1 block each) are the LRU tail,
 * then L1 (15 blocks), L2 (16 blocks, the largest), a hit on L1, then T (14 blocks) pushes the cache over:
 *   model (live)   evicts L2 only: the small LRU-tail objects it spared stay cached;
 *   nginx (LRU)    evicts S1..S6 and L2 (its forced_expire, from the LRU tail until 12 blocks are free).
 * Scenarios: live model; sidecar frozen (SIGSTOP: slower than the deadline) -> handed to nginx's LRU;
 * sidecar socket absent -> nginx's LRU; shadow mode -> nginx's LRU plus a log line naming the model's
 * choice (those two with K = 3 `large` candidates, L2, L1 and T, of which an LRU over the candidates would
 * take L2 alone: nginx's own LRU takes the small tail objects first). Counters, feature parity with
 * replay/ (same access log, read with the nginx-json format) and the training loop are checked too.
 * Those run with the module's default candidate source, `overdue` (the nine residents are fewer than 4K, so
 * all of them are candidates); each source is then checked on its own, `large`, `rare`, `perbyte`,
 * `weighted` and `blend` at K = 4 (4K >= 9: exactly the four lowest keys), `aged`, `agedblend`, `overdue`
 * (twice: an object idle beyond its pace, and one that is not) and `weighted` at K = 2, and `large` at K = 2
 * (8 of the 9 residents drawn: two of the three large objects).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import {
  buildNginxModule, freePorts, httpGet, NginxInstance, Sidecar, writeSizeModel, type ColdrlDirectives, type ColdrlStatus,
} from '../../bench/nginx.js';
import { assertFeatureParity, loggedCandidates } from './parity.js';
import { runCli, tempDir } from '../helpers.js';

const SIZES: Record<string, number> = {
  S1: 3000, S2: 3000, S3: 3000, S4: 3000, S5: 3000, S6: 3000,
  L1: 60000, L2: 64000, T: 56000, U1: 60000,
};
const SMALL = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

interface Proxy { ngx: NginxInstance; originPort: number; dir: string }

/** The md5 (cache file name) of each object's cache key ($scheme$proxy_host$request_uri). */
function keyOf(p: Proxy, name: string): string { return md5(`http127.0.0.1:${p.originPort}/${name}.bin`); }

async function get(p: Proxy, name: string): Promise<string> {
  const r = await httpGet(p.ngx.opts.proxyPort, `/${name}.bin`);
  assert.equal(r.status, 200, `GET /${name}.bin`);
  assert.equal(r.bytes, SIZES[name], `body of /${name}.bin`);
  return r.cache;
}

/** Waits until the module made `n` decisions and the manager had time to finish deleting. */
async function decisions(p: Proxy, n: number): Promise<ColdrlStatus> {
  const until = Date.now() + 10_000;
  for (;;) {
    const s = await p.ngx.status();
    if (s.decisions >= n) { await sleep(300); return p.ngx.status(); }
    if (Date.now() > until) assert.fail(`expected ${n} decision(s) within 10 s, status: ${JSON.stringify(s)}`);
    await sleep(50);
  }
}

/**
 * T pushes the cache over. The module indexes an object in the log phase, which runs after the client has
 * the whole response, while the cache counts it as soon as it is stored: a manager waking in between would
 * draw the candidates without T (CI met this once). So T is fetched with the manager stopped, until the
 * index holds it.
 */
async function trigger(p: Proxy): Promise<void> {
  const before = await p.ngx.status();
  assert.equal(before.decisions, 0, 'no eviction below max_size');
  await p.ngx.withManagerStopped(async () => {
    assert.equal(await get(p, 'T'), 'MISS');
    const until = Date.now() + 5000;
    while ((await p.ngx.status()).side_table.resident !== before.side_table.resident + 1) {
      if (Date.now() > until) assert.fail('T was not indexed within 5 s');
      await sleep(5);
    }
  });
}

/** Phase A (below max_size, no eviction), then T. */
async function fillAndTrigger(p: Proxy): Promise<void> {
  for (const n of [...SMALL, 'L1', 'L2']) { assert.equal(await get(p, n), 'MISS'); await sleep(5); }
  assert.equal(await get(p, 'L1'), 'HIT');
  await sleep(250);
  await trigger(p);
}

function present(p: Proxy, names: string[]): Record<string, boolean> {
  const files = p.ngx.cachedFiles();
  return Object.fromEntries(names.map((n) => [n, files.has(keyOf(p, n))]));
}

const all = (names: string[], v: boolean) => Object.fromEntries(names.map((n) => [n, v]));

/** What the model keeps after T (L2 goes) and what LRU keeps (S1..S6 and L2 go). */
const MODEL_KEEPS = { ...all(SMALL, true), L1: true, L2: false, T: true };
const LRU_KEEPS = { ...all(SMALL, false), L1: true, L2: false, T: true };

/** The candidate keys of the first decision, in the order sent (from the coldrl_log_features lines). */
function sentKeys(p: Proxy): string[] {
  const keys: string[] = [];
  let first: string | undefined;
  for (const l of p.ngx.errorLog().split('\n')) {
    const m = /coldrl features (\d+) i:(\d+) now:\d+ key:([0-9a-f]{32}) /.exec(l);
    if (!m) continue;
    first ??= m[1];
    if (m[1] !== first) break;
    assert.equal(Number(m[2]), keys.length, 'feature lines in candidate order');
    keys.push(m[3]!);
  }
  return keys;
}

/** Fill, trigger, wait for the one decision; the status and which objects are still cached. */
async function oneEviction(p: Proxy): Promise<{ s: ColdrlStatus; kept: Record<string, boolean> }> {
  await fillAndTrigger(p);
  const s = await decisions(p, 1);
  assert.equal(s.decisions, 1);
  return { s, kept: present(p, [...SMALL, 'L1', 'L2', 'T']) };
}

test('nginx: the coldrl module evicts through the sidecar in a real proxy, hands fallbacks to nginx\'s LRU, keeps parity', { timeout: 240_000 }, async (t) => {
  const build = buildNginxModule(); // a failed build fails the test
  const root = tempDir(t, 'coldrl-nginx-e2e-');
  const model = join(root, 'size.onnx');
  writeSizeModel(model);
  const socket = join(root, 'sidecar.sock');
  const [metricsPort] = await freePorts(1);
  const sidecar = await Sidecar.start(model, socket, ['--metrics', `127.0.0.1:${metricsPort}`]);
  t.after(() => sidecar.stop());
  /** The sidecar's count of requests whose candidate source differs from the model's (`tail`, writeSizeModel). */
  const mismatches = async () => {
    const m = /coldrl_sidecar_candidate_source_mismatches_total (\d+)/.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    return Number(m![1]);
  };

  async function proxy(name: string, coldrl: ColdrlDirectives): Promise<Proxy> {
    const dir = join(root, name);
    mkdirSync(join(dir, 'www'), { recursive: true });
    for (const [n, size] of Object.entries(SIZES)) writeFileSync(join(dir, 'www', `${n}.bin`), Buffer.alloc(size, n.charCodeAt(0)));
    const [originPort, proxyPort] = await freePorts(2);
    const ngx = await NginxInstance.start({ dir, build, originPort: originPort!, proxyPort: proxyPort!, maxSize: '160k', coldrl });
    t.after(() => ngx.stop());
    return { ngx, originPort, dir };
  }

  const live = await proxy('live', { socket, timeout: '100ms', logFeatures: true, keepalive: '200ms' });

  await t.test('live: the model chooses the victims, the LRU tail it spared stays cached', async () => {
    const { s, kept } = await oneEviction(live);
    assert.deepEqual(kept, MODEL_KEEPS);
    assert.equal(s.model_decisions, 1);
    assert.equal(s.candidates_source, 'overdue', 'the default source');
    assert.ok(s.collect_ns > 0 && s.collect_ns < 1e9, `time spent collecting counted: ${s.collect_ns} ns`);
    assert.deepEqual(s.evictions, { model: 1 });
    assert.equal(s.handed_to_nginx, 0);
    assert.deepEqual(s.fallbacks, { timeout: 0, connect: 0, bad_reply: 0, sidecar: 0, breaker: 0 });
    assert.equal(s.latency_us.count, 1);
    assert.equal(s.latency_us.buckets.reduce((a, b) => a + b.count, 0), 1);
    assert.equal(s.sidecar.connected, 1);
    assert.ok(s.sidecar.pings >= 1, 'keepalive pings sent');
    const line = live.ngx.errorLog().split('\n').find((l) => l.includes('coldrl decision 1:') || /coldrl decision \d+: live outcome:model/.test(l));
    assert.ok(line && line.includes(`evicted:${keyOf(live, 'L2')} `), `decision line names L2: ${line}`);
    // Prometheus text agrees with the JSON
    const prom = await httpGet(live.ngx.opts.proxyPort, '/coldrl_status?format=prometheus');
    assert.match(prom.body, /^coldrl_decisions_total 1$/m);
    assert.match(prom.body, /^coldrl_evictions_total\{by="model"\} 1$/m);
    assert.match(prom.body, /^coldrl_handed_to_nginx_total 0$/m);
    assert.match(prom.body, /^coldrl_decision_latency_seconds_count 1$/m);
    assert.match(prom.body, new RegExp(`^coldrl_collect_seconds_total ${(s.collect_ns / 1e9).toFixed(9)}$`, 'm'));
  });

  await t.test('parity: the features the module sent equal what replay/ computes from the access log', async () => {
    assert.ok(loggedCandidates(live.ngx.errorLog()).length >= 9, 'feature lines logged');
    const compared = await assertFeatureParity(live.ngx.errorLog(), join(live.dir, 'access.log'));
    assert.ok(compared >= 9);
  });

  await t.test('slower than the deadline (sidecar frozen): handed to nginx\'s LRU, every request served, counted as timeout', async () => {
    sidecar.pause();
    try {
      assert.equal(await get(live, 'U1'), 'MISS');
      for (const n of ['T', 'U1']) assert.equal(await get(live, n), 'HIT');
      const s = await decisions(live, 2);
      assert.equal(s.fallbacks.timeout, 1);
      assert.equal(s.handed_to_nginx, 1);
      assert.equal(s.evictions.model, 1, 'the module deleted nothing more');
      // nginx's LRU tail: S1..S6, then L1 (T and U1 were requested after it)
      assert.deepEqual(present(live, [...SMALL, 'L1', 'T', 'U1']), { ...all(SMALL, false), L1: false, T: true, U1: true });
    } finally {
      sidecar.resume();
    }
  });

  await t.test('an object requested while the model decides is left alone by that decision (its lookups are compared, not only its expire second)', async () => {
    const p = await proxy('requested', { socket, timeout: '2s' });
    for (const n of [...SMALL, 'L1']) { assert.equal(await get(p, n), 'MISS'); await sleep(5); }
    assert.equal(await get(p, 'L1'), 'HIT');
    // L2 stored, the decision sent and L2 requested again within one second: the node's `expire` (last
    // access + inactive, in seconds) stays the same, its `uses` (one per lookup) does not
    while (Date.now() % 1000 > 50) await sleep(2);
    sidecar.pause();
    try {
      assert.equal(await get(p, 'L2'), 'MISS');
      await trigger(p);
      await sleep(400); // the manager has sent the decision; the frozen sidecar holds it (2 s deadline)
      assert.equal(await get(p, 'L2'), 'HIT');
    } finally {
      sidecar.resume();
    }
    const s = await decisions(p, 1);
    const line = p.ngx.errorLog().split('\n').find((l) => /coldrl decision \d+: live /.test(l)) ?? '';
    assert.match(line, /outcome:model /, `the model answered the first decision: ${line}`);
    assert.ok(line.includes(`evicted:${keyOf(p, 'L2')} `), `the model chose L2: ${line}`);
    assert.match(line, / deleted:0 /, `L2, requested meanwhile, was not deleted by that decision: ${line}`);
    assert.ok(s.revalidation_misses >= 1, `counted as a revalidation miss: ${JSON.stringify(s)}`);
  });

  await t.test('sidecar down (no socket): nginx evicts from its own LRU tail, counted as connect', async () => {
    const down = await proxy('down', { socket: join(root, 'absent.sock'), timeout: '100ms', candidates: 'large', k: 3 });
    const { s, kept } = await oneEviction(down);
    assert.deepEqual(kept, LRU_KEEPS, 'S1..S6 and L2 (an LRU over the candidates L2, L1, T would have taken L2 alone)');
    assert.equal(s.fallbacks.connect, 1);
    assert.deepEqual(s.evictions, { model: 0 });
    assert.equal(s.handed_to_nginx, 1);
    const line = down.ngx.errorLog().split('\n').find((l) => /coldrl decision \d+: live outcome:connect/.test(l)) ?? '';
    assert.match(line, / deleted:0 evicted:nginx model:- *$/, `the decision line: ${line}`);
    assert.equal(s.sidecar.connected, 0);
    for (const n of ['L1', 'T']) assert.equal(await get(down, n), 'HIT');
    assert.equal(await get(down, 'S1'), 'MISS', 'an evicted object is fetched again');
  });

  await t.test('shadow: asks the model, logs its choice, deletes nothing: nginx evicts as without the module', async () => {
    const shadow = await proxy('shadow', { socket, timeout: '100ms', shadow: true, candidates: 'large', k: 3 });
    const { s, kept } = await oneEviction(shadow);
    assert.deepEqual(kept, LRU_KEEPS, 'nginx\'s own LRU: S1..S6 and L2');
    assert.equal(s.shadow_decisions, 1);
    assert.equal(s.model_decisions, 1);
    assert.deepEqual(s.evictions, { model: 0 });
    assert.equal(s.handed_to_nginx, 1);
    const line = shadow.ngx.errorLog().split('\n').find((l) => /\[notice\].*coldrl decision \d+: shadow outcome:model/.test(l));
    assert.ok(line, 'a notice line per shadow decision');
    assert.ok(line.includes(`model:${keyOf(shadow, 'L2')}`), `the model's choice (L2) is logged: ${line}`);
    assert.match(line, / deleted:0 evicted:nginx /, `the module deleted nothing: ${line}`);
  });

  for (const source of ['tail', 'sample', 'mixed', 'large', 'rare', 'perbyte', 'aged', 'weighted', 'blend', 'agedblend', 'overdue'] as const) {
    await t.test(`candidates ${source}: all nine residents are candidates, the index stays in step with deletions`, async () => {
      const p = await proxy(source, { socket, timeout: '100ms', candidates: source });
      const before = await mismatches();
      const { s, kept } = await oneEviction(p);
      assert.equal(s.candidates_source, source);
      // the module names its source in each request (candidate_source); the model was trained on `tail`
      assert.equal(await mismatches() - before, source === 'tail' ? 0 : 1, 'the sidecar counts a request from another source');
      assert.deepEqual(kept, MODEL_KEEPS);
      assert.deepEqual(s.evictions, { model: 1 });
      const line = p.ngx.errorLog().split('\n').find((l) => /coldrl decision \d+: live outcome:model/.test(l)) ?? '';
      assert.match(line, new RegExp(`candidates:${source} n:9 `), 'all nine resident objects were candidates');
      assert.equal(s.side_table.resident, p.ngx.cachedFiles().size, 'the index holds exactly the cached objects');
    });
  }

  await t.test('candidates large, 4K >= residents: exactly the K largest, oldest last access first', async () => {
    const p = await proxy('large4', { socket, timeout: '100ms', candidates: 'large', k: 4, logFeatures: true });
    const { s, kept } = await oneEviction(p);
    assert.equal(s.candidates_source, 'large');
    // sizes: L2 > L1 > T > S1 = ... = S6 (a tie: the older last access, S1); then ordered by last access
    assert.deepEqual(sentKeys(p), ['S1', 'L2', 'L1', 'T'].map((n) => keyOf(p, n)), 'the four largest, oldest first');
    assert.equal(s.candidates, 4);
    assert.deepEqual(kept, MODEL_KEEPS);
    assert.deepEqual(s.evictions, { model: 1 });
    assert.equal(s.side_table.resident, p.ngx.cachedFiles().size, 'the index holds exactly the cached objects');
  });

  await t.test('candidates rare, perbyte, weighted and blend, 4K >= residents: the K fewest lifetime requests / requests per byte', async () => {
    // lifetime requests: L1 2 (it had a hit), every other object 1; per byte: L2 < T < L1 < S1 = ... = S6
    // weighted draws all nine too (by size, without replacement), blend 8 uniformly and the ninth by size;
    // both then keep as perbyte does
    const perbyte = ['S1', 'L2', 'L1', 'T'];
    const expected = { rare: ['S1', 'S2', 'S3', 'S4'], perbyte, weighted: perbyte, blend: perbyte };
    for (const [source, names] of Object.entries(expected)) {
      const p = await proxy(`${source}4`, { socket, timeout: '100ms', candidates: source, k: 4, logFeatures: true });
      await fillAndTrigger(p);
      const s = await decisions(p, 1);
      assert.equal(s.candidates_source, source);
      assert.deepEqual(sentKeys(p), names.map((n) => keyOf(p, n)), `${source}: ${names.join(', ')}, oldest last access first`);
      assert.equal(s.side_table.resident, p.ngx.cachedFiles().size, 'the index holds exactly the cached objects');
    }
  });

  for (const source of ['aged', 'agedblend', 'overdue']) {
    await t.test(`candidates ${source}, 4K >= residents: an object idle for seconds ages into the K (perbyte would keep T)`, async () => {
      // requests per byte: L2 1/64000 < T 1/56000 < L1 2/60000; after 3 s idle L1's is divided by sqrt(1 + 3) or
      // more, below T's (T is stored just before the eviction): aged keeps L2 and L1, perbyte L2 and T. Four
      // small objects only, so the 8 draws of K=2 take all 7 residents (still over max_size once T is in);
      // agedblend's 4 uniform draws and 4 by size among the rest do too. overdue divides by sqrt(1 + idle /
      // mean gap), the gap of L1's two requests being under a second, so 1 s: the same.
      const p = await proxy(`${source}2`, { socket, timeout: '100ms', candidates: source, k: 2, logFeatures: true });
      for (const n of [...SMALL.slice(0, 4), 'L1', 'L2']) { assert.equal(await get(p, n), 'MISS'); await sleep(5); }
      assert.equal(await get(p, 'L1'), 'HIT');
      await sleep(3000);
      await trigger(p);
      const s = await decisions(p, 1);
      assert.equal(s.candidates_source, source);
      assert.deepEqual(sentKeys(p), ['L2', 'L1'].map((n) => keyOf(p, n)), 'L2 and L1, oldest last access first');
    });
  }

  await t.test('candidates overdue: an object idle for less than twice its own pace does not age into the K (aged would take it)', async () => {
    // as above, but L1's two requests 2 s apart: its key is divided by sqrt(1 + 3 / 2) = 1.58 after 3 s idle,
    // not enough to go below T's (it needs 1.87), where aged's sqrt(1 + 3) = 2 is: overdue keeps L2 and T
    const p = await proxy('overdue-pace', { socket, timeout: '100ms', candidates: 'overdue', k: 2, logFeatures: true });
    for (const n of [...SMALL.slice(0, 4), 'L1', 'L2']) { assert.equal(await get(p, n), 'MISS'); await sleep(5); }
    await sleep(2000);
    assert.equal(await get(p, 'L1'), 'HIT');
    await sleep(3000);
    await trigger(p);
    const s = await decisions(p, 1);
    assert.equal(s.candidates_source, 'overdue');
    const names = sentKeys(p).map((k) => [...SMALL, 'L1', 'L2', 'T'].find((n) => keyOf(p, n) === k) ?? k);
    assert.deepEqual(names, ['L2', 'T'], 'L2 and T, oldest last access first');
  });

  await t.test('candidates weighted, 4K < residents: 8 of 9 drawn by size miss a small object, so L2 and T are kept', async () => {
    // by size, the one resident left undrawn is a 3 KB one but with chance ~1e-5 (each large object holds
    // ~56-64 KB); the 2 fewest requests per byte of the drawn are then L2 and T. Uniform draws miss a large one
    // a third of the time.
    const p = await proxy('weighted2', { socket, timeout: '100ms', candidates: 'weighted', k: 2, logFeatures: true });
    await fillAndTrigger(p);
    const s = await decisions(p, 1);
    assert.equal(s.candidates_source, 'weighted');
    assert.deepEqual(sentKeys(p), ['L2', 'T'].map((n) => keyOf(p, n)), 'L2 and T, oldest last access first');
    assert.equal(s.side_table.resident, p.ngx.cachedFiles().size, 'the index holds exactly the cached objects');
  });

  await t.test('candidates large, 4K < residents: the K largest of the drawn, two of the three large objects', async () => {
    const p = await proxy('large2', { socket, timeout: '100ms', candidates: 'large', k: 2, logFeatures: true });
    await fillAndTrigger(p);
    const s = await decisions(p, 1);
    // 8 of the 9 residents are drawn without repeats, so at most one of L1, L2, T is missed
    const big = ['L2', 'L1', 'T'];
    const sent = sentKeys(p);
    const names = sent.map((k) => big.find((n) => keyOf(p, n) === k) ?? `small ${k}`);
    assert.equal(sent.length, 2);
    for (const n of names) assert.ok(big.includes(n), `candidates ${names.join(', ')} are among ${big.join(', ')}`);
    assert.deepEqual(names, big.filter((n) => names.includes(n)), 'oldest last access first (L2, then L1, then T)');
    const victim = names.includes('L2') ? 'L2' : 'L1'; // the size model evicts the larger; either frees the 12 blocks
    assert.deepEqual(s.evictions, { model: 1 });
    assert.deepEqual(present(p, [...SMALL, 'L1', 'L2', 'T']), { ...all(SMALL, true), L1: victim !== 'L1', L2: victim !== 'L2', T: true });
    assert.equal(s.side_table.resident, p.ngx.cachedFiles().size, 'the index holds exactly the cached objects');
  });

  await t.test('the loop closes: the access log trains a model with `coldrl train`, the sidecar serves it', async (st) => {
    const trained = join(root, 'trained.onnx');
    const r = runCli(['train', '--trace', `nginx-json:${join(live.dir, 'access.log')}`, '--cache-size', '100k', '--out', trained,
      '--db', join(root, 'train.db'), '--steps', '40', '--k', '8', '--hidden', '8', '--seed', '1', '--json'], { timeout: 120_000 });
    assert.equal(r.code, 0, `coldrl train: ${r.stderr}`);
    assert.ok(existsSync(trained), 'the model file was written');
    const served = await Sidecar.start(trained, join(root, 'trained.sock'));
    st.after(() => served.stop());
    assert.notEqual(served.version, sidecar.version, 'another model than the hand-set one');
    const loop = await proxy('loop', { socket: served.socket, timeout: '100ms' });
    const { s } = await oneEviction(loop);
    assert.equal(s.model_decisions, s.decisions, `the trained model answered every decision: ${JSON.stringify(s.fallbacks)}`);
    assert.equal(s.evictions.model >= 1 && s.handed_to_nginx === 0, true, JSON.stringify(s));
    const line = loop.ngx.errorLog().split('\n').find((l) => /coldrl decision \d+: live outcome:model/.test(l));
    assert.ok(line, 'a live model decision was logged');
  });
});
