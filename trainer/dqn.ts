/**
 * Offline Double DQN for eviction, top to bottom (CleanRL dqn.py layout; Mnih et al. 2015, van Hasselt et
 * al. 2016, dueling head of Wang et al. 2016 in trainer/network.ts).
 *
 * Environment: replay's Cache in nginx semantics (TTL, expiry) with a KCandidatePolicy whose Scorer is the
 * agent. A decision = one evict() call: state = the K candidates' features (replay/features.ts), action = the
 * first victim (epsilon-greedy: with probability epsilon a uniformly random candidate goes first, otherwise
 * the argmax of Q); further victims, if the object still does not fit, follow by descending Q
 * (replay/candidates.ts selectVictims). The next state is the next decision of the same pass.
 *
 * Reward, from the trace's future (next use of every request: one backward pass per window, Trace.nextUse()):
 *   hit_j = 1 when candidate j's next request comes before its TTL expires (the paper's point).
 *   reward 'paper'    r = (sum of hit_j over the retained candidates) / n        (the paper, normalised by n)
 *   reward 'horizon'  r = - sum of hit_j over the victims, where hit_j also needs the next request within
 *                     horizonFactor x the running mean idle time of victims (about the time an object
 *                     survives at the tail). Shaping, documented in docs/training.md: subtracting the
 *                     state-only term "points if nothing were evicted" removes variance without changing
 *                     the one-step argmax; the horizon makes "will be requested again, but only long after it
 *                     would have been evicted anyway" worth nothing. bench/learn.ts --reward paper is the ablation.
 *                     hp.softHorizon: a point is worth exp(-(next request - now) / that span) instead (sooner
 *                     returns weigh more). hp.rewardPerByte: the points lost are multiplied by
 *                     min(perByteCap, mean candidate size / bytes the victims free): GDSF's frequency/size
 *                     trade, so that evicting one large object can beat evicting several small ones.
 *   labels            objective 'q': every candidate's own one-step reward, as if it alone were evicted
 *                     (-hit_j x its weight); objective 'hit-logit' (the default): hit_j itself, the soft hit
 *                     the network's logit is fitted to (no weight: the head divides by size, trainer/network.ts).
 *                     Stored with the decision. Next uses do not depend on the action, so they are known for
 *                     every candidate, not only the chosen one.
 * Warm start (hp.warmStartDecisions): until then, gradient steps regress all K candidates' Q on their labels
 *   (trainer/model.ts regressStep: K targets per decision instead of one, no target network); then the
 *   Double-DQN step takes over from those weights. With gamma = 0 (the default: the choice barely changes
 *   the next state, a contextual bandit) both steps aim at the same Q only where a decision takes one victim:
 *   the reward charges all the victims' points by the bytes they free together, a label candidate j's alone
 *   by its own size (docs/training.md has the measurements).
 * Learning: replay buffer of typed arrays, Huber loss, Adam, global-norm clipping, hard target updates,
 * Double-DQN targets (trainer/model.ts trainStep; on webgpu the same maths in trainer/gpu-step.ts, see trainer/learner.ts). Acting uses a plain-TS copy of the online weights
 * (trainer/network.ts Forward), refreshed every actSyncFrequency gradient steps.
 * Seeds: weights, exploration, replay sampling and the candidate source derive from hp.seed (replay/rng.ts);
 * no tfjs random op is used, so tfjs needs no seed of its own.
 * Streaming: windows of hp.window requests; next uses are computed within a window (a next request in a
 * later window counts as none), so memory is the window plus the replay buffer.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { Cache, type NginxRules } from '../replay/cache.js';
import type { Reading } from '../replay/formats/nginx-source.js';
import { GOALS } from '../replay/candidates.js';
import { ColdrlError } from '../replay/errors.js';
import { FEATURE_COUNT } from '../replay/features.js';
import { KCandidatePolicy, parseKParam } from '../replay/policies/ktail.js';
import type { SimContext } from '../replay/policy.js';
import { Rng } from '../replay/rng.js';
import type { Scorer } from '../replay/scorer.js';
import type { RequestBatch, Trace } from '../replay/trace.js';
import { DEFAULT_HPARAMS, type HParams } from './hparams.js';
import { createLearner } from './learner.js';
import type { Minibatch } from './model.js';
import { cloneWeights, Forward, HEADS, initWeights, scoringOf, WEIGHT_NAMES, weightsFromJSON, weightsToJSON, type NetworkWeights, type Scoring } from './network.js';

const F = FEATURE_COUNT;

/** Decisions in a ring of typed arrays; transition i's next state is entry i + 1 unless done[i]. */
export class ReplayBuffer {
  readonly s: Float32Array;
  readonly n: Uint8Array;
  readonly action: Int32Array;
  readonly reward: Float32Array;
  readonly done: Uint8Array;
  /** Per-candidate one-step rewards (capacity x K), for the full-information warm start. */
  readonly labels: Float32Array;
  head = 0;
  size = 0;
  /** Decisions pushed so far (the GPU learner's upload cursor, trainer/learner.ts). */
  pushed = 0;
  constructor(readonly capacity: number, readonly k: number) {
    this.s = new Float32Array(capacity * k * F);
    this.n = new Uint8Array(capacity);
    this.action = new Int32Array(capacity);
    this.reward = new Float32Array(capacity);
    this.done = new Uint8Array(capacity);
    this.labels = new Float32Array(capacity * k);
  }

