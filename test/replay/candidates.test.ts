/**
 * Candidate sources (replay/candidates.ts): every decision's candidates are distinct, resident and ordered
 * oldest last access first; uniform sources are uniform; the biased sources keep what they say; the tail
 * source over K=16 with LRU order is exactly LRU on the golden trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { countBoundSource, DEFAULT_SOURCE, selectVictims, SOURCES, OVERSAMPLE } from '../../replay/candidates.js';
import { KCandidatePolicy, parseKParam } from '../../replay/policies/ktail.js';
import { Cache } from '../../replay/cache.js';
import { openSource } from '../../replay/formats/index.js';
import { loadTrace, traceFromArrays, type Trace } from '../../replay/trace.js';
import { makeCache, replayTrace } from '../../replay/run.js';
import { lruScorer, type Scorer } from '../../replay/scorer.js';
import { Fenwick } from '../../replay/fenwick.js';
import { FEATURE_COUNT, MAX_CANDIDATES, SIZE_FEATURE } from '../../replay/features.js';
import { keysOf, TRACES } from '../helpers.js';

let tragen: Promise<Trace> | null = null;
const loadTragen = () => (tragen ??= loadTrace(openSource(join(TRACES, 'tragen_cdn.csv'), 'csv')));

/** A trace that makes N objects resident in a cache that holds them all: key i, size sizes(i), i requests. */
function residents(n: number, size: (i: number) => number, requests: (i: number) => number = () => 1): Trace {
  const rows: { time: number; key: number; size: number }[] = [];
  let time = 0;
  for (let i = 0; i < n; i++) for (let r = 0; r < requests(i); r++) rows.push({ time: time++, key: i, size: size(i) });
  return traceFromArrays('residents', rows);
}

/** Fills a cache with every object of `t` under ktail:K:SOURCE and returns its policy (a CandidateView). */
function filled(t: Trace, k: number, source: string, seed = 7): KCandidatePolicy {
  const cache = makeCache(t, `ktail:${k}:${source}`, 1e15, { seed });
  for (let i = 0; i < t.length; i++) cache.access(t, i);
  return cache.policy as KCandidatePolicy;
}

for (const name of Object.keys(SOURCES)) {
  test(`${name}: candidates are distinct, resident, oldest last access first, min(K, residents) of them`, async () => {
    const t = (await loadTragen()).slice(0, 20_000);
    for (const k of [1, 16, MAX_CANDIDATES]) {
      let decisions = 0;
      let policy: KCandidatePolicy | null = null;
      const checker: Scorer = {
        name: 'check',
        score(ctx, ids, _f, n, out) {
          const o = ctx.objects;
          const resident = policy!.poolSize; // the pool is checked against residency by cache.check()
          assert.equal(n, Math.min(k, resident), `${name} K=${k}: ${n} candidates of ${resident} residents`);
          for (let i = 0; i < n; i++) {
            assert.equal(o.resident[ids[i]!], 1, `${name}: candidate ${ids[i]} not resident`);
            for (let j = 0; j < i; j++) assert.notEqual(ids[i], ids[j], `${name}: duplicate candidate ${ids[i]}`);
            if (i > 0) assert.ok(o.last[ids[i - 1]!]! <= o.last[ids[i]!]!, `${name}: candidates not ordered by last access at ${i}`);
          }
          decisions++;
          lruScorer.score(ctx, ids, _f, n, out);
        },
      };
      const cache = new Cache((ctx) => (policy = new KCandidatePolicy(ctx, checker, { k, source: SOURCES[name], seed: 3 })),
        { capacity: Math.floor(t.uniqueBytes * 0.01) });
      for (let i = 0; i < t.length; i++) cache.access(t, i);
      cache.check();
      assert.ok(decisions > 1000, `${name} K=${k}: only ${decisions} decisions`);
    }
  });
}

test('tail: K=16 with LRU order over the candidates is exactly LRU on tragen_cdn', async () => {
  const t = await loadTragen();
  for (const f of [0.01, 0.05]) {
    const cap = Math.floor(t.uniqueBytes * f);
    const lru = await replayTrace(t, 'lru', cap, String(f));
    const k = await replayTrace(t, 'ktail:16:tail', cap, String(f));
    assert.equal(k.hits, lru.hits, `hits at ${f}`);
    assert.equal(k.byteHits, lru.byteHits, `byte hits at ${f}`);
    assert.equal(k.evictions, lru.evictions, `evictions at ${f}`);
  }
});

