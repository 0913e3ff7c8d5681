/**
 * The network of the learned policy as plain weights (Float32Arrays), shared by the tfjs model
 * (trainer/model.ts), the ONNX export (trainer/onnx-export.ts) and the fast acting path of the trainer.
 *
 * Architecture (dueling DQN over a set of K candidates, one shared per-candidate MLP, Wang et al. 2016):
 *   h_i   = relu(relu(x_i W1 + b1) W2 + b2)             x_i = F features of candidate i   (F -> H -> H)
 *   A_i   = h_i . wa + ba                                advantage head, per candidate      (H -> 1)
 *   V     = mean_{i in mask}(h_i) . wv + bv              value head on the masked mean      (H -> 1)
 *   Q_i   = V + A_i - mean_{i in mask}(A_i)              masked slots: -1e9 (PADDED_SCORE)
 * Q_i is the network's output for candidate i. What it means is the head (hp.objective, below); the score
 * the policy ranks by is Q_i itself or a fixed function of it: higher = evict first (replay/candidates.ts
 * selectVictims). Matrices are row-major: w1[f * H + j] maps input f to hidden unit j.
 */
import { sizeTermOf, type Goal } from '../replay/candidates.js';
import { LOG_SIZE_CAP, SIZE_FEATURE } from '../replay/features.js';
import type { Rng } from '../replay/rng.js';

export const PADDED_SCORE = -1e9;

/**
 * What the output Q_i is, and so how it becomes the eviction score (trainer/hparams.ts objective):
 *   'q'          the score itself: the value of evicting candidate i.
 *   'hit-logit'  the logit z_i of candidate i's (soft) hit: p_i = sigmoid(z_i). For the hit ratio (goal
 *                'hits') the score is the expected hits per byte in log space, negated: -log p_i +
 *                log(1 + size_i) = softplus(-z_i) + f_size x log1p(SIZE_CAP), with f_size the size feature
 *                (replay/features.ts). Log space keeps the ranking of unlikely, large objects as precise as
 *                that of likely, small ones. For the byte hit ratio (goal 'bytes') it is softplus(-z_i) alone.
 * The ONNX file (trainer/onnx-export.ts) and the acting path (Forward) apply the same function (Scoring).
 */
export type Head = 'q' | 'hit-logit';
export const HEADS: readonly Head[] = ['q', 'hit-logit'];

/**
 * How the output becomes the score: the head, and the weight of the size feature in a 'hit-logit' score
 * (replay/candidates.ts sizeTermOf: log1p(SIZE_CAP) for goal 'hits', 0 for goal 'bytes'; 0 for 'q').
 */
export interface Scoring { readonly head: Head; readonly sizeWeight: number }

/** The scoring of a model trained for `objective` and `goal` (trainer/hparams.ts). */
export function scoringOf(objective: Head, goal: Goal): Scoring {
  return { head: objective, sizeWeight: sizeTermOf(objective, goal) };
}

/** The raw output as the score (head 'q'). */
export const Q_SCORING: Scoring = { head: 'q', sizeWeight: 0 };

export { LOG_SIZE_CAP, SIZE_FEATURE };

/**
 * The 'hit-logit' head's score of output z for a candidate whose size feature is fSize (float64), the size
 * weighted by sizeWeight (Scoring).
 */
export function hitLogitScore(z: number, fSize: number, sizeWeight: number): number {
  const x = -z; // softplus(x) = max(x, 0) + log1p(exp(-|x|)), stable for any x
  return (x > 0 ? x : 0) + Math.log1p(Math.exp(-Math.abs(x))) + fSize * sizeWeight;
}

export interface NetworkWeights {
  /** Features per candidate (FEATURE_COUNT of the spec it was trained on). */
  f: number;
  /** Hidden width. */
  h: number;
  w1: Float32Array; b1: Float32Array;
  w2: Float32Array; b2: Float32Array;
  wa: Float32Array; ba: Float32Array;
  wv: Float32Array; bv: Float32Array;
}

/** The weight tensors in a fixed order with their shapes (tfjs variables, ONNX initializers, checkpoints). */
export type WeightName = 'w1' | 'b1' | 'w2' | 'b2' | 'wa' | 'ba' | 'wv' | 'bv';
export const WEIGHT_NAMES: readonly WeightName[] = ['w1', 'b1', 'w2', 'b2', 'wa', 'ba', 'wv', 'bv'];

export function weightShapes(f: number, h: number): Record<WeightName, number[]> {
  return { w1: [f, h], b1: [h], w2: [h, h], b2: [h], wa: [h, 1], ba: [1], wv: [h, 1], bv: [1] };
}

/** He-uniform initialisation for the ReLU layers, small uniform for the heads; biases 0. Seeded. */
export function initWeights(f: number, h: number, rng: Rng): NetworkWeights {
  const fill = (n: number, limit: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.uniform(-limit, limit);
    return a;
  };
  return {
    f, h,
    w1: fill(f * h, Math.sqrt(6 / f)), b1: new Float32Array(h),
    w2: fill(h * h, Math.sqrt(6 / h)), b2: new Float32Array(h),
    wa: fill(h, Math.sqrt(3 / h)), ba: new Float32Array(1),
    wv: fill(h, Math.sqrt(3 / h)), bv: new Float32Array(1),
  };
}