  push(features: Float32Array, n: number, action: number, reward: number, labels: Float32Array): void {
    const i = this.head;
    const o = i * this.k * F;
    this.s.set(features.subarray(0, n * F), o);
    this.s.fill(0, o + n * F, o + this.k * F);
    this.labels.set(labels.subarray(0, n), i * this.k);
    this.labels.fill(0, i * this.k + n, (i + 1) * this.k);
    this.n[i] = n;
    this.action[i] = action;
    this.reward[i] = reward;
    this.done[i] = 0;
    this.head = (i + 1) % this.capacity;
    this.pushed++;
    if (this.size < this.capacity) this.size++;
  }

  /** Marks the newest decision as the last of its pass. */
  markDone(): void { if (this.size > 0) this.done[(this.head - 1 + this.capacity) % this.capacity] = 1; }

  /** Fills mb with uniformly sampled transitions (the newest, whose next state is unknown, excluded). */
  sample(rng: Rng, mb: Minibatch): void {
    const k = this.k, row = k * F;
    const full = this.size === this.capacity;
    for (let b = 0; b < mb.b; b++) {
      const j = rng.int(this.size - 1);
      const i = full ? (this.head + j) % this.capacity : j;
      const nx = (i + 1) % this.capacity;
      mb.s.set(this.s.subarray(i * row, (i + 1) * row), b * row);
      mb.s2.set(this.s.subarray(nx * row, (nx + 1) * row), b * row);
      mb.labels.set(this.labels.subarray(i * k, (i + 1) * k), b * k);
      const n = this.n[i]!, n2 = this.n[nx]!;
      for (let c = 0; c < k; c++) { mb.mask[b * k + c] = c < n ? 1 : 0; mb.mask2[b * k + c] = c < n2 ? 1 : 0; }
      mb.action[b] = this.action[i]!;
      mb.reward[b] = this.reward[i]!;
      mb.done[b] = this.done[i]!;
    }
  }
}

export function newMinibatch(b: number, k: number): Minibatch {
  return {
    b, k, f: F, s: new Float32Array(b * k * F), mask: new Float32Array(b * k), action: new Int32Array(b),
    reward: new Float32Array(b), done: new Float32Array(b), s2: new Float32Array(b * k * F), mask2: new Float32Array(b * k),
    labels: new Float32Array(b * k),
  };
}

/** The agent as a Scorer: Q from the acting copy of the weights, epsilon-greedy first victim. */
class Agent implements Scorer {
  readonly name = 'dqn-agent';
  forward: Forward;
  epsilon = 1;
  action = 0;
  /** Next request time of each object's last request (global ids); +Infinity = none in this window. */
  nextTime = new Float64Array(1024);
  /** Running mean idle time of victims (seconds), for the horizon reward. */
  idleMean = 0;
  decisions = 0;
  rewardSum = 0;
  private readonly hits = new Float32Array(64);
  private readonly labels = new Float32Array(64);
  constructor(w: NetworkWeights, private readonly rng: Rng, private readonly hp: HParams, private readonly buffer: ReplayBuffer) {
    this.scoring = scoringOf(hp.objective, hp.goal);
    this.forward = new Forward(w, this.scoring);
    this.sizeTerm = this.scoring.sizeWeight;
  }