test('lruUntil: evictions before that request are exactly LRU and never ask the scorer; from it on the scorer decides', async () => {
  const t = (await loadTragen()).slice(0, 40_000);
  const cap = Math.floor(t.uniqueBytes * 0.01);
  const lru = await replayTrace(t, 'lru', cap, '1%');
  // a scorer that evicts the largest first, and counts the requests at which it was asked
  let asked = 0, firstAsked = -1;
  const largest: Scorer = {
    name: 'largest',
    score(ctx, ids, _f, n, out) {
      asked++;
      if (firstAsked < 0) firstAsked = ctx.index;
      for (let i = 0; i < n; i++) out[i] = ctx.objects.size[ids[i]!]!;
    },
  };
  const run = (lruUntil: number): Cache => {
    asked = 0; firstAsked = -1;
    const cache = new Cache((ctx) => new KCandidatePolicy(ctx, largest, { k: 16, source: SOURCES.sample!, seed: 3, lruUntil }), { capacity: cap });
    for (let i = 0; i < t.length; i++) cache.access(t, i);
    cache.check();
    return cache;
  };
  const all = run(t.length);
  assert.equal(asked, 0, 'never asked before lruUntil');
  assert.equal(all.stats.hits, lru.hits);
  assert.equal(all.stats.evictions, lru.evictions);
  const half = run(20_000);
  const halfAsked = asked;
  assert.ok(halfAsked > 0 && firstAsked >= 20_000, `asked ${halfAsked} times, first at request ${firstAsked}`);
  assert.equal((half.policy as KCandidatePolicy).decisions, halfAsked, 'only the scorer\'s evictions are decisions');
  const none = run(0);
  assert.ok(firstAsked < 20_000 && asked > halfAsked, `without it, asked from the first eviction (first at ${firstAsked})`);
  assert.notEqual(none.stats.hits, all.stats.hits, 'the scorer decides differently from LRU');
  assert.notEqual(half.stats.hits, none.stats.hits);
});

test('tail: the candidates are the K least recently used, in recency order', () => {
  const p = filled(residents(100, () => 10), 16, 'tail');
  const out = new Int32Array(MAX_CANDIDATES);
  const n = p.source.collect(p, 16, out);
  assert.deepEqual([...out.subarray(0, n)], Array.from({ length: 16 }, (_, i) => i));
});

/** Chi-square statistic of counts against a uniform expectation. */
function chiSquare(counts: Float64Array): number {
  let total = 0;
  for (const c of counts) total += c;
  const e = total / counts.length;
  let x = 0;
  for (const c of counts) x += (c - e) * (c - e) / e;
  return x;
}

test('sample: uniform over residents (chi-square bounded), pool left unchanged', () => {
  const N = 100, K = 10, ROUNDS = 20_000;
  const p = filled(residents(N, () => 10), K, 'sample');
  const before = [...p.pool.subarray(0, p.poolSize)];
  const counts = new Float64Array(N);
  const out = new Int32Array(MAX_CANDIDATES);
  for (let r = 0; r < ROUNDS; r++) {
    const n = p.source.collect(p, K, out);
    assert.equal(n, K);
    for (let i = 0; i < n; i++) counts[out[i]!]++;
  }
  assert.deepEqual([...p.pool.subarray(0, p.poolSize)], before, 'sampling changed the pool');
  // 99 degrees of freedom: mean 99, sd 14; 170 is 5 sd above (without replacement the statistic is a bit lower).
  const x = chiSquare(counts);
  assert.ok(x < 170, `chi-square ${x.toFixed(1)} over ${N} ids`);
  assert.ok(x > 30, `chi-square ${x.toFixed(1)} is implausibly small for random draws`);
});

