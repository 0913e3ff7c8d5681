/**
 * Runs one policy at one cache size over a trace and reports named, typed metrics.
 */
import { ColdrlError } from './errors.js';
import { Cache, type CacheOptions, type NginxRules, type Semantics } from './cache.js';
import { policyFactory } from './registry.js';
import { Progress } from './progress.js';
import { RequestBatch, Trace, type TraceSource } from './trace.js';

/** With NginxRules: inactive=, the keys zone's node limit (replay/nginx-conf.ts keysZoneNodes), proxy_cache_min_uses. */
export interface ReplayOptions extends NginxRules {
  semantics?: Semantics;
  seed?: number;
  /** Show a progress bar (on a terminal, after 2 s). */
  progress?: boolean;
  /** What the progress line says the replay is for, before the policy and size (e.g. "held-out check"). */
  progressLabel?: string;
  /** Replay this many leading requests without counting them: the counts start on a warm cache. */
  warmUp?: number;
  /** A learned policy evicts in LRU order before this request and decides from it on (PolicyOptions.modelFrom). */
  modelFrom?: number;
  /** Also count hits per this many counted requests (ReplayResult.windows): how a policy fares over time. */
  window?: number;
  /**
   * Asked between batches (a read when streamed, 2^16 requests in memory, 1,024 with an async policy; the
   * replay yields to the event loop there, so that a SIGINT handler can run): true ends the replay with
   * ColdrlError COLDRL_ERR_INTERRUPTED (exit code 130).
   */
  shouldStop?: () => boolean;
}

/**
 * Where a replay may stop (ReplayOptions.shouldStop): yields to the event loop, so that a SIGINT handler
 * can run (a spool is read synchronously, an in-memory replay never waits), then ends the progress line and
 * throws COLDRL_ERR_INTERRUPTED when asked to stop.
 */
async function stopPoint(opts: ReplayOptions, what: string, bar: Progress | null): Promise<void> {
  if (!opts.shouldStop) return;
  await new Promise(setImmediate);
  if (!opts.shouldStop()) return;
  bar?.done();
  throw new ColdrlError('COLDRL_ERR_INTERRUPTED', `${what}: interrupted`, 130);
}

/** The counts of one window of ReplayOptions.window requests (the last one may be shorter). */
export interface ReplayWindow { requests: number; hitRatio: number; byteHitRatio: number }

/** One line of a replay report (the --json fields). */
export interface ReplayResult {
  trace: string;
  policy: string;
  cacheSize: string;
  cacheBytes: number;
  semantics: Semantics;
  requests: number;
  hits: number;
  hitRatio: number;
  missRatio: number;
  bytesRequested: number;
  byteHits: number;
  byteHitRatio: number;
  byteMissRatio: number;
  evictions: number;
  expired: number;
  uncacheable: number;
  /** Objects NGINX's workers removed from the LRU tail on finding the keys zone full (at most once a run). */
  zoneFull: number;
  /** Misses not stored because the key had fewer requests than proxy_cache_min_uses. */
  scarce: number;
  seconds: number;
  /** With ReplayOptions.window: the counted requests window by window, in order. */
  windows?: ReplayWindow[];
}

function result(trace: string, policy: string, cacheSize: string, cache: Cache, seconds: number, windows: Windows | null): ReplayResult {
  cache.check();
  const s = cache.stats;
  return {
    trace, policy, cacheSize, cacheBytes: cache.capacity, semantics: cache.semantics,
    requests: s.requests, hits: s.hits, hitRatio: s.hitRatio, missRatio: 1 - s.hitRatio,
    bytesRequested: s.bytesRequested, byteHits: s.byteHits, byteHitRatio: s.byteHitRatio, byteMissRatio: 1 - s.byteHitRatio,
    evictions: s.evictions, expired: s.expired, uncacheable: s.uncacheable, zoneFull: s.zoneFull, scarce: s.scarce, seconds,
    ...(windows ? { windows: windows.finish(cache) } : {}),
  };
}

/**
 * ReplayOptions.window: cuts the replay at every `size` counted requests (the first window starts where
 * the warm-up ends) and keeps each window's counts, as differences of the cache's running counts.
 */
class Windows {
  private readonly rows: ReplayWindow[] = [];
  /** The request (index in the whole replay) where the current window ends. */
  private end: number;
  private requests = 0;
  private hits = 0;
  private bytes = 0;
  private byteHits = 0;
  constructor(private readonly size: number, warmUp: number) {
    if (!(Number.isInteger(size) && size > 0)) throw new ColdrlError('COLDRL_ERR_USAGE', `a window must be a positive number of requests (got ${size})`);
    this.end = warmUp + size;
  }

  /** Requests [from, to) of a batch whose first request is request `base` of the replay, through `pass`, closing windows where they end. */
  async run(cache: Cache, from: number, to: number, base: number, pass: (from: number, to: number) => Promise<void>): Promise<void> {
    while (base + to > this.end) {
      const cut = this.end - base;
      if (cut > from) { await pass(from, cut); from = cut; }
      this.close(cache);
      this.end += this.size;
    }
    await pass(from, to);
  }

  /** The windows, with the last one if it has any request. */
  finish(cache: Cache): ReplayWindow[] {
    if (cache.stats.requests > this.requests) this.close(cache);
    return this.rows;
  }

  private close(cache: Cache): void {
    const s = cache.stats;
    const requests = s.requests - this.requests, bytes = s.bytesRequested - this.bytes;
    this.rows.push({ requests, hitRatio: requests > 0 ? (s.hits - this.hits) / requests : 0, byteHitRatio: bytes > 0 ? (s.byteHits - this.byteHits) / bytes : 0 });
    this.requests = s.requests; this.hits = s.hits; this.bytes = s.bytesRequested; this.byteHits = s.byteHits;
  }
}