  /** How the network's output becomes the score (the exported model's: trainer/onnx-export.ts). */
  readonly scoring: Scoring;
  /** Scorer.sizeTerm: a hit-logit score for goal 'hits' is log(size / P(hit)), as the exported model's (replay/model.ts). */
  readonly sizeTerm: number;

  score(_ctx: SimContext, _ids: Int32Array, f: Float32Array, n: number, out: Float32Array): void {
    this.forward.run(f, n, out);
    if (this.rng.next() < this.epsilon) {
      this.action = this.rng.int(n);
      out[this.action] = 3e38;
    } else {
      let a = 0;
      for (let i = 1; i < n; i++) if (out[i]! > out[a]!) a = i;
      this.action = a;
    }
  }

  /** 'horizon' reward weight of a point lost while freeing `bytes`: 1, or mean / bytes capped (hp.rewardPerByte). */
  private weight(mean: number, bytes: number): number {
    return this.hp.rewardPerByte ? Math.min(this.hp.perByteCap, mean / Math.max(1, bytes)) : 1;
  }

  /** Called after the victims are evicted: computes the reward and stores the decision. */
  record(ctx: SimContext, ids: Int32Array, f: Float32Array, n: number, victims: Uint8Array): void {
    const o = ctx.objects, now = ctx.now, horizon = this.hp.reward === 'horizon';
    for (let j = 0; j < n; j++) if (victims[j] === 1) this.idleMean += 0.01 * (now - o.last[ids[j]!]! - this.idleMean);
    const span = Math.max(1e-9, this.hp.horizonFactor * this.idleMean), limit = now + span;
    const hits = this.hits, labels = this.labels;
    let retained = 0, evicted = 0, freed = 0, sizeSum = 0;
    for (let j = 0; j < n; j++) {
      const id = ids[j]!;
      const t = this.nextTime[id]!;
      // no hit when the copy has expired by then, or `inactive` removes it first (idle that long since its last request)
      const gone = !(t < o.expires[id]!) || (ctx.inactive > 0 && t - o.last[id]! >= ctx.inactive);
      const hit = gone ? 0 : !horizon ? 1 : this.hp.softHorizon ? Math.exp((now - t) / span) : t <= limit ? 1 : 0;
      hits[j] = hit;
      sizeSum += o.size[id]!;
      if (victims[j] === 1) { evicted += hit; freed += o.size[id]!; } else retained += hit;
    }
    // per-byte weight: points lost per byte freed, in units of the candidates' mean size (capped)
    const mean = sizeSum / n;
    const r = horizon ? -evicted * this.weight(mean, freed) : retained / n;
    if (this.hp.objective === 'hit-logit') labels.set(hits.subarray(0, n));
    else for (let j = 0; j < n; j++) labels[j] = horizon ? -hits[j]! * this.weight(mean, o.size[ids[j]!]!) : (retained + evicted - hits[j]!) / n;
    this.rewardSum += r;
    this.buffer.push(f, n, this.action, r, labels);
    this.decisions++;
  }
}

class AgentPolicy extends KCandidatePolicy {
  /** lruUntil: the requests before the training stretch (TrainEnv.history) are evicted LRU, not decided. */
  constructor(ctx: SimContext, private readonly agent: Agent, hp: HParams, seed: number, lruUntil: number) {
    super(ctx, agent, { ...parseKParam(`${hp.k}:${hp.candidates}`), seed, lruUntil });
  }
  override apply(n: number, need: number): void {
    super.apply(n, need);
    this.agent.record(this.ctx, this.ids, this.features, n, this.victims);
  }
}

