/**
 * The DQN training step built for the GPU (issue 7), on any tfjs backend: the same network maths as
 * trainer/network.ts (per-candidate dueling MLP, masked mean value head), Huber TD loss on
 *   y = r + gamma * (1 - done) * max_{i in mask'} Q_target(s', i)
 * and Adam (tfjs's AdamOptimizer arithmetic: m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps)).
 *
 * Why it is fast on a GPU (../shared/reference/gpu-webgpu.md: a tfjs-webgpu step costs ~30 ms of fixed
 * overhead whatever the batch):
 *  - the replay buffer lives on the device as tensors, uploaded in big blocks (setReplay/appendReplay);
 *    a step uploads only its B sample indices (4 B bytes) and gathers rows there;
 *  - 'fused' mode: hand-written backward pass (no tape), fused matMul+bias+relu, the masked means as
 *    batched matMuls, all weights in ONE flat tensor so Adam is ~12 element-wise ops in total instead of
 *    ~12 per weight, the target network's weight views made once per sync: about 60 dispatches per step;
 *  - weight-gradient matMuls with a huge inner dimension (B*K rows) split into S partial products
 *    (splitK) so that the GPU gets enough workgroups;
 *  - nothing is read back during training: lossTensor is kept every `lossEvery` steps and read when asked.
 * 'autodiff' mode is the plain tfjs way (variableGrads + tf.train.adam on eight variables): the reference the
 * fused mode is tested against, and the baseline of the benchmark.
 *
 * Usage:
 *   const t = new GpuStep(tf, initWeights(F, H, rng), { k: 32, batch: 4096 }, 'fused');
 *   t.setReplay(block);             // TransitionBlock in host memory -> device
 *   for (...) t.step(indices);      // Int32Array(batch) of rows of the replay buffer
 *   await t.readLoss();  await t.readWeights();  t.dispose();
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import { WEIGHT_NAMES, weightShapes, type NetworkWeights, type WeightName } from './network.js';

type T = tfNs.Tensor;
type T2 = tfNs.Tensor2D;

export interface StepConfig {
  /** Candidates per decision (K); rows of a state. */
  k: number;
  /** Transitions per step (B). */
  batch: number;
  /** Discount. */
  gamma: number;
  /** Adam learning rate. */
  lr: number;
  beta1: number;
  beta2: number;
  /** Adam epsilon (tfjs's float32 default). */
  epsilon: number;
  /** Huber threshold of the TD error. */
  huberDelta: number;
  /** Copy the online weights to the target network every this many steps. */
  targetSync: number;
  /** Keep the loss of every this-many-th step (0: never); read it with readLoss(). */
  lossEvery: number;
  /** Split weight-gradient matMuls over this many row blocks (1 = one matMul; 1 too when it does not divide
   *  batch*k). 32 measured best on the H200: 151 vs 110 steps/s at batch 4096, 90 vs 32 at 16384. */
  splitK: number;
}

export const DEFAULT_STEP_CONFIG: StepConfig = {
  k: 32, batch: 4096, gamma: 0.9, lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, huberDelta: 1,
  targetSync: 250, lossEvery: 50, splitK: 32,
};

/** Transitions in host memory, row-major: x[n][k][f], mask[n][k] (1 present, 0 padding), one row each. */
export interface TransitionBlock {
  n: number;
  x: Float32Array;
  mask: Float32Array;
  action: Int32Array;
  reward: Float32Array;
  x2: Float32Array;
  mask2: Float32Array;
  done: Float32Array;
}

export type StepMode = 'fused' | 'autodiff';

type Weights = Record<WeightName, T>;

/** Device-side replay buffer: one tensor per field, rows = transitions. */
interface Replay { x: T2; mask: T2; onehot: T2; x2: T2; mask2: T2; reward: T2; done: T2; n: number }