test('mixed: the LRU half always, the other half uniform over the rest', () => {
  const N = 100, K = 16, ROUNDS = 20_000;
  const p = filled(residents(N, () => 10), K, 'mixed');
  const counts = new Float64Array(N);
  const out = new Int32Array(MAX_CANDIDATES);
  for (let r = 0; r < ROUNDS; r++) {
    const n = p.source.collect(p, K, out);
    assert.equal(n, K);
    for (let i = 0; i < n; i++) counts[out[i]!]++;
  }
  for (let id = 0; id < K / 2; id++) assert.equal(counts[id], ROUNDS, `tail object ${id} not always a candidate`);
  const rest = counts.subarray(K / 2);
  const x = chiSquare(rest);
  // 91 degrees of freedom: mean 91, sd 13.5.
  assert.ok(x < 160 && x > 25, `chi-square ${x.toFixed(1)} over the ${rest.length} non-tail ids`);
});

test('large, rare, perbyte, weighted and blend: with every resident drawn they keep exactly the K largest / least requested / least requested per byte', () => {
  const K = 8, N = OVERSAMPLE * K; // N <= 4K: every resident is drawn
  const out = new Int32Array(MAX_CANDIDATES);
  // sizes 1000 + 37 i mod N (distinct, not in key order), requests 1 + (i * 7) mod 5
  const size = (i: number) => 1000 + ((i * 37) % N);
  const reqs = (i: number) => 1 + ((i * 7) % 5);
  const t = residents(N, size, reqs);
  const pl = filled(t, K, 'large');
  const nl = pl.source.collect(pl, K, out);
  const largest = Array.from({ length: N }, (_, i) => i).sort((a, b) => size(b) - size(a)).slice(0, K);
  assert.deepEqual(new Set(out.subarray(0, nl)), new Set(largest));
  const pr = filled(t, K, 'rare');
  const nr = pr.source.collect(pr, K, out);
  const picked = [...out.subarray(0, nr)];
  const maxPicked = Math.max(...picked.map(reqs));
  for (let i = 0; i < N; i++) if (!picked.includes(i)) assert.ok(reqs(i) >= maxPicked, `rare left out ${i} with ${reqs(i)} requests`);
  for (let i = 1; i < nr; i++) assert.ok(pr.last[picked[i - 1]!]! <= pr.last[picked[i]!]!);
  // requests per byte: distinct keys here (sizes and counts co-prime enough), so the K lowest are one set
  const perByte = (i: number) => reqs(i) / size(i);
  const lowest = Array.from({ length: N }, (_, i) => i).sort((a, b) => perByte(a) - perByte(b)).slice(0, K);
  assert.equal(new Set(lowest.map(perByte)).size, K);
  assert.notDeepEqual(new Set(lowest), new Set(largest), 'the test tells perbyte from large');
  for (const src of ['perbyte', 'weighted', 'blend']) {
    const pb = filled(t, K, src);
    const nb = pb.source.collect(pb, K, out);
    assert.deepEqual(new Set(out.subarray(0, nb)), new Set(lowest), src);
    for (let i = 1; i < nb; i++) assert.ok(pb.last[out[i - 1]!]! <= pb.last[out[i]!]!, `${src}: oldest last access first`);
  }
});

for (const source of ['aged', 'agedblend']) {
  test(`${source}: with every resident drawn it keeps the K lowest requests per byte / sqrt(1 + idle seconds)`, () => {
    const K = 8, N = OVERSAMPLE * K;
    const out = new Int32Array(MAX_CANDIDATES);
    // one request a second, object by object (residents()): object i was last requested at the time below
    const size = (i: number) => 1000 + ((i * 37) % N);
    const reqs = (i: number) => 1 + ((i * 7) % 5);
    const t = residents(N, size, reqs);
    const p = filled(t, K, source);
    const last = (i: number) => p.last[i]!;
    const now = p.now;
    assert.equal(now, t.time[t.length - 1], 'now: the last request replayed');
    const aged = (i: number) => reqs(i) / (size(i) * Math.sqrt(1 + now - last(i)));
    const n = p.source.collect(p, K, out);
    const ids = Array.from({ length: N }, (_, i) => i);
    const lowest = ids.sort((a, b) => aged(a) - aged(b)).slice(0, K);
    assert.equal(new Set(lowest.map(aged)).size, K);
    assert.deepEqual(new Set(out.subarray(0, n)), new Set(lowest));
    const perByte = [...ids].sort((a, b) => reqs(a) / size(a) - reqs(b) / size(b)).slice(0, K);
    assert.notDeepEqual(new Set(lowest), new Set(perByte), 'the test tells aged from perbyte');
    for (let i = 1; i < n; i++) assert.ok(last(out[i - 1]!) <= last(out[i]!), 'oldest last access first');
  });
}

