/**
 * The held-out check of a model: `coldrl train --holdout F` trains on the first 1 - F of the requests and,
 * before the model is written for good, replays the trace under the model, LRU and GDSF and counts the last
 * F only (replay/run.ts replayEach with warmUp; nginx semantics, the training environment's). Each policy's
 * cache is as its own decisions left it at the split, so a large cache is full when the count starts; the
 * model decides from the first request, or, with `coldrl train --check-from stretch`, from Holdout.modelFrom
 * (LRU's evictions before it), so that a long archive is not replayed under the model from its first
 * request, at one inference per eviction. The
 * figures go into the model's metadata (HOLDOUT_KEY, JSON) and the store; `coldrl serve` reports them when
 * it loads the model and warns when the model lost to LRU there. The sidecar imports this file: it must not
 * import the simulator.
 */
import type { Goal } from './candidates.js';
import { ColdrlError } from './errors.js';
import { formatBytes } from './size.js';
import type { ReplayResult } from './run.js';
import { RequestBatch, type TraceSource } from './trace.js';

/** The model metadata key holding a Holdout as JSON. */
export const HOLDOUT_KEY = 'coldrl.holdout';

/** The baselines every held-out check replays beside the model. */
export const HOLDOUT_BASELINES = ['lru', 'gdsf'] as const;

export interface Holdout {
  /** Share of the requests held out, and the first held-out request's index (0-based). */
  fraction: number;
  from: number;
  requests: number;
  /** Hit ratios on the held-out requests: `model` and each of HOLDOUT_BASELINES. */
  hitRatio: Record<string, number>;
  /** Byte hit ratios, the same keys (absent in models written before 2026-11-29). */
  byteHitRatio?: Record<string, number>;
  /** Hits of the model minus hits of LRU on the held-out requests (a count: small ones are noise). */
  hitsOverLru: number;
  /**
   * The first request at which the model's replay asked the model: LRU evicted before it (replay/run.ts
   * ReplayOptions.modelFrom; trainer/training.ts RecentStretch.check, with --check-from stretch). Absent or
   * 0: the model from the first.
   */
  modelFrom?: number;
  /** The model's evictions during the held-out requests: with none, the check says nothing. */
  evictions: number;
  /** The keys zone filled during the model's replay (replay/cache.ts keysLimit): evictions were bound by the object count. */
  zoneFull?: boolean;
  /** What the model's ranking serves (replay/candidates.ts Goal); absent: 'hits'. */
  goal?: Goal;
  /** Bytes served from the cache under the model minus under LRU on the held-out requests (goal 'bytes' only). */
  bytesOverLru?: number;
}

/**
 * A source that yields only requests [from, to) of `inner` (0-based, counted over everything `inner`
 * yields). Ids stay `inner`'s, so an object keeps its id on both sides of `from`.
 */
export function sliceSource(inner: TraceSource, from: number, to: number): TraceSource {
  let pos = 0;
  // a finite `to` is a count made earlier (or the inner source's own length)
  const end = Math.min(to, inner.length ?? Infinity);
  return {
    name: inner.name,
    interner: inner.interner,
    stats: inner.stats,
    ...(Number.isFinite(end) ? { length: Math.max(0, end - from) } : {}),
    async read(b: RequestBatch): Promise<number> {
      while (pos < to) {
        const got = await inner.read(b);
        if (got === 0) return 0;
        const start = pos;
        pos += got;
        const lo = Math.max(from, start) - start, hi = Math.min(to, pos) - start;
        if (hi <= lo) continue;
        if (lo > 0) b.copy(b, lo, hi - lo);
        b.length = hi - lo;
        return hi - lo;
      }
      return 0;
    },
    close() { inner.close(); },
  };
}

/** Counts the requests of a source (reading it to the end) and closes it. */
export async function countRequests(src: TraceSource): Promise<number> {
  const b = new RequestBatch(1 << 15);
  let n = 0;
  try {
    for (let got; (got = await src.read(b)) > 0;) n += got;
  } finally {
    src.close();
  }
  return n;
}

