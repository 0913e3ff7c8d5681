/**
 * The K-candidate interface: "here are K resident objects with their features; which of them go?".
 * The learned policy (replay/policies/ktail.ts with a model scorer), the sidecar and the NGINX module all
 * speak it. Candidates are always ordered OLDEST LAST ACCESS FIRST (index 0 = least recently used), whatever
 * source picked them, so "plain LRU" over a candidate set is always "take them in order".
 *
 * Victim selection (the one rule everyone applies to scores): visit candidates by descending score (ties:
 * lower index first), evicting each, until the freed bytes reach `need`; at least one victim. With no scores
 * (fallback), visit in index order: that is LRU over the candidates.
 *
 * Candidate sources (pluggable, named; N = resident objects, K <= MAX_CANDIDATES = 64). Costs are per
 * eviction decision, before features and scoring:
 *  - tail    the K least-recently-used resident objects (the Cold-RL paper's design). O(K) list walk.
 *  - sample  K distinct resident objects drawn uniformly at random (as LRB samples 64). O(K) draws from the
 *            dense pool of resident ids + an insertion sort by last access, O(K^2) compares worst case.
 *  - mixed   ceil(K/2) from the tail, the rest drawn uniformly from the other residents (deduplicated).
 *            O(K) walk + O(K) draws (each checked against the tail half: O(K^2) int compares at most).
 *  - large   size-biased: 4K distinct uniform draws, keep the K largest. O(4K) draws + O(4K x K) selection.
 *  - rare    frequency-biased: 4K distinct uniform draws, keep the K with the fewest lifetime requests
 *            (ties: older last access). O(4K) draws + O(4K x K) selection.
 *  - perbyte 4K distinct uniform draws, keep the K with the fewest lifetime requests per byte (requests /
 *            max(1, size): GDSF's key without its clock; ties: older last access). Same cost as large.
 *  - aged    as perbyte, the key divided by sqrt(1 + idle seconds) (idle = now - last access, at least 0):
 *            an object popular long ago ages into the candidates, as GDSF's clock ages it out. Same cost.
 *  - weighted as perbyte over 4K draws by size, without replacement (each resident byte equally likely;
 *            a Fenwick tree of resident sizes, O(log N) per draw and per insert/remove). The NGINX module
 *            draws from the same distribution (its tree is over side-table slots), not the same draws.
 *  - blend   as perbyte over 2K uniform draws plus 2K draws by size among the residents not yet drawn: the
 *            uniform half finds the many rarely requested small objects, the by-size half the few huge ones
 *            holding most bytes. O(2K) + O(2K log N) draws + O(4K x K).
 *  - agedblend aged's key over blend's draws. Same cost as blend.
 *  - overdue as blend, the key divided by sqrt(1 + idle / mean gap), the mean gap being the object's mean
 *            time between its lifetime requests, (last - first) / (requests - 1), at least 1 s (no aging
 *            with a single request): an object idle far beyond its own pace ages into the candidates, one
 *            whose requests come seldom but regularly does not. Same cost as blend.
 * Every source is seeded through view.random() and allocates nothing (module-level scratch of 4 x 64).
 *
 * The exact sampling rule (the NGINX module copies it): partial Fisher-Yates over pool[0..N):
 *   for i = 0 .. D-1:  j = i + floor(random() * (N - i)); swap(pool[i], pool[j]); drawn[i] = pool[i]
 * (D = K, or 4K, capped at N; mixed skips draws that are in its tail half without counting them; blend
 * takes its 2K draws by size after its 2K uniform ones, with those held out of the tree). The
 * simulator undoes the swaps afterwards so that the pool's order never depends on past samples; a C index
 * that keeps node->pool_index in step may leave them. Drawn ids are then ordered by last access, ascending,
 * stable (ties keep draw order). With N <= D every resident object is a candidate.
 */
import type { DList } from './dlist.js';
import type { Fenwick } from './fenwick.js';
import { FEATURE_COUNT, LOG_SIZE_CAP, MAX_CANDIDATES, SIZE_FEATURE } from './features.js';

