/**
 * The benchmark's end-to-end task: offline DQN on the trap workload (replay/workloads/trap.ts).
 * Transitions are collected by replaying a trap trace through the K-candidate policy (LRU tail) with a
 * seeded random behaviour scorer; each eviction decision is one transition:
 *   s = the K candidates' features (mask for fewer), a = the first victim, s' = the next decision's
 *   candidates, r = -horizon / (d + horizon) where d = requests until the first victim is requested again
 *   (0 when never: a regretted eviction costs up to -1).
 * (This reward is the benchmark's own, a stand-in until the trainer's lands; it only has to be learnable and
 * the same for every backend.) A trained network is evaluated by replaying another seed's trace with the
 * network as the scorer (trainer/network.ts Forward) and reading the hit ratio.
 */
import { Cache } from '../../replay/cache.js';
import { FEATURE_COUNT } from '../../replay/features.js';
import { KCandidatePolicy } from '../../replay/policies/ktail.js';
import type { SimContext } from '../../replay/policy.js';
import { Rng } from '../../replay/rng.js';
import type { Scorer } from '../../replay/scorer.js';
import type { Trace } from '../../replay/trace.js';
import { trap } from '../../replay/workloads/trap.js';
import { Forward, type NetworkWeights } from '../../trainer/network.js';
import type { TransitionBlock } from '../../trainer/gpu-step.js';

export const TRAP_CACHE_BYTES = 25 * 1024 * 1024;

function replay(trace: Trace, k: number, scorer: Scorer, seed: number): Cache {
  const cache = new Cache((ctx, o) => new KCandidatePolicy(ctx, scorer, { k, seed: o.seed }), {
    capacity: TRAP_CACHE_BYTES, nextUse: trace.nextUse(),
  }, { seed });
  for (let i = 0; i < trace.length; i++) cache.access(trace, i);
  return cache;
}

/** Collects transitions from `passes` trap traces (seeds seed, seed+1, ...) under a random behaviour scorer. */
export function collectTrap(k: number, seed: number, passes: number, horizon = 1000): TransitionBlock {
  const f = FEATURE_COUNT;
  const xs: Float32Array[] = [], masks: Float32Array[] = [], acts: number[] = [], rews: number[] = [], dones: number[] = [];
  for (let p = 0; p < passes; p++) {
    const rng = new Rng(seed * 7919 + p);
    const scorer: Scorer = {
      name: 'random',
      score(ctx: SimContext, ids: Int32Array, feats: Float32Array, n: number, out: Float32Array): void {
        let best = 0;
        for (let i = 0; i < n; i++) { out[i] = rng.next(); if (out[i]! > out[best]!) best = i; }
        const x = new Float32Array(k * f);
        x.set(feats.subarray(0, n * f));
        const m = new Float32Array(k);
        m.fill(1, 0, n);
        xs.push(x); masks.push(m); acts.push(best);
        const d = ctx.nextUseOf[ids[best]!]! - ctx.index;
        rews.push(d === Infinity ? 0 : -horizon / (d + horizon));
        dones.push(0);
      },
    };
    const start = xs.length;
    replay(trap(seed + p), k, scorer, seed + p);
    if (xs.length > start) dones[xs.length - 1] = 1;
  }
  // s' of decision t is the state of decision t+1 (the last of each pass is terminal; its s' is unused)
  const n = xs.length;
  const b: TransitionBlock = {
    n, x: new Float32Array(n * k * f), mask: new Float32Array(n * k), action: Int32Array.from(acts),
    reward: Float32Array.from(rews), x2: new Float32Array(n * k * f), mask2: new Float32Array(n * k), done: Float32Array.from(dones),
  };
  for (let t = 0; t < n; t++) {
    b.x.set(xs[t]!, t * k * f); b.mask.set(masks[t]!, t * k);
    if (dones[t] === 0 && t + 1 < n) { b.x2.set(xs[t + 1]!, t * k * f); b.mask2.set(masks[t + 1]!, t * k); }
  }
  return b;
}

/** Hit ratio of the network as the K-candidate scorer on the trap trace of `seed`. */
export function evaluateTrap(w: NetworkWeights, k: number, seed: number): number {
  const fw = new Forward(w, k);
  const scorer: Scorer = { name: 'net', score(_c, _i, feats, n, out) { fw.run(feats, n, out); } };
  return replay(trap(seed), k, scorer, seed).stats.hitRatio;
}

/** Hit ratio of plain LRU over the same candidates (the floor a trained network should beat). */
export function lruTrap(k: number, seed: number): number {
  const scorer: Scorer = { name: 'lru', score(_c, _i, _f, n, out) { for (let i = 0; i < n; i++) out[i] = n - i; } };
  return replay(trap(seed), k, scorer, seed).stats.hitRatio;
}
