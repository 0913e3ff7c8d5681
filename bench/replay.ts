/**
 * `coldrl bench replay`: requests per second of the shared access loop under each policy, on one thread.
 *
 * The workload is generated in memory (no file reading in the figure): a seeded Zipf-like popularity
 * (alpha 0.9 over 500,000 objects by default) drawn 2,000,000 times, with per-object sizes log-uniform
 * between 1 KiB and 1 MiB; the cache holds 10% of the unique bytes. Each policy is replayed `--runs`
 * times (default 3) on a fresh cache and the median is reported. For offline policies the backward
 * next-use pass over the trace is inside the timed region (it is part of what Belady costs).
 */
import { parseArgs } from 'node:util';
import { Cache } from '../replay/cache.js';
import { ColdrlError } from '../replay/errors.js';
import { expandPolicies, policyFactory } from '../replay/registry.js';
import { Trace } from '../replay/trace.js';
import { median } from './index.js';

export const summary = 'requests/s per policy on a generated 2-million-request trace';

export function help(): string {
  return `coldrl bench replay [options]

Replays a generated Zipf-like trace (seeded, mixed sizes) under each policy on one thread and prints
requests per second (median of --runs). Offline policies include their next-use pass in the time.

  --policy LIST     comma list or "all" (default: all)
  --requests N      requests in the trace (default 2000000)
  --objects N       distinct objects (default 500000)
  --alpha A         Zipf exponent (default 0.9)
  --cache F         cache size as a fraction of unique bytes (default 0.10)
  --runs N          runs per policy, median reported (default 3)
  --seed N          generator seed (default 42)
  --json            one JSON object per policy per line`;
}

export interface WorkloadOptions { requests: number; objects: number; alpha: number; seed: number }

/** xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

/** A Zipf-like trace with dense ids in order of first appearance, 1 request per second of trace time. */
export function zipfTrace(o: WorkloadOptions): Trace {
  const rand = rng(o.seed);
  const cdf = new Float64Array(o.objects);
  let sum = 0;
  for (let k = 0; k < o.objects; k++) { sum += 1 / Math.pow(k + 1, o.alpha); cdf[k] = sum; }
  // Popularity rank -> object, shuffled so that popular objects are not also the first ids.
  const perm = new Int32Array(o.objects);
  for (let k = 0; k < o.objects; k++) perm[k] = k;
  for (let k = o.objects - 1; k > 0; k--) { const j = Math.floor(rand() * (k + 1)); const t = perm[k]!; perm[k] = perm[j]!; perm[j] = t; }
  const objSize = new Float64Array(o.objects);
  for (let k = 0; k < o.objects; k++) objSize[k] = Math.floor(1024 * Math.pow(1024, rand()));
  const t = new Trace(o.requests);
  const dense = new Int32Array(o.objects).fill(-1);
  let next = 0;
  let unique = 0;
  for (let i = 0; i < o.requests; i++) {
    const u = rand() * sum;
    let lo = 0, hi = o.objects - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
    const obj = perm[lo]!;
    let id = dense[obj]!;
    if (id < 0) { id = dense[obj] = next++; unique += objSize[obj]!; }
    t.time[i] = i;
    t.id[i] = id;
    t.size[i] = objSize[obj]!;
    t.ttl[i] = Infinity;
  }
  t.length = o.requests;
  t.name = `zipf(${o.alpha}, ${o.objects} objects, ${o.requests} requests, seed ${o.seed})`;
  t.objects = next;
  t.uniqueBytes = unique;
  return t;
}

/** A view of `t` without its cached next-use array, so each timed run pays for the pass again. */
function freshView(t: Trace): Trace {
  const v = t.view(0, t.length);
  v.name = t.name;
  return v;
}

export interface BenchRow { policy: string; requestsPerSecond: number; runs: number[]; hitRatio: number; nextUseIncluded: boolean }

/** Times one policy over the trace; returns requests/s of each run and the hit ratio. */
export function timePolicy(t: Trace, policy: string, capacity: number, runs: number): BenchRow {
  const { factory, opts, info } = policyFactory(policy);
  const rates: number[] = [];
  let hitRatio = 0;
  const n = t.length;
  for (let r = 0; r < runs; r++) {
    const view = freshView(t);
    const t0 = process.hrtime.bigint();
    const cache = new Cache(factory, { capacity, nextUse: info.offline ? view.nextUse() : null }, { ...opts, seed: 1 });
    if (cache.policy.async) throw new ColdrlError('COLDRL_ERR_USAGE', `bench replay: ${policy} is asynchronous; not benchmarked here`);
    for (let i = 0; i < n; i++) cache.access(view, i);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    cache.check();
    rates.push(n / s);
    hitRatio = cache.stats.hitRatio;
  }
  return { policy, requestsPerSecond: median(rates), runs: rates, hitRatio, nextUseIncluded: !!info.offline };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string', default: 'all' }, requests: { type: 'string', default: '2000000' },
      objects: { type: 'string', default: '500000' }, alpha: { type: 'string', default: '0.9' },
      cache: { type: 'string', default: '0.10' }, runs: { type: 'string', default: '3' },
      seed: { type: 'string', default: '42' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) { console.log(help()); return 0; }
  const num = (name: string, v: string, min: number) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new ColdrlError('COLDRL_ERR_USAGE', `bench replay: --${name} must be a number >= ${min} (got "${v}")`);
    return x;
  };
  const w: WorkloadOptions = {
    requests: Math.floor(num('requests', values.requests!, 1)), objects: Math.floor(num('objects', values.objects!, 1)),
    alpha: num('alpha', values.alpha!, 0), seed: Math.floor(num('seed', values.seed!, 0)),
  };
  const frac = num('cache', values.cache!, 0);
  if (!(frac > 0 && frac <= 1)) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench replay: --cache must be in (0, 1]');
  const runs = Math.floor(num('runs', values.runs!, 1));
  const policies = expandPolicies(values.policy!);
  const g0 = process.hrtime.bigint();
  const t = zipfTrace(w);
  const genSeconds = Number(process.hrtime.bigint() - g0) / 1e9;
  const capacity = Math.floor(t.uniqueBytes * frac);
  if (!values.json) {
    console.log(`${t.name}: ${t.objects} objects requested, ${t.uniqueBytes} unique bytes, generated in ${genSeconds.toFixed(2)} s`);
    console.log(`cache ${capacity} B (${frac} of unique bytes), one thread, median of ${runs}\n`);
    console.log(`${'policy'.padEnd(18)} ${'M req/s'.padStart(8)}  ${'hit ratio'.padStart(9)}  runs (M req/s)`);
  }
  for (const p of policies) {
    const r = timePolicy(t, p, capacity, runs);
    if (values.json) {
      console.log(JSON.stringify({ bench: 'replay', trace: t.name, requests: t.length, cacheBytes: capacity, ...r }));
    } else {
      console.log(`${p.padEnd(18)} ${(r.requestsPerSecond / 1e6).toFixed(2).padStart(8)}  ${r.hitRatio.toFixed(4).padStart(9)}  ${r.runs.map((x) => (x / 1e6).toFixed(2)).join(' ')}${r.nextUseIncluded ? '  (next-use pass included)' : ''}`);
    }
  }
  return 0;
}