/** Where the held-out part of `total` requests starts: at least one request on each side. */
export function holdoutStart(total: number, fraction: number): number {
  if (!(fraction > 0 && fraction < 1)) throw new ColdrlError('COLDRL_ERR_USAGE', `holdout: the fraction must be in (0, 1) (got ${fraction})`);
  const from = Math.round(total * (1 - fraction));
  if (total < 2 || from < 1 || from >= total) throw new ColdrlError('COLDRL_ERR_USAGE', `holdout: ${total} requests cannot be split ${1 - fraction} / ${fraction}`);
  return from;
}

/**
 * The Holdout record of replays that counted the held-out requests only: `model` first, then
 * HOLDOUT_BASELINES in order; `goal`: the model's; `modelFrom`: Holdout.modelFrom.
 */
export function holdoutOfResults(results: readonly ReplayResult[], fraction: number, from: number, goal: Goal = 'hits', modelFrom = 0): Holdout {
  const [model, lru] = results as [ReplayResult, ReplayResult];
  const hitRatio: Record<string, number> = { model: model.hitRatio };
  const byteHitRatio: Record<string, number> = { model: model.byteHitRatio };
  HOLDOUT_BASELINES.forEach((p, i) => { hitRatio[p] = results[i + 1]!.hitRatio; byteHitRatio[p] = results[i + 1]!.byteHitRatio; });
  return {
    fraction, from, requests: model.requests, hitRatio, byteHitRatio, hitsOverLru: model.hits - lru.hits, evictions: model.evictions,
    ...(modelFrom > 0 ? { modelFrom } : {}),
    ...(results.some((r) => r.zoneFull > 0) ? { zoneFull: true } : {}),
    ...(goal === 'bytes' ? { goal, bytesOverLru: model.byteHits - lru.byteHits } : {}),
  };
}

/** The Holdout in a model's metadata; null when it has none or it is unreadable (older models). */
export function holdoutOf(metadata: Readonly<Record<string, string>>): Holdout | null {
  const s = metadata[HOLDOUT_KEY];
  if (s === undefined) return null;
  try {
    const h = JSON.parse(s) as Holdout;
    if (typeof h.requests !== 'number' || typeof h.evictions !== 'number' || typeof h.hitRatio?.model !== 'number' || typeof h.hitRatio.lru !== 'number') return null;
    return h;
  } catch {
    return null;
  }
}

/**
 * One line: the model's held-out hit ratio beside the baselines' (`counted` names the requests counted),
 * then its byte hit ratio beside theirs; the two in the other order for a model of goal 'bytes', whose
 * margin over LRU is then counted in bytes.
 */
export function describeHoldout(h: Holdout, counted = 'held-out'): string {
  const others = (r: Record<string, number>) => Object.entries(r).filter(([p]) => p !== 'model').map(([p, x]) => `${p.toUpperCase()} ${x.toFixed(4)}`).join(', ');
  const evictions = (h.evictions === 0 ? 'no evictions there: the check says nothing about eviction choices' : `${h.evictions} evictions`)
    + (h.modelFrom ? `, the model deciding from request ${h.modelFrom} (LRU before)` : '');
  const hits = (margin: string) => `hit ratio ${h.hitRatio.model!.toFixed(4)} (${others(h.hitRatio)}${margin})`;
  const bytes = (margin: string) => h.byteHitRatio ? `byte hit ratio ${h.byteHitRatio.model!.toFixed(4)} (${others(h.byteHitRatio)}${margin})` : '';
  if (byBytes(h)) {
    return `${counted} ${bytes(`; ${h.bytesOverLru >= 0 ? '+' : '-'}${formatBytes(Math.abs(h.bytesOverLru))} over LRU in the last ${h.requests} requests, ${evictions}`)}; ${hits('')}`;
  }
  const b = bytes('');
  return `${counted} ${hits(`; ${h.hitsOverLru >= 0 ? '+' : ''}${h.hitsOverLru} hits over LRU in the last ${h.requests} requests, ${evictions}`)}${b ? `; ${b}` : ''}`;
}