export interface Checkpoint {
  format: 'coldrl-checkpoint-1';
  hparams: HParams;
  decisions: number;
  gradSteps: number;
  passes: number;
  run: number | null;
  online: Record<string, number | number[]>;
  target: Record<string, number | number[]>;
  /** Weight averaging in progress (hp.averageFraction): the running mean and how many snapshots it holds. */
  averaged?: Record<string, number | number[]>;
  averagedSnapshots?: number;
  /** Share of the trace's last requests held out of training (`coldrl train --holdout`); kept by --resume. */
  holdout?: number;
  /** Which requests before them were trained on (`coldrl train --train-on`); kept by --resume. */
  trainOn?: 'recent' | 'recent-cold' | 'all';
  /** True when `recent` replayed the older requests first (TrainEnv.history; absent in checkpoints before it: recent-cold). */
  history?: boolean;
  /** nginx's inactive= in seconds the run simulated (`coldrl train --inactive`; 0: none); kept by --resume. */
  inactive?: number;
  /** The keys zone's node limit the run simulated (`coldrl train --keys-zone`; 0: none); kept by --resume. */
  keysLimit?: number;
  /** proxy_cache_min_uses the run simulated (`coldrl train --min-uses`; absent: 1); kept by --resume. */
  minUses?: number;
  /** The TTL in seconds given to responses that carry none (`coldrl train --default-ttl`; null: none); kept by --resume. */
  defaultTtl?: number | null;
  /** --ignore-headers and --cache-valid as the reader applied them (absent: neither); kept by --resume. */
  reading?: Reading;
  /** The cache size in bytes trained for (absent in checkpoints before 2026-11-30); kept by --resume. */
  capacity?: number;
  /** The trace trained on, as named (`--trace`; absent before 2026-11-30); kept by --resume. */
  trace?: string;
  /** The name of `run` in the store (absent before 2026-11-30): --resume continues that run only where the name matches. */
  runName?: string;
}

/**
 * A checkpoint file's text as a Checkpoint, its shapes checked (`coldrl train --resume`): the format, the
 * hyperparameters the run needs (each field of a known type; fields added since may be absent), the
 * counters, and the online and target weights (and the running mean) as F x hidden networks. Anything else
 * is ColdrlError COLDRL_ERR_USAGE naming the file and the field, before any trace is read.
 */
