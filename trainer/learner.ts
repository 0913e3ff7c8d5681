/**
 * The learner of trainer/dqn.ts: what takes gradient steps on the replay buffer. Two implementations of
 * one maths (Double DQN, Huber, global-norm clipping, Adam; and the warm start's regression step):
 *   TfjsLearner  trainer/model.ts trainStep/regressStep (tfjs autodiff) on a host-sampled minibatch, any backend;
 *   GpuLearner   trainer/gpu-step.ts GpuStep 'fused': the replay buffer mirrored on the device, uploaded in
 *                chunks; a step uploads only its 2 x B row indices; nothing is read back unless asked.
 * createLearner picks GpuLearner when the active tfjs backend is webgpu and hp.gpuStep is 'fused'.
 * test/gpu/webgpu.test.ts checks that both give the same losses and weights on the same samples.
 *
 * Upload chunks: the GPU learner samples only transitions already on the device. Rows pushed since the
 * last upload are uploaded when they reach 1/UPLOAD_FRACTION of the rows on the device (at least
 * MIN_UPLOAD_ROWS), so the device copy lags the host buffer by at most that share. The sampling rule is
 * ReplayBuffer.sample's (one rng.int per sample over the same ring order), so with uploadRows = 1 both
 * learners draw the same transitions from the same seed.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../replay/rng.js';
import type { ReplayBuffer } from './dqn.js';
import { GpuStep } from './gpu-step.js';
import type { HParams } from './hparams.js';
import { QNetwork, regressStep, trainStep, type Minibatch } from './model.js';
import type { NetworkWeights } from './network.js';

export interface Learner {
  /** Which implementation, for the log and the run's metadata. */
  readonly name: string;
  /** Makes the transitions pushed to `buffer` since the last call available to step() (GPU: in chunks). */
  add(buffer: ReplayBuffer): void;
  /** One gradient step on a uniform sample of `buffer` (regress: the warm start's step); keepLoss: keep its loss for loss(). */
  step(buffer: ReplayBuffer, rng: Rng, regress: boolean, keepLoss: boolean): void;
  /** Copies the online weights into the target network. */
  syncTarget(): void;
  /** The loss of the last step that kept it (a read-back); NaN when none. */
  loss(): Promise<number>;
  /** Online weights (a read-back). */
  read(): Promise<NetworkWeights>;
  /** Target weights (a read-back). */
  readTarget(): Promise<NetworkWeights>;
  dispose(): void;
}

export const GPU_STEP_NAMES = ['fused', 'autodiff'] as const;
export type GpuStepName = (typeof GPU_STEP_NAMES)[number];

/** The GPU learner uploads pending rows once they reach this fraction of the resident rows... */
export const UPLOAD_FRACTION = 16;
/** ...and at least this many. */
export const MIN_UPLOAD_ROWS = 64;

/** trainer/model.ts's tfjs autodiff steps on a minibatch sampled on the host (any backend). */
export class TfjsLearner implements Learner {
  readonly name = 'tfjs autodiff (trainer/model.ts)';
  private readonly online: QNetwork;
  private readonly target: QNetwork;
  private readonly optimizer: tf.Optimizer;
  private lossT: tf.Scalar | null = null;
  constructor(private readonly hp: HParams, w: NetworkWeights, targetW: NetworkWeights, private readonly mb: Minibatch) {
    this.online = new QNetwork(w);
    this.target = new QNetwork(targetW, false);
    this.optimizer = tf.train.adam(hp.learningRate);
  }

  add(): void { /* the minibatch is sampled from the host buffer */ }

  step(buffer: ReplayBuffer, rng: Rng, regress: boolean, keepLoss: boolean): void {
    const hp = this.hp, mb = this.mb;
    buffer.sample(rng, mb);
    const l = regress ? regressStep(this.online, this.optimizer, mb, hp.maxGradNorm, hp.huberDelta, hp.objective)
      : trainStep(this.online, this.target, this.optimizer, mb, { gamma: hp.gamma, maxGradNorm: hp.maxGradNorm, huberDelta: hp.huberDelta });
    if (keepLoss) { this.lossT?.dispose(); this.lossT = l; } else l.dispose();
  }

