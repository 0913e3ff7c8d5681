/**
 * The agreement check of issue 7: the same training (same initial weights, replay data and sample indices)
 * on two backends or two step modes; first forward pass, per-step losses and final weights compared by
 * relative error (max |a - b| / max |b|). Used by `coldrl bench gpu` and test/gpu/webgpu.test.ts.
 */
import { Rng } from '../../replay/rng.js';
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
