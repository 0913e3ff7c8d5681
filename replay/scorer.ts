/**
 * A scorer ranks K candidates: higher score = evict first (for a learned model: the Q-value of evicting
 * that candidate). Scorers see the features of replay/features.ts, row i = candidate i, and, inside the
 * simulator only, the candidates' dense ids (oracles read next uses through the SimContext).
 */
import type { SimContext } from './policy.js';

export interface Scorer {
  readonly name: string;
  /** True when score() returns a Promise (a model behind onnxruntime). */
  readonly async?: boolean;
  /**
   * The coefficient on the size feature that the score adds (a ranking per byte), if any: a decision bound
   * by the object count drops it (replay/candidates.ts perObjectScores).
   */
  readonly sizeTerm?: number;
  score(ctx: SimContext, ids: Int32Array, features: Float32Array, n: number, out: Float32Array): void | Promise<void>;
}

/** Keeps the given order (index 0 first): LRU over the candidates. */
export const lruScorer: Scorer = {
  name: 'lru',
  score(_ctx, _ids, _f, n, out) { for (let i = 0; i < n; i++) out[i] = n - i; },
};

/**
 * Perfect foresight among the candidates: the farthest next use goes first (never used again = first). The
 * score is the distance to the next use, not its index: float32 holds distances exactly where indices past
 * 2^24 (a longer trace) would round together.
 */
export const oracleScorer: Scorer = {
  name: 'oracle',
  score(ctx, ids, _f, n, out) {
    const nu = ctx.nextUseOf;
    for (let i = 0; i < n; i++) { const u = nu[ids[i]!]!; out[i] = u === Infinity ? 3e38 : u - ctx.index; }
  },
};

/** Size-aware foresight: distance to next use times size (bytes x requests freed). */
export const oracleSizeScorer: Scorer = {
  name: 'oracle-size',
  score(ctx, ids, _f, n, out) {
    const nu = ctx.nextUseOf;
    const sz = ctx.objects.size;
    for (let i = 0; i < n; i++) { const id = ids[i]!; const u = nu[id]!; out[i] = u === Infinity ? 3e38 : (u - ctx.index) * sz[id]!; }
  },
};

/** size x (idle + 1 s): the score both hand-written rules below start from. */
function sizeIdle(o: SimContext['objects'], id: number, now: number): number {
  return o.size[id]! * (now - o.last[id]! + 1);
}

/**
 * The best simple hand-written rule over the same candidates (../shared/reference/learning-facts.md): evict
 * the lowest lifetime requests / (size x idle) first, i.e. score = size x (idle + 1 s) / requests. The
 * ablation baseline of the learned policy (bench/learn.ts).
 */
export const ruleScorer: Scorer = {
  name: 'rule',
  score(ctx, ids, _f, n, out) {
    const o = ctx.objects;
    for (let i = 0; i < n; i++) { const id = ids[i]!; out[i] = sizeIdle(o, id, ctx.now) / Math.max(1, o.requests[id]!); }
  },
};

/**
 * The rule without frequency: evict the largest size x (idle + 1 s) first (hybrid's score, over the
 * candidates). On a trace whose future depends only on recency and size (tragen_cdn: docs/training.md) this
 * is the online reference the learned policy is measured against.
 */
export const idleSizeScorer: Scorer = {
  name: 'idle-size',
  score(ctx, ids, _f, n, out) {
    for (let i = 0; i < n; i++) out[i] = sizeIdle(ctx.objects, ids[i]!, ctx.now);
  },
};
