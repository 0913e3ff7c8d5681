/**
 * The DQN training step built for the GPU (issue 7), on any tfjs backend, with trainer/model.ts's maths:
 * the network of trainer/network.ts (per-candidate dueling MLP, masked mean value head),
 *   Double-DQN target  y = r + gamma * (1 - done) * Q_target(s', argmax_{i in mask'} Q_online(s', i)),
 *   Huber loss (delta cfg.huberDelta = hp.huberDelta, default 1; mean over the batch) on Q_online(s, a),
 *   gradients clipped to a global norm (maxGradNorm), Adam with tfjs's AdamOptimizer arithmetic
 *   (m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps));
 *   and the warm start's regression step (model.ts regressStep): every present candidate's output pulled to
 *   its label, summed over present candidates / their count: Huber for head 'q', logistic loss (the output as
 *   a logit, dLoss/dQ = sigmoid(Q) - label) for head 'hit-logit' (cfg.head = hp.objective).
 * test/gpu/webgpu.test.ts checks it number for number against model.ts (trainer/learner.ts), so a change of
 * the trainer's loss that is not made here fails there.
 *
 * Why it is fast on a GPU (../shared/reference/gpu-webgpu.md: a tfjs-webgpu step costs ~30 ms of fixed
 * overhead whatever the batch):
 *  - the replay buffer lives on the device as tensors, uploaded in big blocks (setReplay, or allocRing +
 *    writeRing for the trainer's ring); a step uploads only its sample indices and gathers rows there;
 *  - 'fused' mode: hand-written backward pass (no tape), fused matMul+bias+relu, the masked means as
 *    batched matMuls, all weights in ONE flat tensor so clipping and Adam are ~15 element-wise ops in total
 *    instead of ~12 per weight, the target network's weight views made once per sync;
 *  - weight-gradient matMuls with a huge inner dimension (B*K rows) split into S partial products
 *    (splitK) so that the GPU gets enough workgroups;
 *  - nothing is read back during training: the loss is kept when asked and read with readLoss().
 * 'autodiff' mode is the plain tfjs way (variableGrads + tf.train.adam on eight variables): the reference the
 * fused mode is tested against, and the baseline of the benchmark.
 *
 * Usage (bench): t = new GpuStep(tf, w, { k: 32, batch: 4096 }, 'fused'); t.setReplay(block);
 *   for (...) t.step(indices);  await t.readLoss(); await t.readWeights(); t.dispose();
 * Usage (trainer, trainer/learner.ts): t.allocRing(capacity); t.writeRing(src, from, count);
 *   t.step(rows, nextRows, regress, keepLoss); t.syncTarget();
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import type { ReplayBuffer } from './dqn.js';
import { WEIGHT_NAMES, weightShapes, type Head, type NetworkWeights, type WeightName } from './network.js';

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
  /** Huber threshold of the TD error (tf.losses.huberLoss's default 1). */
  huberDelta: number;
  /** What the regression step fits (trainer/network.ts Head): Huber on Q ('q') or logistic loss on a logit ('hit-logit'). */
  head: Head;
  /** Global-norm gradient clip (model.ts applyClipped); 0 = none. */
  maxGradNorm: number;
  /** Copy the online weights to the target network every this many steps (0: only when syncTarget() is called). */
  targetSync: number;
  /** Keep the loss of every this-many-th step (0: never) when step() is not told; read it with readLoss(). */
  lossEvery: number;
  /** Split weight-gradient matMuls over this many row blocks (1 = one matMul; 1 too when it does not divide
   *  batch*k). 32 measured best on the H200: 151 vs 110 steps/s at batch 4096, 90 vs 32 at 16384. */
  splitK: number;
}