/** The cache a replay simulates: the capacity, the semantics and NGINX's rules. */
function cacheOptions(capacity: number, opts: ReplayOptions): CacheOptions {
  return { capacity, semantics: opts.semantics ?? 'plain', inactive: opts.inactive, keysLimit: opts.keysLimit, minUses: opts.minUses };
}

/** Builds the cache for a policy spec over an in-memory trace (next uses computed when the policy needs them). */
export function makeCache(trace: Trace, policy: string, capacity: number, opts: ReplayOptions = {}): Cache {
  const { factory, opts: popts, info } = policyFactory(policy);
  return new Cache(factory, {
    ...cacheOptions(capacity, opts), nextUse: info.offline ? trace.nextUse() : null,
  }, { ...popts, seed: opts.seed, modelFrom: opts.modelFrom });
}

/** Runs a policy's async set-up (PolicyInfo.prepare, e.g. loading a model) before its caches are built. */
export async function preparePolicy(policy: string): Promise<void> {
  const { info, opts } = policyFactory(policy);
  if (info.prepare) await info.prepare(opts.param);
}

const progressLabel = (policy: string, cacheSize: string, opts: ReplayOptions) => `${opts.progressLabel ? `${opts.progressLabel}: ` : ''}${policy} ${cacheSize}`;

/** Replays an in-memory trace. */
export async function replayTrace(trace: Trace, policy: string, capacity: number, cacheSize: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  await preparePolicy(policy);
  const cache = makeCache(trace, policy, capacity, opts);
  const n = trace.length;
  const bar = opts.progress ? new Progress(progressLabel(policy, cacheSize, opts), n) : null;
  const warmUp = Math.min(n, opts.warmUp ?? 0);
  const t0 = process.hrtime.bigint();
  const what = progressLabel(policy, cacheSize, opts);
  const range = async (from: number, to: number): Promise<void> => {
    if (cache.policy.async) {
      for (let i = from; i < to; i++) {
        await cache.accessAsync(trace, i);
        if ((i & 1023) === 0) {
          bar?.update(i);
          await stopPoint(opts, what, bar);
        }
      }
    } else if (bar || opts.shouldStop) {
      const step = 1 << 16;
      for (let s = from; s < to; s += step) {
        const e = Math.min(to, s + step);
        for (let i = s; i < e; i++) cache.access(trace, i);
        bar?.update(e);
        await stopPoint(opts, what, bar);
      }
    } else {
      for (let i = from; i < to; i++) cache.access(trace, i);
    }
  };
  // the warm-up (not counted), then the rest
  await range(0, warmUp);
  if (warmUp > 0) cache.startCounting();
  const windows = opts.window === undefined ? null : new Windows(opts.window, warmUp);
  if (windows) await windows.run(cache, warmUp, n, 0, range);
  else await range(warmUp, n);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  bar?.done();
  return result(trace.name, policy, cacheSize, cache, seconds, windows);
}

/** Requests [from, to) of a batch through the cache. */
async function accessRange(cache: Cache, b: RequestBatch, from: number, to: number): Promise<void> {
  if (cache.policy.async) for (let i = from; i < to; i++) await cache.accessAsync(b, i);
  else for (let i = from; i < to; i++) cache.access(b, i);
}

/** Replays a streaming source in constant memory (online policies only). */
export async function replayStream(src: TraceSource, policy: string, capacity: number, cacheSize: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  await preparePolicy(policy);
  const { factory, opts: popts } = policyFactory(policy);
  const cache = new Cache(factory, cacheOptions(capacity, opts), { ...popts, seed: opts.seed, modelFrom: opts.modelFrom });
  const b = new RequestBatch(1 << 15);
  const bar = opts.progress ? new Progress(progressLabel(policy, cacheSize, opts), src.length ?? 0) : null;
  const t0 = process.hrtime.bigint();
  const warmUp = opts.warmUp ?? 0;
  const windows = opts.window === undefined ? null : new Windows(opts.window, warmUp);
  let total = 0;
  const pass = (from: number, to: number) => accessRange(cache, b, from, to);
  const counted = (from: number, to: number) => (windows ? windows.run(cache, from, to, total, pass) : pass(from, to));
  try {
    for (;;) {
      const got = await src.read(b);
      if (got === 0) break;
      if (warmUp > total && warmUp <= total + got) {
        // the warm-up ends in this batch: count from there
        await accessRange(cache, b, 0, warmUp - total);
        cache.startCounting();
        await counted(warmUp - total, got);
      } else {
        await counted(0, got);
      }
      total += got;
      bar?.update(total);
      await stopPoint(opts, progressLabel(policy, cacheSize, opts), bar);
    }
  } finally {
    src.close();
  }
  if (warmUp > 0 && total <= warmUp) cache.startCounting(); // the warm-up never ended: nothing is counted, as in memory
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  bar?.done();
  return result(src.name, policy, cacheSize, cache, seconds, windows);
}

/**
 * Replays the same requests under each policy in turn; `open` gives them afresh for each: a Trace in
 * memory, or a new streaming source (then online policies only).
 */
export async function replayEach(open: () => Trace | TraceSource, policies: readonly string[], capacity: number, cacheSize: string,
  opts: ReplayOptions = {}): Promise<ReplayResult[]> {
  const out: ReplayResult[] = [];
  for (const policy of policies) {
    const t = open();
    out.push(t instanceof Trace ? await replayTrace(t, policy, capacity, cacheSize, opts) : await replayStream(t, policy, capacity, cacheSize, opts));
  }
  return out;
}
