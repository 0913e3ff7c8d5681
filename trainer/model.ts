/**
 * The dueling Q-network of trainer/network.ts in tfjs, and one Double-DQN training step. Backend-agnostic:
 * whatever tf.setBackend() chose (wasm by default, webgpu/tensorflow when trainer/backend.ts selects them).
 * Shapes: features [B, K, F], mask [B, K] (1 = present), scores [B, K] (padded slots PADDED_SCORE).
 */
import * as tf from '@tensorflow/tfjs';
import { PADDED_SCORE, SIZE_FEATURE, WEIGHT_NAMES, weightShapes, type Head, type NetworkWeights, type Scoring, type WeightName } from './network.js';

/**
 * x W with a hand-written gradient that transposes explicitly: tfjs-wasm's transposed matMul (the default
 * gradient's A^T B and A B^T) runs about 7x slower than transpose + plain matMul (measured: 4096x64 rows,
 * 29.6 ms vs 4.0 ms), which made a training step 5x slower.
 */
const denseGrad = (x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w] as tf.Tensor[]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]!)), tf.matMul(tf.transpose(saved[0]!), dy as tf.Tensor2D)],
  };
};
const dense = tf.customGrad(denseGrad as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

export class QNetwork {
  readonly vars: Record<WeightName, tf.Variable>;
  readonly f: number;
  readonly h: number;

  constructor(w: NetworkWeights, trainable = true) {
    this.f = w.f;
    this.h = w.h;
    const shapes = weightShapes(w.f, w.h);
    const vars = {} as Record<WeightName, tf.Variable>;
    for (const k of WEIGHT_NAMES) {
      const init = tf.tensor(w[k], shapes[k], 'float32');
      vars[k] = tf.variable(init, trainable);
      init.dispose(); // the variable holds its own copy
    }
    this.vars = vars;
  }

  get varList(): tf.Variable[] { return WEIGHT_NAMES.map((k) => this.vars[k]); }

  /** Q-values [B, K]; padded slots get PADDED_SCORE. */
  apply(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, k, f] = x.shape;
      const v = this.vars;
      const h1 = tf.relu(tf.add(dense(tf.reshape(x, [b * k, f]), v.w1), v.b1));
      const h2 = tf.relu(tf.add(dense(h1, v.w2), v.b2)) as tf.Tensor2D;
      const a = tf.reshape(tf.add(dense(h2, v.wa), v.ba), [b, k]);
      const cnt = tf.maximum(tf.sum(mask, 1, true), 1);
      const h3 = tf.reshape(h2, [b, k, this.h]);
      const hMean = tf.div(tf.sum(tf.mul(h3, tf.expandDims(mask, 2)), 1), cnt) as tf.Tensor2D;
      const val = tf.add(dense(hMean, v.wv), v.bv);
      const aMean = tf.div(tf.sum(tf.mul(a, mask), 1, true), cnt);
      const q = tf.sub(tf.add(a, val), aMean);
      return tf.where(tf.greater(mask, 0.5), q, tf.fill([b, k], PADDED_SCORE)) as tf.Tensor2D;
    });
  }

  /** The eviction scores [B, K] of `scoring` (trainer/network.ts Scoring): apply() itself for head 'q'. */
  scores(x: tf.Tensor3D, mask: tf.Tensor2D, scoring: Scoring): tf.Tensor2D {
    if (scoring.head === 'q') return this.apply(x, mask);
    return tf.tidy(() => {
      const [b, k] = x.shape;
      const size = tf.reshape(tf.slice(x, [0, 0, SIZE_FEATURE], [b, k, 1]), [b, k]);
      const s = tf.add(tf.softplus(tf.neg(this.apply(x, mask))), tf.mul(size, scoring.sizeWeight));
      return tf.where(tf.greater(mask, 0.5), s, tf.fill([b, k], PADDED_SCORE)) as tf.Tensor2D;
    });
  }

  /** Copies the current weights out (one download per tensor; asynchronous: webgpu in Node has no synchronous read-back). */
  async read(): Promise<NetworkWeights> {
    const w = { f: this.f, h: this.h } as NetworkWeights;
    for (const k of WEIGHT_NAMES) w[k] = Float32Array.from(await this.vars[k].data() as Float32Array);
    return w;
  }

  assign(w: NetworkWeights): void {
    const shapes = weightShapes(this.f, this.h);
    for (const k of WEIGHT_NAMES) tf.tidy(() => this.vars[k].assign(tf.tensor(w[k], shapes[k], 'float32')));
  }

  copyFrom(o: QNetwork): void {
    for (const k of WEIGHT_NAMES) this.vars[k].assign(o.vars[k]);
  }

  dispose(): void { for (const k of WEIGHT_NAMES) this.vars[k].dispose(); }
}

