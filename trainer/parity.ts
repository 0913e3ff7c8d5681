/**
 * Training-export parity: the ONNX file, run by onnxruntime-node through replay/model.ts (the code the
 * sidecar serves with), must score candidates as the trainer's own tfjs network does. Used by `coldrl train`
 * after export and by the demo; test/trainer/parity.test.ts checks the same property on fixed cases.
 */
import * as tf from '@tensorflow/tfjs';
import { Cache } from '../replay/cache.js';
import { FEATURE_COUNT, MAX_CANDIDATES } from '../replay/features.js';
import { ColdrlModel } from '../replay/model.js';
import { KCandidatePolicy, parseKParam } from '../replay/policies/ktail.js';
import { Rng } from '../replay/rng.js';
import { lruScorer, type Scorer } from '../replay/scorer.js';
import type { Trace } from '../replay/trace.js';
import { Q_SCORING, type NetworkWeights, type Scoring } from './network.js';
import { QNetwork } from './model.js';

export interface CandidateSet { features: Float32Array; n: number }

export interface ParityReport {
  /** Candidate sets compared (random plus recorded from a replay). */
  cases: number;
  /** Of which recorded from a real replay. */
  realCases: number;
  maxAbsError: number;
  /** Largest |onnx - tfjs| / max(1, |tfjs|): float32 carries about 7 digits, and scores reach ~25 (log size). */
  maxRelError: number;
}

/** Records up to `max` candidate sets (features) met while replaying `trace` with K candidates from `source`. */
export function recordCandidates(trace: Trace, capacity: number, kParam: string, max: number): CandidateSet[] {
  const got: CandidateSet[] = [];
  const every = Math.max(1, Math.floor(trace.length / (max * 4)));
  const rec: Scorer = {
    name: 'record',
    score(ctx, ids, f, n, out) {
      if (got.length < max && ctx.index % every === 0) got.push({ features: f.slice(0, n * FEATURE_COUNT), n });
      lruScorer.score(ctx, ids, f, n, out);
    },
  };
  const cache = new Cache((ctx) => new KCandidatePolicy(ctx, rec, parseKParam(kParam)), { capacity, semantics: 'nginx' });
  for (let i = 0; i < trace.length && got.length < max; i++) cache.access(trace, i);
  return got;
}

/** Compares tfjs (the trainer's network) and onnxruntime (the served file) on random and recorded inputs. */
export async function checkParity(onnxPath: string, w: NetworkWeights, real: CandidateSet[], scoring: Scoring = Q_SCORING, randomCases = 32, seed = 1): Promise<ParityReport> {
  const rng = new Rng(seed);
  const cases: CandidateSet[] = [...real];
  for (let c = 0; c < randomCases; c++) {
    const n = 1 + Math.floor(rng.next() * MAX_CANDIDATES);
    cases.push({ n, features: new Float32Array(n * FEATURE_COUNT).map(() => rng.next()) });
  }
  const model = await ColdrlModel.load(onnxPath);
  const net = new QNetwork(w, false);
  const got = new Float32Array(MAX_CANDIDATES);
  let maxAbsError = 0, maxRelError = 0;
  try {
    for (const c of cases) {
      // data(), not dataSync(): a synchronous read-back is not available on every backend (webgpu in Node)
      const t = tf.tidy(() => net.scores(tf.tensor3d(c.features, [1, c.n, FEATURE_COUNT]), tf.ones([1, c.n]) as tf.Tensor2D, scoring));
      const want = await t.data();
      t.dispose();
      await model.score(c.features, c.n, got);
      for (let i = 0; i < c.n; i++) {
        const e = Math.abs(got[i]! - want[i]!);
        maxAbsError = Math.max(maxAbsError, e);
        maxRelError = Math.max(maxRelError, e / Math.max(1, Math.abs(want[i]!)));
      }
    }
  } finally {
    net.dispose();
    await model.close();
  }
  return { cases: cases.length, realCases: real.length, maxAbsError, maxRelError };
}