export const DEFAULT_STEP_CONFIG: StepConfig = {
  k: 32, batch: 4096, gamma: 0.9, lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, huberDelta: 1, head: 'q', maxGradNorm: 10,
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

/** Host transitions in the trainer's ring layout (trainer/dqn.ts ReplayBuffer): row i's next state is row i + 1;
 *  n = candidates present per row, labels = per-candidate labels of the regression step. */
export type RingSource = Pick<ReplayBuffer, 'capacity' | 's' | 'n' | 'action' | 'reward' | 'done' | 'labels'>;

export type StepMode = 'fused' | 'autodiff';

type Weights = Record<WeightName, T>;

/**
 * Device-side replay table: one tensor per field, one row per state. A transition is a pair of rows
 * (row, next row): setReplay stores s' rows after the n s rows (next = row + n), a ring stores the trainer's
 * layout (next = row + 1 mod capacity). onehot/reward/done/labels belong to the transition's first row.
 */
interface Replay { x: T2; mask: T2; onehot: T2; reward: T2; done: T2; labels: T2 | null; rows: number; pairOffset: number }

const REPLAY_FIELDS = ['x', 'mask', 'onehot', 'reward', 'done', 'labels'] as const;

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
  private readonly c: Record<'one' | 'big' | 'gamma' | 'half' | 'delta' | 'invB' | 'b1' | 'nb1' | 'b2' | 'nb2' | 'eps' | 'lr' | 'clip' | 'tiny', T>;
  private readonly shapes: Record<WeightName, number[]>;

  /** `targetW`: the target network's initial weights (default: a copy of `w`). */
  constructor(private readonly tf: Tf, w: NetworkWeights, cfg: Partial<StepConfig>, readonly mode: StepMode = 'fused', targetW?: NetworkWeights) {
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
    const flat = this.flatten(w);
    // tidy: the variable keeps its starting value, the tensor made for it goes
    if (mode === 'fused') {
      this.theta = tf.tidy(() => tf.variable(tf.tensor1d(flat), false, 'theta'));
      this.m = tf.tidy(() => tf.variable(tf.zeros([p]), false, 'adam_m'));
      this.v = tf.tidy(() => tf.variable(tf.zeros([p]), false, 'adam_v'));
    } else {
      const vars = {} as Record<WeightName, tfNs.Variable>;
      for (const name of WEIGHT_NAMES) vars[name] = tf.tidy(() => tf.variable(tf.tensor(w[name], this.shapes[name]), true, name));
      this.vars = vars;
      this.opt = tf.train.adam(this.cfg.lr, this.cfg.beta1, this.cfg.beta2, this.cfg.epsilon);
    }
    this.target = this.viewsOf(tf.tensor1d(targetW ? this.flatten(targetW) : flat));
    const c = this.cfg;
    this.c = {
      one: tf.scalar(1), big: tf.scalar(1e9), gamma: tf.scalar(c.gamma), half: tf.scalar(0.5), delta: tf.scalar(c.huberDelta),
      invB: tf.scalar(1 / c.batch), b1: tf.scalar(c.beta1), nb1: tf.scalar(1 - c.beta1), b2: tf.scalar(c.beta2),
      nb2: tf.scalar(1 - c.beta2), eps: tf.scalar(c.epsilon), lr: tf.scalar(c.lr), clip: tf.scalar(c.maxGradNorm), tiny: tf.scalar(1e-6),
    };
  }

  private flatten(w: NetworkWeights): Float32Array {
    const names = WEIGHT_NAMES;
    const last = this.offsets[names[names.length - 1]!];
    const flat = new Float32Array(last[0] + last[1]);
    for (const name of names) flat.set(w[name], this.offsets[name][0]);
    return flat;
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

  /** Uploads a block of transitions as the whole replay buffer (one upload per field); step(indices) then
   *  pairs row i with its s' row. */
  setReplay(b: TransitionBlock): void {
    this.disposeReplay();
    const tf = this.tf;
    const { k } = this.cfg;
    const kf = k * this.f, n = b.n;
    const x = new Float32Array(2 * n * kf), mask = new Float32Array(2 * n * k);
    x.set(b.x.subarray(0, n * kf)); x.set(b.x2.subarray(0, n * kf), n * kf);
    mask.set(b.mask.subarray(0, n * k)); mask.set(b.mask2.subarray(0, n * k), n * k);
    const onehot = new Float32Array(n * k);
    for (let i = 0; i < n; i++) onehot[i * k + b.action[i]!] = 1;
    this.replay = {
      x: tf.tensor2d(x, [2 * n, kf]), mask: tf.tensor2d(mask, [2 * n, k]), onehot: tf.tensor2d(onehot, [n, k]),
      reward: tf.tensor2d(b.reward.subarray(0, n), [n, 1]), done: tf.tensor2d(b.done.subarray(0, n), [n, 1]),
      labels: null, rows: n, pairOffset: n,
    };
  }

  /** Allocates an empty ring replay table of `capacity` rows (the trainer's layout, trainer/dqn.ts ReplayBuffer). */
  allocRing(capacity: number): void {
    this.disposeReplay();
    const tf = this.tf;
    const k = this.cfg.k;
    this.replay = {
      x: tf.zeros([capacity, k * this.f]), mask: tf.zeros([capacity, k]), onehot: tf.zeros([capacity, k]),
      reward: tf.zeros([capacity, 1]), done: tf.zeros([capacity, 1]), labels: tf.zeros([capacity, k]), rows: capacity, pairOffset: -1,
    };
  }

  /** Copies ring rows [from, from + count) of `src` (same capacity, no wrap) to the device: one upload per field. */
  writeRing(src: RingSource, from: number, count: number): void {
    const rp = this.replay;
    if (!rp || rp.pairOffset !== -1 || src.capacity !== rp.rows) throw new Error('GpuStep.writeRing: allocRing(capacity) first');
    if (count <= 0) return;
    const tf = this.tf;
    const k = this.cfg.k, kf = k * this.f, to = from + count;
    const mask = new Float32Array(count * k), onehot = new Float32Array(count * k), done = new Float32Array(count);
    for (let r = 0; r < count; r++) {
      mask.fill(1, r * k, r * k + src.n[from + r]!);
      onehot[r * k + src.action[from + r]!] = 1;
      done[r] = src.done[from + r]!;
    }
    const add: Record<(typeof REPLAY_FIELDS)[number], T2> = {
      x: tf.tensor2d(src.s.subarray(from * kf, to * kf), [count, kf]), mask: tf.tensor2d(mask, [count, k]),
      onehot: tf.tensor2d(onehot, [count, k]), reward: tf.tensor2d(src.reward.subarray(from, to), [count, 1]),
      done: tf.tensor2d(done, [count, 1]), labels: tf.tensor2d(src.labels.subarray(from * k, to * k), [count, k]),
    };
    for (const name of REPLAY_FIELDS) {
      const old = rp[name]!;
      const parts: T2[] = [];
      if (from > 0) parts.push(tf.slice(old, [0, 0], [from, -1]));
      parts.push(add[name]);
      if (to < rp.rows) parts.push(tf.slice(old, [to, 0], [rp.rows - to, -1]));
      rp[name] = parts.length === 1 ? add[name] : tf.concat(parts, 0);
      if (parts.length > 1) for (const t of parts) t.dispose();
      old.dispose();
    }
  }

  get replaySize(): number { return this.replay ? this.replay.rows : 0; }

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

  /** Double-DQN target y [B,1]: the online network picks the next action, the target network values it (no gradient). */
  private tdTarget(w: Weights, x2: T2, mask2: T2, reward: T2, done: T2): T2 {
    const tf = this.tf;
    const c = this.c;
    const pad = tf.mul(tf.sub(mask2, c.one), c.big); // padded slots -> about -1e9
    // int32 one-hot cast: tfjs-wasm 4.22's oneHot with dtype 'float32' writes integer bits
    const best = tf.cast(tf.oneHot(tf.argMax(tf.add(this.forward(w, x2, mask2).q, pad), 1), this.cfg.k), 'float32');
    const qNext = tf.sum(tf.mul(this.forward(this.target, x2, mask2).q, best), 1, true);
    return tf.add(reward, tf.mul(tf.mul(tf.sub(c.one, done), c.gamma), qNext)) as T2;
  }

  /** Element-wise Huber of d (tf.losses.huberLoss's formula). */
  private huber(d: T): T {
    const tf = this.tf;
    const dl = this.c.delta;
    const ad = tf.abs(d);
    const quad = tf.minimum(ad, dl);
    return tf.add(tf.mul(tf.square(quad), this.c.half), tf.mul(tf.sub(ad, quad), dl));
  }

  /** Element-wise logistic loss of logit q against label y in [0, 1]: softplus(q) - y q, in a stable form. */
  private logistic(q: T, y: T): T {
    const tf = this.tf;
    return tf.sub(tf.add(tf.relu(q), tf.log1p(tf.exp(tf.neg(tf.abs(q))))), tf.mul(y, q));
  }

  /** sum over rows of a^T b for a [N, P], b [N, Q] -> [P, Q], split into splitK partial products. */
  private matMulTN(a: T2, b: T2): T2 {
    const tf = this.tf;
    const s = this.cfg.splitK;
    if (s <= 1 || a.shape[0] % s !== 0) return tf.matMul(a, b, true, false);
    const n = a.shape[0] / s;
    const parts = tf.matMul(a.reshape([s, n, a.shape[1]]) as tfNs.Tensor3D, b.reshape([s, n, b.shape[1]]) as tfNs.Tensor3D, true, false);
    return tf.sum(parts, 0) as T2;
  }

  /**
   * One training step on the transitions (rows[i], next[i]) of the replay table; `next` defaults to the
   * setReplay pairing. regress: the warm start's regression step (ring tables only). keepLoss: keep this
   * step's loss for readLoss() (default: every lossEvery-th step). Nothing is read back.
   */
  step(rows: Int32Array, next: Int32Array | null = null, regress = false, keepLoss?: boolean): void {
    const rp = this.replay;
    if (!rp) throw new Error('GpuStep.step: no replay buffer (setReplay or allocRing first)');
    if (regress && !rp.labels) throw new Error('GpuStep.step: the regression step needs a ring table (labels)');
    const tf = this.tf;
    const cfg = this.cfg;
    this.steps++;
    const keep = keepLoss ?? (cfg.lossEvery > 0 && this.steps % cfg.lossEvery === 0);
    const idx = tf.tensor1d(rows, 'int32');
    const nidx = regress ? null : next ? tf.tensor1d(next, 'int32') : tf.tidy(() => tf.add(idx, tf.scalar(rp.pairOffset, 'int32')));
    const kept = this.mode === 'autodiff' ? this.autodiffStep(idx, nidx, keep) : tf.tidy(() => this.fusedStep(idx, nidx, keep)) as T | undefined;
    if (kept) this.keep(kept);
    idx.dispose();
    nidx?.dispose();
    if (cfg.targetSync > 0 && this.steps % cfg.targetSync === 0) this.syncTarget();
  }

  private keep(loss: T): void {
    this.lossT?.dispose();
    this.lossT = loss;
    this.lossStep = this.steps;
  }

  /** The loss of one step and what its gradient needs: dLoss/dV [B,1] and dLoss/dA [B,K] (Q = A + V - mean_mask(A)). */
  private lossAndHeads(w: Weights, idx: T, nidx: T | null, keep: boolean) {
    const tf = this.tf;
    const rp = this.replay!;
    const c = this.c, dl = this.cfg.huberDelta;
    const mask = tf.gather(rp.mask, idx) as T2;
    const fw = this.forward(w, tf.gather(rp.x, idx) as T2, mask);
    let loss: T | undefined, dV: T2, dA: T2;
    if (!nidx) {
      // regression (model.ts regressStep): Huber (or logistic) loss on every present candidate, summed / count of present ones
      const y = tf.gather(rp.labels!, idx);
      const invCnt = tf.div(c.one, tf.maximum(tf.sum(mask), c.one));
      const logit = this.cfg.head === 'hit-logit';
      const d = logit ? tf.sub(tf.sigmoid(fw.q), y) : tf.sub(fw.q, y);
      if (keep) loss = tf.mul(tf.sum(tf.mul(logit ? this.logistic(fw.q, y) : this.huber(d), mask)), invCnt);
      const dQ = tf.mul(tf.mul(logit ? d : tf.clipByValue(d, -dl, dl), mask), invCnt) as T2;
      dV = tf.sum(dQ, 1, true) as T2;
      dA = tf.sub(dQ, tf.mul(fw.wmask, dV)) as T2;
    } else {
      // TD (model.ts trainStep): mean Huber on Q(s, a) - y
      const y = this.tdTarget(w, tf.gather(rp.x, nidx) as T2, tf.gather(rp.mask, nidx) as T2, tf.gather(rp.reward, idx) as T2, tf.gather(rp.done, idx) as T2);
      const oh = tf.gather(rp.onehot, idx);
      const d = tf.sub(tf.sum(tf.mul(fw.q, oh), 1, true), y);
      if (keep) loss = tf.mean(this.huber(d));
      const bsz = idx.shape[0]!;
      dV = tf.mul(tf.clipByValue(d, -dl, dl), bsz === this.cfg.batch ? c.invB : tf.scalar(1 / bsz)) as T2; // [B,1]
      dA = tf.mul(tf.sub(oh, fw.wmask), dV) as T2;
    }
    return { fw, loss, dV, dA };
  }

  private autodiffStep(idx: T, nidx: T | null, keep: boolean): T | undefined {
    const tf = this.tf;
    const vars = this.vars!;
    const rp = this.replay!;
    return tf.tidy(() => {
      const y = nidx ? tf.tidy(() => this.tdTarget(vars, tf.gather(rp.x, nidx) as T2, tf.gather(rp.mask, nidx) as T2, tf.gather(rp.reward, idx) as T2, tf.gather(rp.done, idx) as T2)) : null;
      const { value, grads } = tf.variableGrads(() => {
        const mask = tf.gather(rp.mask, idx) as T2;
        const q = this.forward(vars, tf.gather(rp.x, idx) as T2, mask).q;
        if (!y) {
          const labels = tf.gather(rp.labels!, idx);
          const l = this.cfg.head === 'hit-logit' ? this.logistic(q, labels) : this.huber(tf.sub(q, labels));
          return tf.div(tf.sum(tf.mul(l, mask)), tf.maximum(tf.sum(mask), 1)) as tfNs.Scalar;
        }
        return tf.mean(this.huber(tf.sub(tf.sum(tf.mul(q, tf.gather(rp.onehot, idx)), 1, true), y))) as tfNs.Scalar;
      }, WEIGHT_NAMES.map((n) => vars[n]));
      let scaled = grads;
      if (this.cfg.maxGradNorm > 0) {
        const names = Object.keys(grads);
        // pairwise adds, not addN: Dawn's OpenGL ES path has too few storage buffers for an 8-input addN
        const norm = tf.sqrt(names.map((n) => tf.sum(tf.square(grads[n]!))).reduce((a, b) => tf.add(a, b)));
        const scale = tf.minimum(1, tf.div(this.cfg.maxGradNorm, tf.add(norm, 1e-6)));
        scaled = {};
        for (const n of names) scaled[n] = tf.mul(grads[n]!, scale);
      }
      (this.opt! as tfNs.Optimizer).applyGradients(scaled);
      return keep ? tf.keep(value) : undefined;
    });
  }

  private fusedStep(idx: T, nidx: T | null, keep: boolean): T | undefined {
    const tf = this.tf;
    const cfg = this.cfg;
    const bsz = idx.shape[0]!;
    const k = cfg.k;
    const w = this.online();
    const { fw, loss, dV, dA } = this.lossAndHeads(w, idx, nidx, keep);
    const c = this.c;
    const dAf = dA.reshape([bsz * k, 1]) as T2;
    const dwv = tf.matMul(fw.hm, dV, true, false);
    const dbv = tf.sum(dV, 0);
    const dHm = tf.matMul(dV, w.wv as T2, false, true); // [B,H]
    const dH2 = tf.add(
      tf.matMul(dAf, w.wa as T2, false, true),
      tf.matMul(fw.wmask.reshape([bsz, k, 1]) as tfNs.Tensor3D, dHm.reshape([bsz, 1, this.h]) as tfNs.Tensor3D).reshape([bsz * k, this.h]),
    ) as T2;
    const dwa = this.matMulTN(fw.h2 as T2, dAf);
    // dLoss/dba = sum(dA) = 0 exactly (ba cancels in Q): leave ba where it is
    const dba = tf.zeros([1]);
    const dZ2 = tf.mul(dH2, tf.step(fw.h2)) as T2;
    const dW2 = this.matMulTN(fw.h1 as T2, dZ2);
    const db2 = tf.sum(dZ2, 0);
    const dZ1 = tf.mul(tf.matMul(dZ2, w.w2 as T2, false, true), tf.step(fw.h1)) as T2;
    const dW1 = this.matMulTN(fw.x, dZ1);
    const db1 = tf.sum(dZ1, 0);
    let grad = tf.concat([dW1, db1, dW2, db2, dwa, dba, dwv, dbv].map((t) => t.reshape([-1])));
    if (cfg.maxGradNorm > 0) {
      // global-norm clip, model.ts's formula: g * min(1, maxNorm / (|g| + 1e-6))
      const norm = tf.sqrt(tf.sum(tf.square(grad)));
      grad = tf.mul(grad, tf.minimum(c.one, tf.div(c.clip, tf.add(norm, c.tiny))));
    }
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

  /** The loss kept last (reads it back: a sync point); NaN when none yet. */
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
    if (this.theta) return this.unflatten((await this.theta.data()) as Float32Array);
    const out = { f: this.f, h: this.h } as NetworkWeights;
    for (const name of WEIGHT_NAMES) out[name] = ((await this.vars![name].data()) as Float32Array).slice();
    return out;
  }

  /** Reads the target network's weights back. */
  async readTarget(): Promise<NetworkWeights> {
    const out = { f: this.f, h: this.h } as NetworkWeights;
    for (const name of WEIGHT_NAMES) out[name] = ((await this.target[name].data()) as Float32Array).slice();
    return out;
  }

  private unflatten(flat: Float32Array): NetworkWeights {
    const out = { f: this.f, h: this.h } as NetworkWeights;
    for (const name of WEIGHT_NAMES) {
      const [o, len] = this.offsets[name];
      out[name] = flat.slice(o, o + len);
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
    for (const name of REPLAY_FIELDS) r[name]?.dispose();
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