/** One sampled minibatch, laid out for upload (B transitions of K candidates x F features). */
export interface Minibatch {
  b: number;
  k: number;
  f: number;
  s: Float32Array; mask: Float32Array;
  action: Int32Array; reward: Float32Array; done: Float32Array;
  s2: Float32Array; mask2: Float32Array;
  /** Per-candidate one-step rewards [B, K] (the reward had candidate j been the only victim), for regressStep. */
  labels: Float32Array;
}

export interface StepOptions { gamma: number; maxGradNorm: number; /** Huber threshold (hp.huberDelta). */ huberDelta: number; }

/**
 * One Double-DQN step (van Hasselt et al. 2016): y = r + gamma (1 - done) Q_target(s', argmax_a Q_online(s', a)),
 * Huber loss on Q_online(s, a), gradients clipped to a global norm, applied by `optimizer`.
 * Returns the loss as a scalar tensor (read it only now and then: reading forces a sync).
 */
export function trainStep(online: QNetwork, target: QNetwork, optimizer: tf.Optimizer, mb: Minibatch, o: StepOptions): tf.Scalar {
  return tf.tidy(() => {
    const { b, k, f } = mb;
    const s = tf.tensor3d(mb.s, [b, k, f]);
    const m = tf.tensor2d(mb.mask, [b, k]);
    const s2 = tf.tensor3d(mb.s2, [b, k, f]);
    const m2 = tf.tensor2d(mb.mask2, [b, k]);
    const act = tf.oneHot(tf.tensor1d(mb.action, 'int32'), k);
    const y = tf.tidy(() => {
      const best = tf.argMax(online.apply(s2, m2), 1);
      const qNext = tf.sum(tf.mul(target.apply(s2, m2), tf.oneHot(best, k)), 1);
      return tf.add(tf.tensor1d(mb.reward), tf.mul(tf.mul(tf.sub(1, tf.tensor1d(mb.done)), o.gamma), qNext));
    });
    const { value, grads } = tf.variableGrads(() => {
      const q = tf.sum(tf.mul(online.apply(s, m), act), 1);
      return tf.losses.huberLoss(y, q, undefined, o.huberDelta) as tf.Scalar;
    }, online.varList);
    applyClipped(optimizer, grads, o.maxGradNorm);
    return value;
  });
}

/**
 * One full-information regression step (the warm start of trainer/dqn.ts, hp.warmStartDecisions): every
 * present candidate's output is pulled toward its own label (mb.labels), the loss averaged over the present
 * candidates. head 'q': Huber on Q against the one-step reward; with gamma = 0 this is the fixed point
 * trainStep aims at, reached with K labels per decision instead of one. head 'hit-logit': logistic loss
 * (sigmoid cross-entropy) of the output as a logit against the soft hit in [0, 1]. No target network.
 * Returns the loss as a scalar tensor.
 */
export function regressStep(online: QNetwork, optimizer: tf.Optimizer, mb: Minibatch, maxGradNorm: number, huberDelta = 1, head: Head = 'q'): tf.Scalar {
  return tf.tidy(() => {
    const { b, k, f } = mb;
    const s = tf.tensor3d(mb.s, [b, k, f]);
    const m = tf.tensor2d(mb.mask, [b, k]);
    const y = tf.tensor2d(mb.labels, [b, k]);
    const { value, grads } = tf.variableGrads(() => (head === 'hit-logit'
      ? tf.losses.sigmoidCrossEntropy(y, online.apply(s, m), m)
      : tf.losses.huberLoss(y, online.apply(s, m), m, huberDelta)) as tf.Scalar, online.varList);
    applyClipped(optimizer, grads, maxGradNorm);
    return value;
  });
}

/** Scales gradients to a global norm of at most maxGradNorm (0 or less: no clipping, as the fused GPU step) and applies them. */
function applyClipped(optimizer: tf.Optimizer, grads: tf.NamedTensorMap, maxGradNorm: number): void {
  if (!(maxGradNorm > 0)) { optimizer.applyGradients(grads); return; }
  const names = Object.keys(grads);
  // pairwise adds, not addN: an 8-input addN needs 9 storage buffers, more than Dawn's OpenGL ES path allows
  const norm = tf.sqrt(names.map((n) => tf.sum(tf.square(grads[n]!))).reduce((a, b) => tf.add(a, b)));
  const scale = tf.minimum(1, tf.div(maxGradNorm, tf.add(norm, 1e-6)));
  const clipped: tf.NamedTensorMap = {};
  for (const n of names) clipped[n] = tf.mul(grads[n]!, scale);
  optimizer.applyGradients(clipped);
}