/**
 * A note when the model gives up what it does not serve for what it does, by more than a hundredth against
 * LRU on the held-out requests: for goal 'hits', bytes (more bytes come from the origin than under LRU);
 * for goal 'bytes', hits. null otherwise, or for models without byte figures.
 */
export function tradeNote(h: Holdout): string | null {
  const b = h.byteHitRatio;
  if (!b) return null;
  if (h.goal === 'bytes') {
    const r = h.hitRatio;
    if (!(r.lru! - r.model! > 0.01)) return null;
    return `note: the model trades hits for bytes: its held-out hit ratio is ${r.model!.toFixed(4)}, against ${r.lru!.toFixed(4)} under LRU `
      + '(--goal bytes maximises the bytes served from the cache, not the requests)';
  }
  if (!(b.lru! - b.model! > 0.01)) return null;
  const pct = (x: number) => `${(100 * (1 - x)).toFixed(1)}%`;
  return `note: the model trades bytes for hits: on the held-out requests ${pct(b.model!)} of the bytes come from the origin, against ${pct(b.lru!)} under LRU `
    + '(it maximises hits, not bytes: where origin traffic is what costs, train with --goal bytes and compare)';
}

/**
 * A note when GDSF served more than the model on the held-out requests (hits, or bytes for goal 'bytes')
 * while the model still beat LRU (below LRU, train.ts warns instead); `tried`: what to suggest, such as
 * another candidate source (docs/training.md: where popularity drifts, the default source keeps objects
 * whose requests have stopped). null otherwise, or when the record has no GDSF figure.
 */
export function gdsfNote(h: Holdout, tried: string): string | null {
  if (belowLru(h)) return null;
  const r = byBytes(h) ? h.byteHitRatio! : h.hitRatio;
  if (r.gdsf === undefined || !(r.gdsf > r.model!)) return null;
  const what = byBytes(h) ? 'byte hit ratio' : 'hit ratio';
  return `note: GDSF was above the model on the held-out requests (${what} ${r.gdsf.toFixed(4)} against ${r.model!.toFixed(4)}); `
    + `NGINX offers no GDSF, but ${tried} may pass it (docs/training.md)`;
}

/** zoneFilledNote when the simulated keys zone filled during the check, else null. */
export function zoneNote(h: Holdout): string | null {
  return h.zoneFull ? zoneFilledNote() : null;
}

/**
 * The note `coldrl replay` and `coldrl train` print when the simulated keys zone filled (`under`: for which
 * runs): from then on evictions are bound by the object count; the model's count-bound decisions rank per
 * object over uniform candidates (replay/candidates.ts countBoundSource; docs/logs.md).
 */
export function zoneFilledNote(under?: string): string {
  return `note: the keys zone filled${under ? ` under ${under}` : ''}: from then on NGINX evicts by object count, where a ranking per byte `
    + '(GDSF) keeps many small objects and can lose to LRU (coldrl ranks those decisions per object, over uniform candidates); '
    + 'a keys_zone that does not fill keeps every byte of max_size usable (docs/logs.md)';
}

/** The record of a model of goal 'bytes' (with its margin in bytes): judged against LRU by bytes, not hits. */
function byBytes(h: Holdout): h is Holdout & { bytesOverLru: number } {
  return h.goal === 'bytes' && h.bytesOverLru !== undefined;
}

/** True when the model lost to LRU on its held-out requests in what it serves: hits, or for goal 'bytes' bytes. */
export function belowLru(h: Holdout): boolean {
  return byBytes(h) ? h.bytesOverLru < 0 : h.hitsOverLru < 0;
}

/** What belowLru lost, in words: "12 hits" or, for goal 'bytes', "3.1 MiB". */
export function lossToLru(h: Holdout): string {
  return byBytes(h) ? formatBytes(-h.bytesOverLru) : `${-h.hitsOverLru} hits`;
}