export class GpuStep {
  readonly cfg: StepConfig;
  readonly f: number;
  readonly h: number;
  /** Steps taken. */
  steps = 0;
  private replay: Replay | null = null;
  /** fused: flat parameters [P], Adam moments [P]; autodiff: eight variables and tfjs's Adam. */
  private theta: tfNs.Variable | null = null;
  private m: tfNs.Variable | null = null;
  private v: tfNs.Variable | null = null;
  private vars: Record<WeightName, tfNs.Variable> | null = null;
  private opt: tfNs.AdamOptimizer | null = null;
  private target: Weights;
  private lossT: T | null = null;
  private lossStep = -1;
  private readonly offsets: Record<WeightName, [number, number]>;
  /** Scalars made once (a number operand would be a new tensor, an upload, on every op of every step). */
  private readonly c: Record<'one' | 'big' | 'gamma' | 'half' | 'delta' | 'invB' | 'b1' | 'nb1' | 'b2' | 'nb2' | 'eps' | 'lr', T>;
  private readonly shapes: Record<WeightName, number[]>;

  constructor(private readonly tf: Tf, w: NetworkWeights, cfg: Partial<StepConfig>, readonly mode: StepMode = 'fused') {
    this.cfg = { ...DEFAULT_STEP_CONFIG, ...cfg };
    this.f = w.f;
    this.h = w.h;
    if (!(this.cfg.splitK >= 1) || (this.cfg.batch * this.cfg.k) % this.cfg.splitK !== 0) this.cfg.splitK = 1;
    this.shapes = weightShapes(w.f, w.h);
    this.offsets = {} as Record<WeightName, [number, number]>;
    let p = 0;
    for (const name of WEIGHT_NAMES) {
      const len = this.shapes[name].reduce((a, b) => a * b, 1);
      this.offsets[name] = [p, len];
      p += len;
    }
    const flat = new Float32Array(p);
    for (const name of WEIGHT_NAMES) flat.set(w[name], this.offsets[name][0]);
    if (mode === 'fused') {
      this.theta = tf.variable(tf.tensor1d(flat), false, 'theta');
      this.m = tf.variable(tf.zeros([p]), false, 'adam_m');
      this.v = tf.variable(tf.zeros([p]), false, 'adam_v');
    } else {
      const vars = {} as Record<WeightName, tfNs.Variable>;
      for (const name of WEIGHT_NAMES) vars[name] = tf.variable(tf.tensor(w[name], this.shapes[name]), true, name);
      this.vars = vars;
      this.opt = tf.train.adam(this.cfg.lr, this.cfg.beta1, this.cfg.beta2, this.cfg.epsilon);
    }
    this.target = this.viewsOf(tf.tensor1d(flat));
    const c = this.cfg;
    this.c = {
      one: tf.scalar(1), big: tf.scalar(1e9), gamma: tf.scalar(c.gamma), half: tf.scalar(0.5), delta: tf.scalar(c.huberDelta),
      invB: tf.scalar(1 / c.batch), b1: tf.scalar(c.beta1), nb1: tf.scalar(1 - c.beta1), b2: tf.scalar(c.beta2),
      nb2: tf.scalar(1 - c.beta2), eps: tf.scalar(c.epsilon), lr: tf.scalar(c.lr),
    };
  }

  /** Weight tensors viewed out of a flat [P] tensor (keeps them; the flat one is disposed). */
  private viewsOf(flat: T): Weights {
    const tf = this.tf;
    const out = {} as Weights;
    for (const name of WEIGHT_NAMES) {
      const [o, len] = this.offsets[name];
      out[name] = tf.tidy(() => tf.slice(flat, o, len).reshape(this.shapes[name]));
    }
    flat.dispose();
    return out;
  }

  private online(): Weights {
    if (this.vars) return this.vars;
    const tf = this.tf;
    const out = {} as Weights;
    for (const name of WEIGHT_NAMES) {
      const [o, len] = this.offsets[name];
      out[name] = tf.slice(this.theta!, o, len).reshape(this.shapes[name]);
    }
    return out;
  }

  /** Uploads a block of transitions as the whole replay buffer (one upload per field). */
  setReplay(b: TransitionBlock): void {
    this.disposeReplay();
    this.replay = this.upload(b);
  }

