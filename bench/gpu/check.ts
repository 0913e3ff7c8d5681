/**
 * The agreement check of issue 7: the same training (same initial weights, replay data and sample indices)
 * on two backends or two step modes; first forward pass, per-step losses and final weights compared by
 * relative error (max |a - b| / max |b|). Used by `coldrl bench gpu` and test/gpu/webgpu.test.ts.
 * learnerRun does the same for the trainer's learners (trainer/learner.ts) on a seeded ring buffer.
 */
import { FEATURE_COUNT } from '../../replay/features.js';
import { Rng } from '../../replay/rng.js';
import { ReplayBuffer } from '../../trainer/dqn.js';
import type { HParams } from '../../trainer/hparams.js';
import type { Learner } from '../../trainer/learner.js';
import { initWeights, WEIGHT_NAMES, type NetworkWeights } from '../../trainer/network.js';
import { GpuStep, type StepConfig, type StepMode } from '../../trainer/gpu-step.js';
import type { Tf } from '../../trainer/backend.js';
import { randomBlock, relError, sampleIndices } from './transitions.js';

export interface CheckRun { q0: Float32Array; losses: Float32Array; weights: NetworkWeights; qN: Float32Array }

export interface CheckOptions { f: number; h: number; k: number; batch: number; steps: number; seed: number; rows: number; splitK?: number }

/** Trains `steps` steps with loss kept every step; returns what the comparison needs. */
export async function checkRun(tf: Tf, mode: StepMode, o: CheckOptions): Promise<CheckRun> {
  const w0 = initWeights(o.f, o.h, new Rng(o.seed));
  const block = randomBlock(o.rows, o.k, o.f, o.seed + 1);
  const cfg: Partial<StepConfig> = { k: o.k, batch: o.batch, lossEvery: 1, targetSync: 3, splitK: o.splitK ?? 1 };
  const t = new GpuStep(tf, w0, cfg, mode);
  try {
    t.setReplay(block);
    const n0 = Math.min(o.rows, 64);
    const q0 = await t.q(block.x.subarray(0, n0 * o.k * o.f), block.mask.subarray(0, n0 * o.k), n0);
    const rng = new Rng(o.seed + 2);
    const idx = new Int32Array(o.batch);
    const losses = new Float32Array(o.steps);
    for (let s = 0; s < o.steps; s++) {
      t.step(sampleIndices(rng, o.rows, idx));
      losses[s] = (await t.readLoss()).loss;
    }
    const qN = await t.q(block.x.subarray(0, n0 * o.k * o.f), block.mask.subarray(0, n0 * o.k), n0);
    return { q0, losses, weights: await t.readWeights(), qN };
  } finally {
    t.dispose();
  }
}

/** Relative errors: first forward, losses of every step, weights after the last step, Q after it. */
export interface Agreement { q0: number; losses: number; weights: number; qN: number }

/** All weights but `ba` as one vector: ba cancels in Q (its gradient is 0 exactly), so Adam only amplifies noise in it. */
function identifiable(w: NetworkWeights): Float32Array {
  const names = WEIGHT_NAMES.filter((n) => n !== 'ba');
  const out = new Float32Array(names.reduce((s, n) => s + w[n].length, 0));
  let o = 0;
  for (const n of names) { out.set(w[n], o); o += w[n].length; }
  return out;
}

export function agreement(a: CheckRun, b: CheckRun): Agreement {
  return {
    q0: relError(a.q0, b.q0), losses: relError(a.losses, b.losses),
    weights: relError(identifiable(a.weights), identifiable(b.weights)), qN: relError(a.qN, b.qN),
  };
}

export function maxError(a: Agreement): number { return Math.max(a.q0, a.losses, a.weights, a.qN); }

/** A ring buffer of `pushes` seeded decisions (some with fewer than K candidates, one pass end); wraps when pushes > capacity. */
export function filledBuffer(hp: HParams, pushes: number): ReplayBuffer {
  const rng = new Rng(21);
  const buf = new ReplayBuffer(hp.bufferSize, hp.k);
  const f = new Float32Array(hp.k * FEATURE_COUNT), labels = new Float32Array(hp.k);
  for (let i = 0; i < pushes; i++) {
    const n = rng.next() < 0.3 ? 1 + rng.int(hp.k) : hp.k;
    for (let j = 0; j < n * FEATURE_COUNT; j++) f[j] = rng.next();
    // labels as the trainer writes them: a lost point (-1) for objective q, a hit (1) for hit-logit
    for (let j = 0; j < n; j++) labels[j] = rng.next() < 0.4 ? (hp.objective === 'hit-logit' ? 1 : -1) : 0;
    buf.push(f, n, rng.int(n), rng.next() < 0.3 ? -1 : 0, labels);
    if (i === Math.floor(pushes / 2)) buf.markDone();
  }
  return buf;
}

export interface LearnerRun { losses: Float32Array; weights: Float32Array; target: NetworkWeights }

/** 2 warm-start regression steps, a target sync, 3 Double-DQN steps: every loss, the final weights (all but ba) and target. */
export async function learnerRun(make: (w: NetworkWeights) => Learner, hp: HParams, buf: ReplayBuffer): Promise<LearnerRun> {
  const l = make(initWeights(FEATURE_COUNT, hp.hidden, new Rng(5)));
  try {
    const rng = new Rng(9);
    const losses = new Float32Array(5);
    for (let s = 0; s < 5; s++) {
      if (s === 2) l.syncTarget();
      l.step(buf, rng, s < 2, true);
      losses[s] = await l.loss();
    }
    return { losses, weights: identifiable(await l.read()), target: await l.readTarget() };
  } finally {
    l.dispose();
  }
}

/** Relative errors of two learner runs: losses, weights, target network. */
export function learnerAgreement(a: LearnerRun, b: LearnerRun): { losses: number; weights: number; target: number } {
  return { losses: relError(a.losses, b.losses), weights: relError(a.weights, b.weights), target: relError(identifiable(a.target), identifiable(b.target)) };
}
