/**
 * Seeded synthetic transitions for the GPU checks and benchmark (features in [0, 1) like the spec's, some
 * padded candidate slots, some terminal transitions), and seeded sample indices: the same seed gives the
 * same bytes on every backend, so runs can be compared number for number.
 */
import { Rng } from '../../replay/rng.js';
import type { TransitionBlock } from '../../trainer/gpu-step.js';

export function randomBlock(n: number, k: number, f: number, seed: number): TransitionBlock {
  const rng = new Rng(seed);
  const b: TransitionBlock = {
    n, x: new Float32Array(n * k * f), mask: new Float32Array(n * k), action: new Int32Array(n),
    reward: new Float32Array(n), x2: new Float32Array(n * k * f), mask2: new Float32Array(n * k), done: new Float32Array(n),
  };
  for (let i = 0; i < n; i++) {
    // a quarter of the states carry fewer than k candidates
    const present = rng.next() < 0.25 ? 1 + rng.int(k) : k;
    const present2 = rng.next() < 0.25 ? 1 + rng.int(k) : k;
    for (let c = 0; c < k; c++) {
      b.mask[i * k + c] = c < present ? 1 : 0;
      b.mask2[i * k + c] = c < present2 ? 1 : 0;
      for (let j = 0; j < f; j++) {
        b.x[(i * k + c) * f + j] = c < present ? rng.next() : 0;
        b.x2[(i * k + c) * f + j] = c < present2 ? rng.next() : 0;
      }
    }
    b.action[i] = rng.int(present);
    b.reward[i] = rng.next() < 0.3 ? -1 : 0;
    b.done[i] = rng.next() < 0.02 ? 1 : 0;
  }
  return b;
}

/** Fills out with uniform row indices in [0, n), from a seeded generator. */
export function sampleIndices(rng: Rng, n: number, out: Int32Array): Int32Array {
  for (let i = 0; i < out.length; i++) out[i] = rng.int(n);
  return out;
}

/** Largest relative difference max|a-b| / max(max|b|, tiny) over two arrays of equal length. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-30);
}