test('overdue: with every resident drawn it keeps the K lowest requests per byte / sqrt(1 + idle / mean gap)', () => {
  const K = 8, N = OVERSAMPLE * K;
  const out = new Int32Array(MAX_CANDIDATES);
  // object i: reqs(i) requests gap(i) seconds apart from second start(i); paces from 1 s to 401 s (the first
  // request long after time 0, so that a first-request time left at 0 shows)
  const size = (i: number) => 1000 + ((i * 37) % N);
  const reqs = (i: number) => 1 + ((i * 7) % 5);
  const gap = (i: number) => 1 + ((i * 13) % 9) * 50;
  const start = (i: number) => 5000 + 3 * i;
  const rows: { time: number; key: number; size: number }[] = [];
  for (let i = 0; i < N; i++) for (let r = 0; r < reqs(i); r++) rows.push({ time: start(i) + r * gap(i), key: i, size: size(i) });
  rows.sort((a, b) => a.time - b.time || a.key - b.key);
  const p = filled(traceFromArrays('paces', rows), K, 'overdue');
  const now = rows[rows.length - 1]!.time;
  assert.equal(p.now, now);
  const last = (i: number) => start(i) + (reqs(i) - 1) * gap(i);
  const overdue = (i: number) => reqs(i) / size(i) / (reqs(i) < 2 ? 1 : Math.sqrt(1 + (now - last(i)) / gap(i)));
  const aged = (i: number) => reqs(i) / (size(i) * Math.sqrt(1 + now - last(i)));
  const ids = Array.from({ length: N }, (_, i) => i);
  const lowest = (key: (i: number) => number) => new Set([...ids].sort((a, b) => key(a) - key(b)).slice(0, K));
  const want = lowest(overdue);
  assert.equal(new Set([...want].map(overdue)).size, K);
  const n = p.source.collect(p, K, out);
  assert.deepEqual(new Set(out.subarray(0, n)), want);
  assert.notDeepEqual(want, lowest(aged), 'the test tells overdue from aged');
  assert.notDeepEqual(want, lowest((i) => reqs(i) / size(i)), 'the test tells overdue from perbyte');
  for (let i = 1; i < n; i++) assert.ok(p.last[out[i - 1]!]! <= p.last[out[i]!]!, 'oldest last access first');
});

test('large and rare: biased towards big / rarely requested objects on a large pool', () => {
  const N = 2000, K = 16, ROUNDS = 500;
  const size = (i: number) => 1000 + ((i * 7919) % N);
  const reqs = (i: number) => 1 + ((i * 31) % 3);
  const t = residents(N, size, reqs);
  const out = new Int32Array(MAX_CANDIDATES);
  const mean = (src: string, key: (i: number) => number) => {
    const p = filled(t, K, src);
    let s = 0;
    for (let r = 0; r < ROUNDS; r++) { const n = p.source.collect(p, K, out); for (let i = 0; i < n; i++) s += key(out[i]!); }
    return s / (ROUNDS * K);
  };
  const uniformSize = mean('sample', size);
  assert.ok(Math.abs(uniformSize - (1000 + (N - 1) / 2)) < 30, `sample mean size ${uniformSize}`);
  assert.ok(mean('large', size) > uniformSize + 500, 'large is not size-biased');
  assert.ok(mean('rare', reqs) < 1.3, 'rare is not biased towards few requests');
  const perByte = (i: number) => reqs(i) / size(i);
  assert.ok(mean('perbyte', perByte) < 0.7 * mean('sample', perByte), 'perbyte is not biased towards few requests per byte');
});

test('weighted: draws by size, so a few huge residents holding most bytes are candidates; uniform draws miss them', () => {
  // 1990 objects of 1 KB and 10 of 1 MB (83% of the bytes); every object requested once
  const N = 2000, K = 16, ROUNDS = 200;
  const size = (i: number) => (i % 200 === 7 ? 1_000_000 : 1000);
  const t = residents(N, size, () => 1);
  const out = new Int32Array(MAX_CANDIDATES);
  const huge = (src: string) => {
    const p = filled(t, K, src);
    let h = 0;
    for (let r = 0; r < ROUNDS; r++) { const n = p.source.collect(p, K, out); for (let i = 0; i < n; i++) if (size(out[i]!) > 1000) h++; }
    return h / ROUNDS;
  };
  assert.ok(huge('weighted') > 9.5, `weighted: ${huge('weighted')} huge candidates per decision`);
  assert.ok(huge('blend') > 9.5, `blend: ${huge('blend')} huge candidates per decision`);
  assert.ok(huge('perbyte') < 1, `perbyte: ${huge('perbyte')} huge candidates per decision`);
});