/** What a source reads from the K-candidate policy: the recency list and a dense pool of resident ids. */
export interface CandidateView {
  /** Recency order of resident objects (head = most recent, tail = least recent). */
  readonly recency: DList;
  /** Dense array of resident ids (for O(1) uniform sampling); pool[0 .. poolSize). */
  readonly pool: Int32Array;
  readonly poolSize: number;
  /** Last access time per id (seconds) for ordering samples oldest first. */
  readonly last: Float64Array;
  /** Stored size per id (bytes), for size-biased sources. */
  readonly size: Float64Array;
  /** Lifetime request count per id, for frequency-biased sources. */
  readonly requests: Float64Array;
  /** Time of each id's first request (seconds; kept with `requests`), for `overdue`. */
  readonly first: Float64Array;
  /** Time of the request that asks for the eviction (seconds), for `aged`. */
  readonly now: number;
  /** Resident bytes by id, for `weighted`; kept only when the source says `weighted` (else null). */
  readonly bytes: Fenwick | null;
  /** Uniform random number in [0, 1), seeded. */
  random(): number;
}

export interface CandidateSource {
  readonly name: string;
  /** One line: what it picks and its cost per eviction (for --help and reports). */
  readonly summary: string;
  /** Writes up to k distinct resident ids into out[0..], oldest last access first; returns how many. */
  collect(view: CandidateView, k: number, out: Int32Array): number;
  /** True when collect() draws by size: the view must keep `bytes`. */
  readonly weighted?: boolean;
  /** True when collect() keeps the K best of its draws by a key (biasedSource): see countBoundSource. */
  readonly keyed?: boolean;
}

/** How many uniform draws the biased sources (large, rare) filter down to K. */
export const OVERSAMPLE = 4;

// Scratch shared by all sources (collect is never re-entered; each worker thread has its own module).
const swaps = new Int32Array(OVERSAMPLE * MAX_CANDIDATES);
const drawn = new Int32Array(OVERSAMPLE * MAX_CANDIDATES);
const keys = new Float64Array(OVERSAMPLE * MAX_CANDIDATES);
const kept = new Int32Array(MAX_CANDIDATES);

/** Writes up to k ids from the recency tail (oldest first) into out[from..]; returns the new end. */
function walkTail(view: CandidateView, k: number, out: Int32Array, from: number): number {
  const r = view.recency;
  let n = from;
  const end = from + k;
  for (let id = r.tail; id >= 0 && n < end; id = r.prev[id]!) out[n++] = id;
  return n;
}

/**
 * Draws up to d distinct residents uniformly (partial Fisher-Yates over the pool, undone afterwards) into
 * out[from..], skipping ids found in out[0..from) (mixed's tail half). Returns the new end.
 */
function drawUniform(view: CandidateView, d: number, out: Int32Array, from: number): number {
  const pool = view.pool;
  const size = view.poolSize;
  let n = from;
  const end = from + d;
  let i = 0;
  for (; i < size && n < end; i++) {
    const j = i + Math.floor(view.random() * (size - i));
    const id = pool[j]!;
    pool[j] = pool[i]!;
    pool[i] = id;
    swaps[i] = j;
    let dup = false;
    for (let t = 0; t < from; t++) if (out[t] === id) { dup = true; break; }
    if (!dup) out[n++] = id;
  }
  while (i-- > 0) {
    const j = swaps[i]!;
    const id = pool[j]!;
    pool[j] = pool[i]!;
    pool[i] = id;
  }
  return n;
}

/** Stable insertion sort of ids[0..n) by last access, ascending (n <= 4 x 64). */
function sortByLast(ids: Int32Array, n: number, last: Float64Array): void {
  for (let i = 1; i < n; i++) {
    const v = ids[i]!;
    const t = last[v]!;
    let j = i - 1;
    while (j >= 0 && last[ids[j]!]! > t) { ids[j + 1] = ids[j]!; j--; }
    ids[j + 1] = v;
  }
}

/**
 * Keeps the k of the n drawn ids (drawn[0..n)) with the lowest key (keys[i] is drawn[i]'s; ties: older
 * last access, then draw order) and writes them to out[0..k), oldest last access first.
 */
function keepBest(n: number, k: number, keys: Float64Array, last: Float64Array, out: Int32Array): number {
  if (n <= k) {
    for (let i = 0; i < n; i++) out[i] = drawn[i]!;
    sortByLast(out, n, last);
    return n;
  }
  // kept[0..m): draw positions sorted by (key, last) ascending; insert each one, dropping the worst past k.
  let m = 0;
  for (let i = 0; i < n; i++) {
    const kv = keys[i]!;
    const lv = last[drawn[i]!]!;
    if (m === k) {
      const w = kept[k - 1]!;
      if (kv > keys[w]! || (kv === keys[w]! && lv >= last[drawn[w]!]!)) continue;
      m--;
    }
    let j = m - 1;
    for (; j >= 0; j--) {
      const u = kept[j]!;
      if (keys[u]! < kv || (keys[u]! === kv && last[drawn[u]!]! <= lv)) break;
      kept[j + 1] = u;
    }
    kept[j + 1] = i;
    m++;
  }
  for (let i = 0; i < m; i++) out[i] = drawn[kept[i]!]!;
  sortByLast(out, m, last);
  return m;
}