  /** Appends a block on the device (one upload per field, one device-side concat). */
  appendReplay(b: TransitionBlock): void {
    if (!this.replay) { this.setReplay(b); return; }
    const tf = this.tf;
    const add = this.upload(b);
    const old = this.replay;
    const cat = (a: T2, c: T2) => tf.concat([a, c], 0) as T2;
    this.replay = {
      x: cat(old.x, add.x), mask: cat(old.mask, add.mask), onehot: cat(old.onehot, add.onehot),
      x2: cat(old.x2, add.x2), mask2: cat(old.mask2, add.mask2), reward: cat(old.reward, add.reward),
      done: cat(old.done, add.done), n: old.n + add.n,
    };
    for (const r of [old, add]) for (const t of [r.x, r.mask, r.onehot, r.x2, r.mask2, r.reward, r.done]) t.dispose();
  }

  get replaySize(): number { return this.replay ? this.replay.n : 0; }

  private upload(b: TransitionBlock): Replay {
    const tf = this.tf;
    const { k } = this.cfg;
    const kf = k * this.f;
    const onehot = new Float32Array(b.n * k);
    for (let i = 0; i < b.n; i++) onehot[i * k + b.action[i]!] = 1;
    return {
      x: tf.tensor2d(b.x.subarray(0, b.n * kf), [b.n, kf]), mask: tf.tensor2d(b.mask.subarray(0, b.n * k), [b.n, k]),
      onehot: tf.tensor2d(onehot, [b.n, k]),
      x2: tf.tensor2d(b.x2.subarray(0, b.n * kf), [b.n, kf]), mask2: tf.tensor2d(b.mask2.subarray(0, b.n * k), [b.n, k]),
      reward: tf.tensor2d(b.reward.subarray(0, b.n), [b.n, 1]), done: tf.tensor2d(b.done.subarray(0, b.n), [b.n, 1]),
      n: b.n,
    };
  }

  /**
   * Network forward pass over [B, K*F] states with [B, K] masks: Q [B, K] and what the backward pass needs.
   * Same maths as network.ts Forward (masked slots keep finite values here; callers mask them).
   */
  private forward(w: Weights, xs: T2, mask: T2) {
    const tf = this.tf;
    const { k } = this.cfg;
    const b = xs.shape[0];
    const h = this.h;
    const x = xs.reshape([b * k, this.f]) as T2;
    const h1 = tf.fused.matMul({ a: x, b: w.w1 as T2, bias: w.b1, activation: 'relu' });
    const h2 = tf.fused.matMul({ a: h1, b: w.w2 as T2, bias: w.b2, activation: 'relu' });
    const a = tf.fused.matMul({ a: h2, b: w.wa as T2, bias: w.ba }).reshape([b, k]) as T2;
    const wmask = tf.div(mask, tf.maximum(tf.sum(mask, 1, true), this.c.one)) as T2; // mask / count
    // masked mean of h2 over the candidates: [B,1,K] x [B,K,H] -> [B,1,H]
    const hm = tf.matMul(wmask.reshape([b, 1, k]) as tfNs.Tensor3D, h2.reshape([b, k, h]) as tfNs.Tensor3D).reshape([b, h]) as T2;
    const v = tf.fused.matMul({ a: hm, b: w.wv as T2, bias: w.bv });
    const abar = tf.sum(tf.mul(a, wmask), 1, true);
    const q = tf.add(a, tf.sub(v, abar)) as T2;
    return { x, h1, h2, hm, wmask, q };
  }

  /** TD target y [B,1] from the target network (no gradient). */
  private tdTarget(x2: T2, mask2: T2, reward: T2, done: T2): T2 {
    const tf = this.tf;
    const q2 = this.forward(this.target, x2, mask2).q;
    const c = this.c;
    const masked = tf.add(q2, tf.mul(tf.sub(mask2, c.one), c.big)); // padded slots -> about -1e9
    const best = tf.max(masked, 1, true);
    return tf.add(reward, tf.mul(tf.mul(tf.sub(c.one, done), c.gamma), best)) as T2;
  }

  private huberMean(d: T): T {
    const tf = this.tf;
    const dl = this.c.delta;
    const ad = tf.abs(d);
    const quad = tf.minimum(ad, dl);
    return tf.mean(tf.add(tf.mul(tf.square(quad), this.c.half), tf.mul(tf.sub(ad, quad), dl)));
  }