test('blend: its uniform half finds the small objects with the fewest requests per byte, which draws by size miss', () => {
  // 1000 objects of 1 KB requested once (1e-3 requests per byte: the lowest) beside 1000 of 20 KB
  // requested 40 times (2e-3), which hold 95% of the bytes
  const N = 2000, K = 16, ROUNDS = 200;
  const small = (i: number) => i % 2 === 0;
  const t = residents(N, (i) => (small(i) ? 1000 : 20_000), (i) => (small(i) ? 1 : 40));
  const out = new Int32Array(MAX_CANDIDATES);
  const smalls = (src: string) => {
    const p = filled(t, K, src);
    let h = 0;
    for (let r = 0; r < ROUNDS; r++) { const n = p.source.collect(p, K, out); for (let i = 0; i < n; i++) if (small(out[i]!)) h++; }
    return h / ROUNDS;
  };
  // uniform: 2K = 32 draws, 16 of them small in expectation, all kept; by size: about 5% of 64 draws
  assert.ok(smalls('blend') > 14, `blend: ${smalls('blend')} small candidates per decision`);
  assert.ok(smalls('weighted') < 6, `weighted: ${smalls('weighted')} small candidates per decision`);
});

test('Fenwick: weights, totals and draws in proportion to weight', () => {
  const f = new Fenwick();
  f.reserve(5);
  [0, 3, 0, 1, 6].forEach((w, i) => { if (w) f.add(i, w); });
  f.reserve(1000); // growth keeps the weights
  assert.equal(f.total, 10);
  assert.deepEqual([0, 2.9, 3, 3.99, 4, 9.99].map((u) => f.find(u)), [1, 1, 3, 3, 4, 4]);
  f.add(4, -6);
  assert.deepEqual([0, 3.5].map((u) => f.find(u)), [1, 3]);
  assert.equal(f.total, 4);
});

test('parseKParam: every source by name, K bounds, unknown names refused', () => {
  for (const name of Object.keys(SOURCES)) assert.equal(parseKParam(`32:${name}`).source.name, name);
  assert.equal(parseKParam('64').k, 64);
  assert.equal(parseKParam('64').source, SOURCES[DEFAULT_SOURCE]);
  assert.equal(parseKParam(undefined).k, 16);
  assert.throws(() => parseKParam('65'), { code: 'COLDRL_ERR_USAGE' });
  assert.throws(() => parseKParam('16:nosuch'), { code: 'COLDRL_ERR_USAGE' });
});

test('the oracle family runs with every source', async () => {
  const t = (await loadTragen()).slice(50_000, 70_000);
  const cap = Math.floor(t.uniqueBytes * 0.01);
  const lru = await replayTrace(t, 'lru', cap, '1%');
  for (const name of Object.keys(SOURCES)) {
    for (const pol of ['ktail-oracle', 'ktail-oracle-size']) {
      const r = await replayTrace(t, `${pol}:32:${name}`, cap, '1%');
      assert.ok(r.hitRatio > lru.hitRatio, `${pol}:32:${name} ${r.hitRatio} not above LRU ${lru.hitRatio}`);
    }
  }
});