/**
 * Draws up to d more distinct residents into drawn[from..), each with probability proportional to its size
 * (every resident byte equally likely), without replacement and never one of drawn[0..from): a drawn id's
 * weight is out of view.bytes until the draws end. Returns the new end.
 */
function drawBySize(view: CandidateView, d: number, from: number): number {
  const f = view.bytes!;
  const size = view.size;
  for (let i = 0; i < from; i++) f.add(drawn[i]!, -size[drawn[i]!]!);
  const end = Math.min(from + d, view.poolSize);
  let n = from;
  for (let misses = 0; n < end && f.total > 0 && misses < 64;) {
    const id = f.find(view.random() * f.total);
    const w = f.weight(id);
    if (!(w > 0)) { misses++; continue; } // float rounding at a range's edge
    f.add(id, -w);
    drawn[n++] = id;
  }
  for (let i = 0; i < n; i++) f.add(drawn[i]!, size[drawn[i]!]!);
  return n;
}

/** How a biased source draws its 4K residents: uniformly, by size, or half and half (blend). */
type Draw = 'uniform' | 'size' | 'blend';

/**
 * A source that keeps the K lowest keys of 4K draws; key(view, id) is read once per draw.
 */
function biasedSource(name: string, summary: string, key: (view: CandidateView, id: number) => number, draw: Draw = 'uniform'): CandidateSource {
  const d = OVERSAMPLE, half = OVERSAMPLE >> 1;
  return {
    name,
    summary,
    weighted: draw !== 'uniform',
    keyed: true,
    collect(view, k, out) {
      const n = draw === 'uniform' ? drawUniform(view, d * k, drawn, 0)
        : draw === 'size' ? drawBySize(view, d * k, 0)
          : drawBySize(view, half * k, drawUniform(view, half * k, drawn, 0));
      for (let i = 0; i < n; i++) keys[i] = key(view, drawn[i]!);
      return keepBest(n, k, keys, view.last, out);
    },
  };
}

/** The K least-recently-used objects: walk the recency list from its tail. */
export const tailSource: CandidateSource = {
  name: 'tail',
  summary: 'the K least-recently-used objects (the paper); O(K) list walk',
  collect(view, k, out) { return walkTail(view, k, out, 0); },
};

/** K distinct residents, uniformly at random, oldest last access first. */
export const sampleSource: CandidateSource = {
  name: 'sample',
  summary: 'K uniform random residents (LRB); O(K) draws + sort',
  collect(view, k, out) {
    const n = drawUniform(view, k, out, 0);
    sortByLast(out, n, view.last);
    return n;
  },
};

/** Half LRU tail, half uniform sample of the other residents. */
export const mixedSource: CandidateSource = {
  name: 'mixed',
  summary: 'ceil(K/2) from the LRU tail + the rest uniform from the others; O(K) + O(K^2) dedup compares',
  collect(view, k, out) {
    const t = walkTail(view, (k + 1) >> 1, out, 0);
    const n = drawUniform(view, k - t, out, t);
    sortByLast(out, n, view.last);
    return n;
  },
};

/** Lifetime requests per byte (GDSF's frequency / size, without its clock): perbyte's, weighted's, blend's key. */
function perByte(view: CandidateView, id: number): number {
  return view.requests[id]! / Math.max(1, view.size[id]!);
}

/** Size-biased: the K largest of 4K uniform draws. */
export const largeSource = biasedSource('large', 'size-biased: the K largest of 4K uniform residents; O(4K) draws + O(4K x K) selection',
  (view, id) => -view.size[id]!);

/** Frequency-biased: the K with the fewest lifetime requests among 4K uniform draws. */
export const rareSource = biasedSource('rare', 'frequency-biased: fewest lifetime requests among 4K uniform residents; O(4K) draws + O(4K x K)',
  (view, id) => view.requests[id]!);

/**
 * Biased to large AND rarely requested objects: the K with the fewest lifetime requests per byte among 4K
 * uniform draws (GDSF's frequency / size, without its clock).
 */
export const perbyteSource = biasedSource('perbyte', 'fewest lifetime requests per byte among 4K uniform residents; O(4K) draws + O(4K x K)',
  perByte);

/**
 * perbyte aged by idle time: the K lowest requests / (max(1, size) x sqrt(1 + idle seconds)) among 4K
 * uniform draws. Lifetime counts never decay, so under perbyte an object that was popular once is never a
 * candidate again; here its key falls as it idles.
 */
