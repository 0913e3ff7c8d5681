/**
 * Hyperparameters of the trainer: one typed object, one line per field, recommended defaults (CleanRL's
 * dqn.py layout). The whole object is logged to the store at the start of a run and into checkpoints.
 */
import { DEFAULT_SOURCE, type Goal } from '../replay/candidates.js';

export interface HParams {
  /** Seed of every random source: weights, exploration, replay sampling, the candidate source, tfjs. */
  seed: number;
  /** Environment steps (eviction decisions) to train for, over as many passes of the trace as needed. */
  totalDecisions: number;
  /** Candidates per decision (K); the K least-recently-used objects with the tail source. */
  k: number;
  /** Candidate source (replay/candidates.ts SOURCES). */
  candidates: string;
  /** Hidden width H of the per-candidate MLP (F -> H -> H). */
  hidden: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Replay buffer capacity in decisions (memory: capacity x K x (F + 1) x 4 bytes). */
  bufferSize: number;
  /** Minibatch size. */
  batchSize: number;
  /** Discount factor between consecutive eviction decisions. */
  gamma: number;
  /** Decisions before the first gradient step (filled with the exploration policy). */
  learningStarts: number;
  /** One gradient step every this many decisions. */
  trainFrequency: number;
  /** Gradient steps between hard copies of the online net into the target net. */
  targetNetworkFrequency: number;
  /** Gradient steps between copies of the online weights into the acting network. */
  actSyncFrequency: number;
  /** Initial exploration rate (probability of a random first victim). */
  startEpsilon: number;
  /** Final exploration rate. */
  endEpsilon: number;
  /** Fraction of totalDecisions over which epsilon decays linearly. */
  explorationFraction: number;
  /** Global-norm gradient clip (0: none). */
  maxGradNorm: number;
  /** Huber threshold of both steps' loss (squared error below it, absolute above; a large value is plain squared error). */
  huberDelta: number;
  /** What the network learns (trainer/network.ts Head): 'hit-logit' = the logit of each candidate's soft hit under logistic loss, ranked by expected hits per byte in log space; 'q' = Q regressed on the per-byte one-step reward (Huber). 'hit-logit' is a regression target only: it needs warmStartDecisions >= totalDecisions (no Double-DQN step). */
  objective: 'q' | 'hit-logit';
  /** What the ranking serves (replay/candidates.ts Goal), objective 'hit-logit' only: 'hits' ranks by expected hits per byte (the hit ratio); 'bytes' by expected hits per object (the byte hit ratio, the bytes that do not come from the origin), over `sample` candidates by default. */
  goal: Goal;
  /** Reward: 'paper' or 'horizon' (see trainer/dqn.ts). */
  reward: 'paper' | 'horizon';
  /** 'horizon' reward: a candidate counts as "hit again" only within this many times the victims' mean idle time (0.1 measured best with 'hit-logit', 1 with 'q': docs/training.md). */
  horizonFactor: number;
  /** 'horizon' reward with a soft horizon: a point is worth exp(-(next request - now) / (horizonFactor x mean victim idle)) instead of 1 within the horizon. */
  softHorizon: boolean;
  /** 'horizon' reward per byte, objective 'q' only: points lost are divided by the bytes the victims free, in units of the candidates' mean size (GDSF's frequency/size trade; 'hit-logit' divides by size in its head instead). */
  rewardPerByte: boolean;
  /** Cap of that per-byte weight (a tiny object's point counts at most this many times). */
  perByteCap: number;
  /** Full-information warm start: while fewer decisions than this have been made, gradient steps regress every candidate's Q on its own one-step reward (trainer/model.ts regressStep); the Double-DQN step takes over after it. 0 = plain DQN throughout; the default (MAX_SAFE_INTEGER) = the whole run, which measured best (docs/training.md). */
  warmStartDecisions: number;
  /** Weight averaging (SWA): the exported model is the mean of the online weights taken at every acting sync over the last this fraction of the run (0 = the final online weights). Checkpoints keep the online weights and the running mean, so --resume continues it. */
  averageFraction: number;
  /** Decisions between metric rows in the store and progress updates. */
  logFrequency: number;
  /** Requests per window when streaming a trace (next uses are computed within a window). */
  window: number;
  /** Step on the webgpu backend: 'fused' (trainer/gpu-step.ts, replay buffer on the GPU; trainer/learner.ts) or 'autodiff' (trainer/model.ts, as on every other backend). */
  gpuStep: 'fused' | 'autodiff';
}

export const DEFAULT_HPARAMS: HParams = {
  seed: 1,
  totalDecisions: 20_000,
  k: 64,
  candidates: DEFAULT_SOURCE,
  hidden: 64,
  learningRate: 5e-4,
  bufferSize: 50_000,
  batchSize: 64,
  gamma: 0,
  learningStarts: 2_000,
  trainFrequency: 4,
  targetNetworkFrequency: 500,
  actSyncFrequency: 25,
  startEpsilon: 1,
  endEpsilon: 0.02,
  explorationFraction: 0.4,
  maxGradNorm: 10,
  huberDelta: 1,
  objective: 'hit-logit',
  goal: 'hits',
  reward: 'horizon',
  horizonFactor: 0.1,
  softHorizon: true,
  rewardPerByte: true,
  perByteCap: 8,
  warmStartDecisions: Number.MAX_SAFE_INTEGER,
  averageFraction: 0,
  logFrequency: 1_000,
  window: 1 << 20,
  gpuStep: 'fused',
};