export function cloneWeights(w: NetworkWeights): NetworkWeights {
  return {
    f: w.f, h: w.h, w1: w.w1.slice(), b1: w.b1.slice(), w2: w.w2.slice(), b2: w.b2.slice(),
    wa: w.wa.slice(), ba: w.ba.slice(), wv: w.wv.slice(), bv: w.bv.slice(),
  };
}

/** JSON form for checkpoints: plain number arrays. */
export function weightsToJSON(w: NetworkWeights): Record<string, number | number[]> {
  const o: Record<string, number | number[]> = { f: w.f, h: w.h };
  for (const k of WEIGHT_NAMES) o[k] = Array.from(w[k]);
  return o;
}

export function weightsFromJSON(o: Record<string, unknown>): NetworkWeights {
  const f = Number(o.f);
  const h = Number(o.h);
  const shapes = weightShapes(f, h);
  const w = { f, h } as NetworkWeights;
  for (const k of WEIGHT_NAMES) {
    const a = o[k];
    const len = shapes[k].reduce((x, y) => x * y, 1);
    if (!Array.isArray(a) || a.length !== len) throw new Error(`checkpoint weight ${k}: expected ${len} numbers`);
    w[k] = Float32Array.from(a as number[]);
  }
  return w;
}

/**
 * Plain TypeScript forward pass over n candidates in features[0 .. n*F) (all present, no padding), writing
 * the scores of `head` into out[0..n). Allocation-free with a Forward scratch object. Used by the trainer to
 * act between weight syncs (5-30x slower than onnxruntime, but no async hop per decision); float64 accumulation.
 * The second layer keeps eight outputs in locals while it walks the inputs (fewer loads and stores than
 * one output at a time; the same sums in the same order).
 */
export class Forward {
  private readonly h1: Float64Array;
  private readonly mean: Float64Array;
  constructor(readonly w: NetworkWeights, readonly scoring: Scoring = Q_SCORING) {
    this.h1 = new Float64Array(w.h);
    this.mean = new Float64Array(w.h);
  }

  run(features: Float32Array, n: number, out: Float32Array): void {
    const { f, h, w1, b1, w2, b2, wa, ba, wv, bv } = this.w;
    const h1 = this.h1, mean = this.mean;
    const blocked = h & ~7;
    mean.fill(0);
    let sumA = 0;
    for (let c = 0; c < n; c++) {
      const xo = c * f;
      for (let j = 0; j < h; j++) h1[j] = b1[j]!;
      for (let i = 0; i < f; i++) {
        const x = features[xo + i]!;
        if (x === 0) continue;
        const ro = i * h;
        for (let j = 0; j < h; j++) h1[j] += x * w1[ro + j]!;
      }
      for (let j = 0; j < h; j++) if (h1[j]! < 0) h1[j] = 0;
      let a = ba[0]!;
      let j = 0;
      for (; j < blocked; j += 8) {
        let s0 = b2[j]!, s1 = b2[j + 1]!, s2 = b2[j + 2]!, s3 = b2[j + 3]!, s4 = b2[j + 4]!, s5 = b2[j + 5]!, s6 = b2[j + 6]!, s7 = b2[j + 7]!;
        for (let i = 0, r = j; i < h; i++, r += h) {
          const x = h1[i]!;
          if (x === 0) continue;
          s0 += x * w2[r]!; s1 += x * w2[r + 1]!; s2 += x * w2[r + 2]!; s3 += x * w2[r + 3]!;
          s4 += x * w2[r + 4]!; s5 += x * w2[r + 5]!; s6 += x * w2[r + 6]!; s7 += x * w2[r + 7]!;
        }
        s0 = s0 < 0 ? 0 : s0; s1 = s1 < 0 ? 0 : s1; s2 = s2 < 0 ? 0 : s2; s3 = s3 < 0 ? 0 : s3;
        s4 = s4 < 0 ? 0 : s4; s5 = s5 < 0 ? 0 : s5; s6 = s6 < 0 ? 0 : s6; s7 = s7 < 0 ? 0 : s7;
        mean[j] += s0; mean[j + 1] += s1; mean[j + 2] += s2; mean[j + 3] += s3;
        mean[j + 4] += s4; mean[j + 5] += s5; mean[j + 6] += s6; mean[j + 7] += s7;
        a += s0 * wa[j]!; a += s1 * wa[j + 1]!; a += s2 * wa[j + 2]!; a += s3 * wa[j + 3]!;
        a += s4 * wa[j + 4]!; a += s5 * wa[j + 5]!; a += s6 * wa[j + 6]!; a += s7 * wa[j + 7]!;
      }
      for (; j < h; j++) {
        let s = b2[j]!;
        for (let i = 0, r = j; i < h; i++, r += h) {
          const x = h1[i]!;
          if (x !== 0) s += x * w2[r]!;
        }
        if (s < 0) s = 0;
        mean[j] += s;
        a += s * wa[j]!;
      }
      out[c] = a;
      sumA += a;
    }
    let v = bv[0]!;
    for (let j = 0; j < h; j++) v += (mean[j]! / n) * wv[j]!;
    const shift = v - sumA / n;
    const { head, sizeWeight } = this.scoring;
    if (head === 'hit-logit') for (let c = 0; c < n; c++) out[c] = hitLogitScore(out[c]! + shift, features[c * f + SIZE_FEATURE]!, sizeWeight);
    else for (let c = 0; c < n; c++) out[c] = out[c]! + shift;
  }
}