export const agedSource = biasedSource('aged', 'fewest lifetime requests per byte, aged by sqrt(1 + idle s), among 4K uniform residents; O(4K) draws + O(4K x K)',
  agedPerByte);

/** Lifetime requests per byte divided by sqrt(1 + idle seconds): aged's and agedblend's key. */
function agedPerByte(view: CandidateView, id: number): number {
  return view.requests[id]! / (Math.max(1, view.size[id]!) * Math.sqrt(1 + Math.max(0, view.now - view.last[id]!)));
}

/**
 * perbyte's key over draws weighted by size: 4K residents drawn with probability proportional to their
 * size (without replacement), the K fewest lifetime requests per byte kept. Uniform draws count objects,
 * so when a few huge objects hold most of the bytes (video beside images) they are rarely drawn, and the
 * small ones are evicted in their place; drawn by size, they are.
 */
export const weightedSource = biasedSource('weighted', 'fewest lifetime requests per byte among 4K residents drawn by size; O(4K log N) draws + O(4K x K)',
  perByte, 'size');

/**
 * perbyte's key over 2K uniform draws and 2K draws by size (among the residents the uniform half did not
 * draw). Uniform draws alone miss the few huge objects that hold most of the bytes (video beside images);
 * draws by size alone rarely meet the many small objects requested once, perbyte's usual victims. The
 * two halves find both.
 */
export const blendSource = biasedSource('blend', 'fewest lifetime requests per byte among 2K uniform + 2K by-size residents; O(2K log N) draws + O(4K x K)',
  perByte, 'blend');

/**
 * aged's key over blend's draws (2K uniform, 2K by size): blend's reach into the few huge objects that hold
 * most of the bytes, and aged's forgetting of objects that were popular once and have cooled off (a
 * catalogue whose ranking turns: `coldrl workload cdn`, `drift`; docs/candidates.md).
 */
export const agedblendSource = biasedSource('agedblend', 'fewest lifetime requests per byte, aged by sqrt(1 + idle s), among 2K uniform + 2K by-size residents; O(2K log N) draws + O(4K x K)',
  agedPerByte, 'blend');

/**
 * Lifetime requests per byte divided by sqrt(1 + idle / mean gap): overdue's key. The mean gap is the
 * object's mean time between its lifetime requests, at least 1 s; an object requested once is not aged.
 */
function overduePerByte(view: CandidateView, id: number): number {
  const requests = view.requests[id]!;
  if (requests < 2) return perByte(view, id);
  const last = view.last[id]!;
  const gap = Math.max(1, (last - view.first[id]!) / (requests - 1));
  return perByte(view, id) / Math.sqrt(1 + Math.max(0, view.now - last) / gap);
}

/**
 * blend's draws (2K uniform, 2K by size), each key aged by how far its idle time is past the object's own
 * pace. agedblend ages by idle seconds alone, which also ages the objects that come back seldom but surely
 * (CloudPhysics' blocks); here an object requested every few seconds that has idled for an hour ages, and
 * one requested every few hours that has idled for an hour hardly does (docs/candidates.md).
 */
export const overdueSource = biasedSource('overdue', 'fewest lifetime requests per byte, aged by sqrt(1 + idle / its mean gap), among 2K uniform + 2K by-size residents; O(2K log N) draws + O(4K x K)',
  overduePerByte, 'blend');

export const SOURCES: Record<string, CandidateSource> = {
  tail: tailSource, sample: sampleSource, mixed: mixedSource, large: largeSource, rare: rareSource, perbyte: perbyteSource, aged: agedSource,
  weighted: weightedSource, blend: blendSource, agedblend: agedblendSource, overdue: overdueSource,
};

/**
 * The source a K parameter without one gets (parseKParam), and the trainer's and the NGINX module's
 * default. `overdue` (since 2026-11-30): blend's draws, which reach the few huge objects that hold most
 * bytes (video, where `perbyte` is far below GDSF), with a key that ages the objects idle beyond their own
 * pace. The learned policy over it is ahead of `blend`'s by .014-.025 where popularity moves and on
 * CloudPhysics, and behind by .009 at most elsewhere (docs/candidates.md). `tail` (the paper's) is last or
 * next to last everywhere.
 */
export const DEFAULT_SOURCE = 'overdue';

/**
 * The source of a model trained for the byte hit ratio (`coldrl train --goal bytes`) unless told otherwise:
 * K residents drawn uniformly. The keyed sources offer the residents with the fewest requests per byte,
 * mostly the large ones, which a ranking per object has no reason to prefer (docs/training.md).
 */