test('a decision bound by the object count (the keys zone) drops a scorer\'s size term: per object, not per byte', () => {
  // four residents; the scorer's score = 10 x size feature + a per-object part that prefers the smallest
  const rows = [4000, 1000, 2000, 8000].map((size, i) => ({ time: i, key: `o${i}`, size }));
  rows.push({ time: 10, key: 'new', size: 100 });
  const t = traceFromArrays('count', rows);
  const sizeScorer: Scorer = {
    name: 'per-byte', sizeTerm: 10,
    score(ctx, ids, f, n, out) { for (let i = 0; i < n; i++) out[i] = 10 * f[i * FEATURE_COUNT + SIZE_FEATURE]! + 1 / ctx.objects.size[ids[i]!]!; },
  };
  const run = (opts: { capacity: number; keysLimit?: number }) => {
    const cache = new Cache((ctx) => new KCandidatePolicy(ctx, sizeScorer, { k: 4, source: SOURCES.tail! }), { ...opts, semantics: 'nginx' });
    for (let i = 0; i < t.length; i++) cache.access(t, i);
    return keysOf(t).filter((_, id) => cache.objects.resident[id] === 1).join(' ');
  };
  assert.equal(run({ capacity: 15_050 }), 'o0 o1 o2 new', 'bytes bound (50 B over): the largest goes');
  // keysLimit 4: the fifth object finds the zone full (o0, the LRU tail, goes), watermark 4: then one more
  // eviction, bound by the count, by the per-object part alone: the smallest, o1
  assert.equal(run({ capacity: 1e9, keysLimit: 4 }), 'o2 o3 new');
});

test('a count-bound decision (the keys zone) draws its candidates uniformly when the source keeps the best by a key', () => {
  for (const name of ['large', 'rare', 'perbyte', 'aged', 'weighted', 'blend', 'agedblend', 'overdue']) assert.equal(countBoundSource(SOURCES[name]!).name, 'sample', name);
  for (const name of ['tail', 'sample', 'mixed']) assert.equal(countBoundSource(SOURCES[name]!).name, name, name);
  // 400 objects: even keys small and requested 3 times, odd keys 100x larger and requested once, into a
  // keys zone of 300 nodes. perbyte offers the large ones only; the count-bound decisions after the zone
  // filled offer both kinds
  const t = residents(400, (i) => (i % 2 === 0 ? 100 : 10_000), (i) => (i % 2 === 0 ? 3 : 1));
  const offered = (keysLimit: number, capacity: number) => {
    let small = 0, all = 0;
    const recorder: Scorer = {
      name: 'record',
      score(ctx, ids, _f, n, out) { for (let i = 0; i < n; i++) { all++; if (ctx.objects.size[ids[i]!] === 100) small++; } lruScorer.score(ctx, ids, _f, n, out); },
    };
    const cache = new Cache((ctx) => new KCandidatePolicy(ctx, recorder, { k: 16, source: SOURCES.perbyte!, seed: 3 }), { capacity, keysLimit, semantics: 'nginx' });
    for (let i = 0; i < t.length; i++) cache.access(t, i);
    cache.check();
    return { small, all };
  };
  const bytes = offered(0, 1_000_000); // bytes bound: 100 large objects fit
  assert.ok(bytes.all > 0 && bytes.small === 0, `bytes bound: perbyte offers no small object (${bytes.small} of ${bytes.all})`);
  const count = offered(300, 1e12);
  assert.ok(count.all > 0 && count.small > count.all / 4, `count bound: small objects offered too (${count.small} of ${count.all})`);
});

test('the victim rule: a NaN score ranks below every number and is never a victim; all NaN stops the replay with a model error', () => {
  const victims = new Uint8Array(3), order = new Int32Array(3);
  const sizes = Float64Array.of(10, 10, 10);
  assert.equal(selectVictims(Float32Array.of(1, NaN, 3), sizes, 3, 5, victims, order), 1);
  assert.deepEqual([...victims], [0, 0, 1], 'the highest score goes, whatever sits before it');
  assert.equal(selectVictims(Float32Array.of(NaN, 2, 1), sizes, 3, 15, victims, order), 2);
  assert.deepEqual([...victims], [0, 1, 1]);
  assert.equal(selectVictims(Float32Array.of(NaN, NaN, NaN), sizes, 3, 5, victims, order), 0);
  const t = traceFromArrays('nan', [{ time: 0, key: 'a', size: 10 }, { time: 1, key: 'b', size: 10 }]);
  const nan: Scorer = { name: 'nan', score(_ctx, _ids, _f, n, out) { out.fill(NaN, 0, n); } };
  const cache = new Cache((ctx) => new KCandidatePolicy(ctx, nan, { k: 4, source: SOURCES.tail! }), { capacity: 15 });
  cache.access(t, 0);
  assert.throws(() => cache.access(t, 1), (e: Error & { code?: string }) => e.code === 'COLDRL_ERR_MODEL' && /scored NaN/.test(e.message));
});