  /** sum over rows of a^T b for a [N, P], b [N, Q] -> [P, Q], split into splitK partial products. */
  private matMulTN(a: T2, b: T2): T2 {
    const tf = this.tf;
    const s = this.cfg.splitK;
    if (s <= 1) return tf.matMul(a, b, true, false);
    const n = a.shape[0] / s;
    const parts = tf.matMul(a.reshape([s, n, a.shape[1]]) as tfNs.Tensor3D, b.reshape([s, n, b.shape[1]]) as tfNs.Tensor3D, true, false);
    return tf.sum(parts, 0) as T2;
  }

  /** One training step on replay rows `indices` (length batch). Nothing is read back. */
  step(indices: Int32Array): void {
    const rp = this.replay;
    if (!rp) throw new Error('GpuStep.step: no replay buffer (setReplay first)');
    const tf = this.tf;
    const cfg = this.cfg;
    this.steps++;
    const keepLoss = cfg.lossEvery > 0 && this.steps % cfg.lossEvery === 0;
    const idx = tf.tensor1d(indices, 'int32');
    if (this.mode === 'autodiff') {
      const vars = this.vars!;
      const loss = this.opt!.minimize(() => {
        const xs = tf.gather(rp.x, idx), mask = tf.gather(rp.mask, idx), oh = tf.gather(rp.onehot, idx);
        const y = this.tdTarget(tf.gather(rp.x2, idx), tf.gather(rp.mask2, idx), tf.gather(rp.reward, idx), tf.gather(rp.done, idx));
        const q = tf.sum(tf.mul(this.forward(vars, xs, mask).q, oh), 1, true);
        return this.huberMean(tf.sub(q, y)) as tfNs.Scalar;
      }, keepLoss, WEIGHT_NAMES.map((n) => vars[n]));
      if (loss) this.keep(loss);
    } else {
      const kept = tf.tidy(() => this.fusedStep(idx, keepLoss)) as T | undefined;
      if (kept) this.keep(kept);
    }
    idx.dispose();
    if (this.steps % cfg.targetSync === 0) this.syncTarget();
  }

  private keep(loss: T): void {
    this.lossT?.dispose();
    this.lossT = loss;
    this.lossStep = this.steps;
  }

  private fusedStep(idx: T, keepLoss: boolean): T | undefined {
    const tf = this.tf;
    const cfg = this.cfg;
    const rp = this.replay!;
    const bsz = idx.shape[0]!;
    const k = cfg.k;
    const w = this.online();
    const xs = tf.gather(rp.x, idx), mask = tf.gather(rp.mask, idx), oh = tf.gather(rp.onehot, idx);
    const y = this.tdTarget(tf.gather(rp.x2, idx), tf.gather(rp.mask2, idx), tf.gather(rp.reward, idx), tf.gather(rp.done, idx));
    const fw = this.forward(w, xs, mask);
    const qa = tf.sum(tf.mul(fw.q, oh), 1, true); // [B,1]
    const d = tf.sub(qa, y);
    const loss = keepLoss ? this.huberMean(d) : undefined;
    // dLoss/dq_a for the mean Huber loss
    const c = this.c;
    const g = tf.mul(tf.clipByValue(d, -cfg.huberDelta, cfg.huberDelta), bsz === cfg.batch ? c.invB : tf.scalar(1 / bsz)) as T2; // [B,1]
    // Q = A + V - mean_mask(A):  dA = onehot*g - wmask*g ;  dV = g
    const dA = tf.mul(tf.sub(oh, fw.wmask), g) as T2;
    const dAf = dA.reshape([bsz * k, 1]) as T2;
    const dwv = tf.matMul(fw.hm, g, true, false);
    const dbv = tf.sum(g, 0);
    const dHm = tf.matMul(g, w.wv as T2, false, true); // [B,H]
    const dH2 = tf.add(
      tf.matMul(dAf, w.wa as T2, false, true),
      tf.matMul(fw.wmask.reshape([bsz, k, 1]) as tfNs.Tensor3D, dHm.reshape([bsz, 1, this.h]) as tfNs.Tensor3D).reshape([bsz * k, this.h]),
    ) as T2;
    const dwa = this.matMulTN(fw.h2 as T2, dAf);
    // dLoss/dba = sum(onehot*g - wmask*g) = 0 exactly (ba cancels in Q): leave ba where it is
    const dba = tf.zeros([1]);
    const dZ2 = tf.mul(dH2, tf.step(fw.h2)) as T2;
    const dW2 = this.matMulTN(fw.h1 as T2, dZ2);
    const db2 = tf.sum(dZ2, 0);
    const dZ1 = tf.mul(tf.matMul(dZ2, w.w2 as T2, false, true), tf.step(fw.h1)) as T2;
    const dW1 = this.matMulTN(fw.x, dZ1);
    const db1 = tf.sum(dZ1, 0);
    const grad = tf.concat([dW1, db1, dW2, db2, dwa, dba, dwv, dbv].map((t) => t.reshape([-1])));
    // Adam, tfjs's arithmetic, on the flat parameter vector
    const t = this.steps;
    const m = tf.add(tf.mul(this.m!, c.b1), tf.mul(grad, c.nb1));
    const v = tf.add(tf.mul(this.v!, c.b2), tf.mul(tf.square(grad), c.nb2));
    const mh = tf.div(m, tf.scalar(1 - Math.pow(cfg.beta1, t)));
    const vh = tf.div(v, tf.scalar(1 - Math.pow(cfg.beta2, t)));
    const upd = tf.div(mh, tf.add(tf.sqrt(vh), c.eps));
    this.theta!.assign(tf.sub(this.theta!, tf.mul(upd, c.lr)));
    this.m!.assign(m);
    this.v!.assign(v);
    return loss;
  }