export const BYTES_SOURCE = 'sample';

/**
 * The source of a decision bound by the object count (COUNT_BOUND_NEED): a keyed source keeps the residents
 * with the fewest requests per byte (or the largest), which in that decision are the wrong ones to offer:
 * freeing bytes gains nothing, and the small, rarely requested objects that hold the nodes are never
 * candidates. Such a decision draws K residents uniformly (`sample`) instead; tail, sample and mixed keep
 * their own. The NGINX module does the same (COLDRL_SRC_BIASED). Measured on tragen at 5% with a 1m keys
 * zone (docs/logs.md): one model gives .2563 over `blend`'s candidates there and .3426 over uniform ones.
 */
export function countBoundSource(source: CandidateSource): CandidateSource {
  return source.keyed ? sampleSource : source;
}

/**
 * A DecideRequest whose bytes_needed is at most this is bound by the object count, not by the bytes: the
 * NGINX module sends 1 when only the keys zone's node count is over (a byte-bound need is whole blocks of
 * 4 KiB). The simulator says so directly (SimContext.countBound).
 */
export const COUNT_BOUND_NEED = 1;

/**
 * What a learned model's ranking serves (the model's coldrl.goal, the trainer's hp.goal): 'hits' (the
 * default) evicts the fewest expected hits per byte, for the hit ratio; 'bytes' evicts the fewest expected
 * hits per object, whatever its size, for the byte hit ratio (the bytes that do not come from the origin):
 * a hit on an object saves its size, and keeping it costs its size, so the chance of a hit alone ranks it.
 */
export type Goal = 'hits' | 'bytes';
export const GOALS: readonly Goal[] = ['hits', 'bytes'];

/** A model's goal from its metadata value (absent in models written before 2026-11-29: 'hits'). */
export function goalOf(value: string | undefined): Goal {
  return value === 'bytes' ? 'bytes' : 'hits';
}

/**
 * Scorer.sizeTerm of a learned model by its objective and goal (the model's coldrl.objective and
 * coldrl.goal, the trainer's hp): a hit-logit score for the hit ratio is log(size / P(hit)), so
 * LOG_SIZE_CAP x the size feature; for the byte hit ratio it is -log P(hit), and 0; 0 for q.
 */
export function sizeTermOf(objective: string | undefined, goal: Goal): number {
  return objective === 'hit-logit' && goal === 'hits' ? LOG_SIZE_CAP : 0;
}

/**
 * Scores for a decision bound by the object count: a scorer that ranks per byte (Scorer.sizeTerm: its score
 * adds sizeTerm x the size feature, as the hit-logit models' log(size / P(hit)) does) ranks per object
 * instead, by P(hit) alone, since freeing bytes gains nothing there. In place; no allocation.
 */
export function perObjectScores(scores: Float32Array, features: Float32Array, n: number, sizeTerm: number): void {
  for (let i = 0; i < n; i++) scores[i] = scores[i]! - sizeTerm * features[i * FEATURE_COUNT + SIZE_FEATURE]!;
}

/** a ranks below b: a smaller number, or NaN against a number. */
const below = (a: number, b: number): boolean => a < b || (a !== a && b === b);

/**
 * Applies the victim rule. scores may be null (fallback: index order). A candidate scored NaN is never a
 * victim: a model that scores them all NaN evicts nothing (callers treat 0 victims as a model error). sizes[i] = bytes of candidate i.
 * Writes victim flags (1 = evict) into victims[0..n) and returns the number of victims.
 * No allocation: `order` is scratch space of at least n entries.
 */
export function selectVictims(scores: Float32Array | null, sizes: Float64Array, n: number, need: number,
  victims: Uint8Array, order: Int32Array): number {
  for (let i = 0; i < n; i++) { victims[i] = 0; order[i] = i; }
  if (scores) {
    // insertion sort by descending score, stable (n <= 64); NaN below every number (never taken, below)
    for (let i = 1; i < n; i++) {
      const v = order[i]!;
      const s = scores[v]!;
      let j = i - 1;
      while (j >= 0 && below(scores[order[j]!]!, s)) { order[j + 1] = order[j]!; j--; }
      order[j + 1] = v;
    }
  }
  let freed = 0;
  let count = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r]!;
    if (scores && Number.isNaN(scores[i]!)) continue;
    victims[i] = 1;
    count++;
    freed += sizes[i]!;
    if (freed >= need) break;
  }
  return count;
}