export function parseCheckpoint(text: string, path: string): Checkpoint {
  const bad = (why: string) => new ColdrlError('COLDRL_ERR_USAGE', `train --resume: ${path} is not a usable checkpoint (${why})`);
  let o: unknown;
  try { o = JSON.parse(text); } catch { throw bad('not JSON'); }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(o) || o.format !== 'coldrl-checkpoint-1') throw bad('no format coldrl-checkpoint-1');
  const hp = o.hparams;
  if (!isObject(hp)) throw bad('no hparams');
  for (const [k, v] of Object.entries(DEFAULT_HPARAMS)) {
    if (hp[k] === undefined && !['seed', 'totalDecisions', 'k', 'candidates', 'hidden'].includes(k)) continue;
    if (typeof hp[k] !== typeof v || (typeof v === 'number' && !Number.isFinite(hp[k]))) throw bad(`hparams.${k} is ${JSON.stringify(hp[k]) ?? 'missing'}`);
  }
  if (hp.objective !== undefined && !HEADS.includes(hp.objective as never)) throw bad(`hparams.objective ${JSON.stringify(hp.objective)}`);
  if (hp.goal !== undefined && !GOALS.includes(hp.goal as never)) throw bad(`hparams.goal ${JSON.stringify(hp.goal)}`);
  for (const k of ['decisions', 'gradSteps', 'passes'] as const) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) throw bad(`${k} is ${JSON.stringify(o[k]) ?? 'missing'}`);
  }
  if (o.run !== null && o.run !== undefined && !Number.isSafeInteger(o.run)) throw bad(`run is ${JSON.stringify(o.run)}`);
  for (const k of ['online', 'target', ...(o.averaged === undefined ? [] : ['averaged'])]) {
    const w = o[k];
    if (!isObject(w)) throw bad(`no ${k} weights`);
    if (w.f !== F || w.h !== hp.hidden) throw bad(`${k} weights of ${JSON.stringify(w.f)} features x ${JSON.stringify(w.h)} hidden, not ${F} x ${String(hp.hidden)}`);
    let n: NetworkWeights;
    try { n = weightsFromJSON(w); } catch (e) { throw bad(`${k}: ${(e as Error).message}`); }
    for (const name of WEIGHT_NAMES) if (!n[name].every(Number.isFinite)) throw bad(`${k} weight ${name} holds a value that is not a number`);
  }
  for (const k of ['holdout', 'inactive', 'keysLimit', 'minUses', 'capacity'] as const) {
    if (o[k] !== undefined && !(typeof o[k] === 'number' && Number.isFinite(o[k]))) throw bad(`${k} is ${JSON.stringify(o[k])}`);
  }
  if (o.defaultTtl !== undefined && o.defaultTtl !== null && typeof o.defaultTtl !== 'number') throw bad(`defaultTtl is ${JSON.stringify(o.defaultTtl)}`);
  for (const k of ['trace', 'runName'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') throw bad(`${k} is ${JSON.stringify(o[k])}`);
  if (o.reading !== undefined && !isObject(o.reading)) throw bad(`reading is ${JSON.stringify(o.reading)}`);
  return o as unknown as Checkpoint;
}

/** How long the training loop runs before the event loop gets a turn (Ctrl-C is seen within this). */
const YIELD_MS = 100;

export interface TrainProgress {
  decisions: number;
  gradSteps: number;
  pass: number;
  loss: number;
  epsilon: number;
  /** Hit ratio of the current pass so far. */
  hitRatio: number;
  /** Byte hit ratio of the current pass so far. */
  byteHitRatio: number;
  meanReward: number;
  stepsPerSecond: number;
  decisionsPerSecond: number;
}

export interface TrainEnv {
  /** The windows of one pass over the training trace (called once per pass). */
  pass(): AsyncIterable<Trace>;
  /**
   * The requests before the training stretch (`coldrl train --train-on recent`), `historyLength` of them,
   * replayed at the start of every pass under LRU, with no decision: the objects' history (lifetime
   * request counts, last requests) and the cache the stretch starts from are then those of a run from the
   * first request, as the held-out check and the NGINX module's side table have them. Absent: none.
   */
  history?: () => AsyncIterable<RequestBatch>;
  historyLength?: number;
  capacity: number;
  /** inactive=, the keys zone's node limit and proxy_cache_min_uses (replay/cache.ts CacheOptions); absent: none. */
  rules?: NginxRules;
}

export interface TrainHooks {
  resume?: Checkpoint;
  onLog?(p: TrainProgress): void;
  /** Polled between requests; true = stop now (Ctrl-C): the result is marked interrupted. */
  shouldStop?(): boolean;
}

export interface TrainResult {
  online: NetworkWeights;
  /** The mean of the online weights over the last hp.averageFraction of the run; null when off (or no snapshot). */
  averaged: NetworkWeights | null;
  /** How many snapshots `averaged` is the mean of. */
  averagedSnapshots: number;
  target: NetworkWeights;
  /** Which learner took the gradient steps (trainer/learner.ts). */
  learner: string;
  decisions: number;
  gradSteps: number;
  passes: number;
  /** The most requests one pass replayed (all of the trace's once a pass completed; in this run, not a resumed one's). */
  requests: number;
  interrupted: boolean;
  seconds: number;
  last: TrainProgress;
}

/** The weights a run exports: the averaged ones when weight averaging ran, else the final online ones. */
export function exportedWeights(r: TrainResult): NetworkWeights { return r.averaged ?? r.online; }

function zeroWeights(w: NetworkWeights): NetworkWeights {
  const z = cloneWeights(w);
  for (const name of WEIGHT_NAMES) z[name].fill(0);
  return z;
}

export function checkpointOf(hp: HParams, r: TrainResult, run: number | null): Checkpoint {
  return { format: 'coldrl-checkpoint-1', hparams: hp, decisions: r.decisions, gradSteps: r.gradSteps, passes: r.passes, run,
    online: weightsToJSON(r.online), target: weightsToJSON(r.target),
    ...(r.averaged ? { averaged: weightsToJSON(r.averaged), averagedSnapshots: r.averagedSnapshots } : {}) };
}

/** Trains until hp.totalDecisions decisions (counting those of a resumed checkpoint) or a stop request. */
export async function train(hp: HParams, env: TrainEnv, hooks: TrainHooks = {}): Promise<TrainResult> {
  if (!HEADS.includes(hp.objective)) throw new ColdrlError('COLDRL_ERR_USAGE', `objective must be one of ${HEADS.join(', ')} (got ${hp.objective})`);
  if (hp.objective === 'hit-logit' && hp.warmStartDecisions < hp.totalDecisions) {
    throw new ColdrlError('COLDRL_ERR_USAGE', 'objective hit-logit is fitted by regression only: warmStartDecisions must be at least totalDecisions (or use objective q for Double-DQN steps)');
  }
  if (!GOALS.includes(hp.goal)) throw new ColdrlError('COLDRL_ERR_USAGE', `goal must be one of ${GOALS.join(', ')} (got ${hp.goal})`);
  if (hp.goal === 'bytes' && hp.objective !== 'hit-logit') throw new ColdrlError('COLDRL_ERR_USAGE', 'goal bytes needs objective hit-logit (a q model ranks by its per-byte reward)');
  for (const f of ['trainFrequency', 'targetNetworkFrequency', 'actSyncFrequency', 'batchSize', 'bufferSize'] as const) {
    if (!(Number.isInteger(hp[f]) && hp[f] >= 1)) throw new ColdrlError('COLDRL_ERR_USAGE', `${f} must be a whole number >= 1 (got ${hp[f]})`);
  }
  // a buffer that never holds enough decisions would never take a step, and the untrained start would be exported
  if (hp.bufferSize < Math.min(hp.totalDecisions, Math.max(hp.learningStarts, hp.batchSize + 1))) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `bufferSize ${hp.bufferSize} is below learningStarts ${hp.learningStarts} (or batchSize + 1): no gradient step would be taken`);
  }
  const ck = hooks.resume;
  let decisions = ck?.decisions ?? 0, gradSteps = ck?.gradSteps ?? 0, passes = ck?.passes ?? 0, requests = 0;
  // A resumed run reseeds from (seed, decisions): deterministic given the checkpoint, not bit-identical to an uninterrupted run.
  const rng = new Rng(hp.seed + decisions * 7919);
  const w0 = ck ? weightsFromJSON(ck.online) : initWeights(F, hp.hidden, rng);
  const buffer = new ReplayBuffer(hp.bufferSize, hp.k);
  const mb = newMinibatch(hp.batchSize, hp.k);
  // webgpu: the GPU-built step with the buffer mirrored on the device; else model.ts's steps (trainer/learner.ts)
  const learner = createLearner(hp, w0, ck ? weightsFromJSON(ck.target) : w0, mb);
  const agent = new Agent(w0, rng, hp, buffer);
  const epsAt = (d: number) => Math.max(hp.endEpsilon, hp.startEpsilon - (hp.startEpsilon - hp.endEpsilon) * d / Math.max(1, hp.explorationFraction * hp.totalDecisions));
  const t0 = Date.now();
  let loss = NaN, interrupted = false, lastLogAt = decisions, lastLogTime = t0, lastLogSteps = gradSteps, lastRewardSum = 0;
  let last: TrainProgress = { decisions, gradSteps, pass: passes, loss, epsilon: epsAt(decisions), hitRatio: 0, byteHitRatio: 0, meanReward: 0, stepsPerSecond: 0, decisionsPerSecond: 0 };
  let trainedUpTo = decisions;
  // a resumed run continues the checkpoint's running mean (snapshots of the run's last averageFraction)
  let avg: NetworkWeights | null = ck?.averaged ? weightsFromJSON(ck.averaged) : null, avgN = avg ? ck?.averagedSnapshots ?? 0 : 0;
  let lastCache: Cache | null = null;
  // a trace in memory never waits on I/O: the event loop (a SIGINT handler behind shouldStop) gets a turn this often
  let turnAt = Date.now() + YIELD_MS;
  const log = (cache: Cache) => {
    const t = Date.now(), dt = Math.max(1e-3, (t - lastLogTime) / 1000);
    last = {
      decisions, gradSteps, pass: passes, loss, epsilon: agent.epsilon, hitRatio: cache.stats.hitRatio, byteHitRatio: cache.stats.byteHitRatio,
      meanReward: (agent.rewardSum - lastRewardSum) / Math.max(1, decisions - lastLogAt),
      stepsPerSecond: (gradSteps - lastLogSteps) / dt, decisionsPerSecond: (decisions - lastLogAt) / dt,
    };
    lastLogAt = decisions; lastLogTime = t; lastLogSteps = gradSteps; lastRewardSum = agent.rewardSum;
    hooks.onLog?.(last);
  };
  outer: while (decisions < hp.totalDecisions) {
    passes++;
    const cache = new Cache((ctx) => new AgentPolicy(ctx, agent, hp, hp.seed + passes, env.historyLength ?? 0), { capacity: env.capacity, semantics: 'nginx', ...env.rules });
    lastCache = cache;
    if (env.history) {
      for await (const b of env.history()) {
        for (let i = 0; i < b.length; i++) cache.access(b, i);
        if (Date.now() >= turnAt) { await turn(); turnAt = Date.now() + YIELD_MS; }
        if (hooks.shouldStop?.()) { interrupted = true; break outer; }
      }
      cache.startCounting();
    }
    const startDecisions = agent.decisions;
    let offset = 0;
    for await (const win of env.pass()) {
      const nu = win.nextUse();
      if (agent.nextTime.length < win.objects) {
        const b = new Float64Array(Math.max(win.objects, agent.nextTime.length * 2)).fill(Infinity);
        b.set(agent.nextTime);
        agent.nextTime = b;
      }
      // an object the cache holds from before this window (the history, or the previous window) is next
      // requested at its first request in it, if any
      agent.nextTime.fill(Infinity, 0, win.objects);
      for (let i = win.length - 1; i >= 0; i--) agent.nextTime[win.id[i]!] = win.time[i]!;
      for (let i = 0; i < win.length; i++) {
        agent.epsilon = epsAt(decisions);
        cache.access(win, i);
        const u = nu[i]!;
        agent.nextTime[win.id[i]!] = u === Infinity ? Infinity : win.time[u]!;
        decisions = (ck?.decisions ?? 0) + agent.decisions;
        while (decisions - trainedUpTo >= hp.trainFrequency) {
          trainedUpTo += hp.trainFrequency;
          if (buffer.size < Math.max(hp.learningStarts, hp.batchSize + 1)) continue;
          const warm = trainedUpTo <= hp.warmStartDecisions;
          const keepLoss = decisions - lastLogAt >= hp.logFrequency || decisions >= hp.totalDecisions;
          learner.step(buffer, rng, warm, keepLoss);
          gradSteps++;
          if (warm && trainedUpTo + hp.trainFrequency > hp.warmStartDecisions) learner.syncTarget();
          if (gradSteps % hp.targetNetworkFrequency === 0) learner.syncTarget();
          if (gradSteps % hp.actSyncFrequency === 0) {
            const w = await learner.read();
            agent.forward = new Forward(w, agent.scoring);
            if (hp.averageFraction > 0 && decisions >= (1 - hp.averageFraction) * hp.totalDecisions) {
              avg ??= zeroWeights(w);
              avgN++;
              for (const name of WEIGHT_NAMES) { const a = avg[name], x = w[name]; for (let j = 0; j < a.length; j++) a[j]! += (x[j]! - a[j]!) / avgN; }
            }
          }
          if (keepLoss) loss = await learner.loss();
        }
        if (decisions - lastLogAt >= hp.logFrequency) log(cache);
        if ((i & 255) === 0 && Date.now() >= turnAt) { await turn(); turnAt = Date.now() + YIELD_MS; }
        if (decisions >= hp.totalDecisions || ((i & 255) === 0 && hooks.shouldStop?.())) {
          interrupted = decisions < hp.totalDecisions;
          requests = Math.max(requests, offset + i + 1);
          break outer;
        }
      }
      offset += win.length;
      requests = Math.max(requests, offset);
    }
    buffer.markDone();
    if (agent.decisions === startDecisions) throw new ColdrlError('COLDRL_ERR_USAGE', 'a pass over the trace made no eviction decision: the cache holds the whole trace, nothing to learn');
    if (hooks.shouldStop?.()) { interrupted = true; break; }
  }
  if (lastCache && decisions > lastLogAt) log(lastCache);
  const result: TrainResult = {
    online: await learner.read(), averaged: avg, averagedSnapshots: avgN, target: await learner.readTarget(), learner: learner.name, decisions, gradSteps, passes, requests, interrupted, seconds: (Date.now() - t0) / 1000, last,
  };
  learner.dispose();
  return result;
}