  /** Copies the online weights to the target network (device-side). */
  syncTarget(): void {
    for (const name of WEIGHT_NAMES) this.target[name].dispose();
    const tf = this.tf;
    if (this.theta) {
      this.target = this.viewsOf(tf.clone(this.theta));
    } else {
      const t = {} as Weights;
      for (const name of WEIGHT_NAMES) t[name] = tf.clone(this.vars![name]);
      this.target = t;
    }
  }

  /** The loss kept at the last multiple of lossEvery (reads it back: a sync point); NaN when none yet. */
  async readLoss(): Promise<{ step: number; loss: number }> {
    if (!this.lossT) return { step: -1, loss: NaN };
    const d = await this.lossT.data();
    return { step: this.lossStep, loss: d[0]! };
  }

  /** Q-values of the online network for states [n, K*F] with masks (for checks; reads back). */
  async q(x: Float32Array, mask: Float32Array, n: number): Promise<Float32Array> {
    const tf = this.tf;
    const out = tf.tidy(() => {
      const w = this.online();
      return this.forward(w, tf.tensor2d(x, [n, this.cfg.k * this.f]), tf.tensor2d(mask, [n, this.cfg.k])).q;
    });
    const d = (await out.data()) as Float32Array;
    out.dispose();
    return d;
  }

  /** Reads the online weights back into a NetworkWeights (for Forward, ONNX export, checkpoints). */
  async readWeights(): Promise<NetworkWeights> {
    const out = { f: this.f, h: this.h } as NetworkWeights;
    if (this.theta) {
      const flat = (await this.theta.data()) as Float32Array;
      for (const name of WEIGHT_NAMES) {
        const [o, len] = this.offsets[name];
        out[name] = flat.slice(o, o + len);
      }
    } else {
      for (const name of WEIGHT_NAMES) out[name] = ((await this.vars![name].data()) as Float32Array).slice();
    }
    return out;
  }

  /** Waits until the device has finished all queued work (reads one number). */
  async sync(): Promise<void> {
    const t = this.theta ?? this.vars!.bv;
    const one = this.tf.slice(t, 0, 1);
    await one.data();
    one.dispose();
  }

  private disposeReplay(): void {
    const r = this.replay;
    if (!r) return;
    for (const t of [r.x, r.mask, r.onehot, r.x2, r.mask2, r.reward, r.done]) t.dispose();
    this.replay = null;
  }

  dispose(): void {
    this.disposeReplay();
    for (const name of WEIGHT_NAMES) this.target[name].dispose();
    this.theta?.dispose(); this.m?.dispose(); this.v?.dispose();
    if (this.vars) for (const name of WEIGHT_NAMES) this.vars[name].dispose();
    this.opt?.dispose();
    this.lossT?.dispose();
    for (const t of Object.values(this.c)) t.dispose();
  }
}