  syncTarget(): void { this.target.copyFrom(this.online); }
  async loss(): Promise<number> { return this.lossT ? (await this.lossT.data())[0]! : NaN; }
  async read(): Promise<NetworkWeights> { return this.online.read(); }
  async readTarget(): Promise<NetworkWeights> { return this.target.read(); }
  dispose(): void { this.online.dispose(); this.target.dispose(); this.optimizer.dispose(); this.lossT?.dispose(); }
}

/** GpuStep 'fused' on a device mirror of the replay ring. */
export class GpuLearner implements Learner {
  readonly name: string;
  readonly gpu: GpuStep;
  /** Pushes (ReplayBuffer.pushed) already on the device. */
  uploaded = 0;
  /** Uploads done (for tests and the log). */
  uploads = 0;
  private readonly rows: Int32Array;
  private readonly next: Int32Array;
  /** uploadRows: upload when at least this many rows are pending (default: the chunk rule of the file comment). */
  constructor(hp: HParams, w: NetworkWeights, targetW: NetworkWeights, private readonly uploadRows = 0) {
    this.gpu = new GpuStep(tf, w, {
      k: hp.k, batch: hp.batchSize, gamma: hp.gamma, lr: hp.learningRate, maxGradNorm: hp.maxGradNorm, huberDelta: hp.huberDelta, head: hp.objective, targetSync: 0, lossEvery: 0,
    }, 'fused', targetW);
    this.name = `gpu fused (trainer/gpu-step.ts, splitK ${this.gpu.cfg.splitK})`;
    this.rows = new Int32Array(hp.batchSize);
    this.next = new Int32Array(hp.batchSize);
  }

  add(buffer: ReplayBuffer): void {
    const cap = buffer.capacity;
    const pending = buffer.pushed - this.uploaded;
    if (pending <= 0) return;
    const resident = Math.min(this.uploaded, cap);
    const chunk = this.uploadRows > 0 ? this.uploadRows : Math.max(MIN_UPLOAD_ROWS, Math.floor(resident / UPLOAD_FRACTION));
    if (this.uploaded > 0 && pending < chunk) return;
    if (this.uploaded === 0) this.gpu.allocRing(cap);
    // from the last uploaded row again: markDone() may have flagged it since
    let p = Math.max(this.uploaded - 1, buffer.pushed - cap, 0);
    while (p < buffer.pushed) {
      const at = p % cap;
      const count = Math.min(buffer.pushed - p, cap - at);
      this.gpu.writeRing(buffer, at, count);
      p += count;
    }
    this.uploaded = buffer.pushed;
    this.uploads++;
  }

  step(buffer: ReplayBuffer, rng: Rng, regress: boolean, keepLoss: boolean): void {
    this.add(buffer);
    const cap = buffer.capacity;
    const resident = Math.min(this.uploaded, cap);
    const base = this.uploaded - resident;
    const rows = this.rows, next = this.next;
    for (let b = 0; b < rows.length; b++) {
      const p = base + rng.int(resident - 1); // ReplayBuffer.sample's draw: the newest row has no next state yet
      rows[b] = p % cap;
      next[b] = (p + 1) % cap;
    }
    this.gpu.step(rows, next, regress, keepLoss);
  }

  syncTarget(): void { this.gpu.syncTarget(); }
  async loss(): Promise<number> { return (await this.gpu.readLoss()).loss; }
  read(): Promise<NetworkWeights> { return this.gpu.readWeights(); }
  readTarget(): Promise<NetworkWeights> { return this.gpu.readTarget(); }
  dispose(): void { this.gpu.dispose(); }
}

/** GpuLearner on webgpu with hp.gpuStep 'fused' (the default), else TfjsLearner. */
export function createLearner(hp: HParams, w: NetworkWeights, targetW: NetworkWeights, mb: Minibatch): Learner {
  if (tf.getBackend() === 'webgpu' && (hp.gpuStep ?? 'fused') === 'fused') return new GpuLearner(hp, w, targetW);
  return new TfjsLearner(hp, w, targetW, mb);
}
