/**
 * One decision, from a decoded request to its answer, for every transport (framed socket and gRPC).
 *
 *   bad request -> LRU fallback BAD_REQUEST        no model       -> LRU fallback NO_MODEL
 *   too many in flight -> LRU fallback OVERLOAD    otherwise      -> the deadline scheduler (deadline.ts)
 *
 * The victim rule is replay/candidates.ts selectVictims, on the model's scores or (fallback) in index order,
 * which is LRU because candidates arrive oldest first. Slots come from a pool allocated at start
 * (max-inflight + 1); a request that finds the pool empty is answered at once from a scratch slot.
 */
import { COUNT_BOUND_NEED, countBoundSource, perObjectScores, selectVictims, SOURCES } from '../replay/candidates.js';
import { MAX_CANDIDATES } from '../replay/features.js';
import type { BusyPoller } from './busy-poll.js';
import { Bad, CANDIDATE_SOURCE_IDS, CANDIDATE_SOURCE_NAMES, DecideSlot, Reason, Source } from './codec.js';
import { DeadlineScheduler } from './deadline.js';
import type { DecisionStats } from './metrics.js';
import type { ModelWorker } from './model-worker.js';

/**
 * Bit 62 of request_id (bit 30 of its high word) marks a keep-alive probe (proto/README.md): the NGINX module
 * sends one every coldrl_keepalive to keep the connection and the model warm. It is answered like any
 * request but counted apart, so that it does not dilute the fallback rate or the latency figures.
 */
export const PROBE_BIT_HI = 1 << 30;

/**
 * The longest budget a request gets, microseconds (1 s): budget_us is a uint32, and a request that asked
 * for an hour would hold its slot, and the queue behind it, for an hour. A larger budget_us is cut to this;
 * `coldrl serve --deadline-us` accepts no more.
 */
export const MAX_BUDGET_US = 1_000_000;

/** Who receives an answer: a framed connection or a gRPC call. */
export interface Answerer {
  /** False once the peer is gone; answers are then dropped. */
  readonly open: boolean;
  /** `version`: UTF-8 model_version, of the model that computed the answer (fallbacks: the serving one). */
  deliver(slot: DecideSlot, victimsLo: number, victimsHi: number, source: number, reason: number, serverUs: number, version: Uint8Array): void;
}

export interface DeciderOptions {
  /** Budget when a request carries 0, microseconds (at most MAX_BUDGET_US). */
  deadlineUs: number;
  /** Requests waiting for or in inference at most; more are answered OVERLOAD. */
  maxInflight: number;
  /** Run the model on the socket thread when its median run time fits the budget (deadline.ts). */
  inline: boolean;
  /** Keeps the socket thread polling after each answer (busy-poll.ts); null: off. */
  poller?: BusyPoller | null;
  /** Where a one-off warning goes (a request's candidate source differs from the model's). */
  log?: (line: string) => void;
}

export class Decider {
  readonly scheduler: DeadlineScheduler;
  private readonly slots: DecideSlot[];
  private readonly free: Int32Array;
  private nFree: number;
  private readonly scratch = new DecideSlot(-1);
  private readonly victims = new Uint8Array(MAX_CANDIDATES);
  private readonly order = new Int32Array(MAX_CANDIDATES);
  private readonly noVersion = new Uint8Array(0);
  /** UTF-8 bytes of the serving model's version (empty: none); fallbacks carry it. */
  versionBytes: Uint8Array = this.noVersion;

  constructor(readonly stats: DecisionStats, readonly opts: DeciderOptions) {
    const n = opts.maxInflight + 1;
    this.slots = Array.from({ length: n }, (_, i) => new DecideSlot(i));
    this.free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.nFree = n;
    this.scheduler = new DeadlineScheduler(this, opts.maxInflight);
  }

  /** A slot to decode into: from the pool, or the scratch slot when the pool is empty. */
  acquire(): DecideSlot {
    return this.nFree > 0 ? this.slots[this.free[--this.nFree]!]! : this.scratch;
  }

  release(slot: DecideSlot): void {
    slot.owner = null;
    if (slot.index >= 0) this.free[this.nFree++] = slot.index;
  }

  get model(): ModelWorker | null { return this.scheduler.worker; }

  /** Swaps the serving model (null: none); a job running on the old one finishes there. */
  setModel(w: ModelWorker | null): ModelWorker | null {
    this.versionBytes = w ? w.versionBytes : this.noVersion;
    return this.scheduler.swap(w);
  }

  /** Decides a decoded request read at slot.t0 (performance.now() ms); answers now or via the scheduler. */
  decide(slot: DecideSlot): void {
    const asked = slot.budgetUs > 0 ? slot.budgetUs : this.opts.deadlineUs;
    slot.deadline = slot.t0 + (asked < MAX_BUDGET_US ? asked : MAX_BUDGET_US) / 1000;
    if (slot.bad !== Bad.OK) {
      if ((slot.idHi & PROBE_BIT_HI) === 0) this.stats.badRequests[slot.bad]!++; // a probe is counted as a probe only
      this.fallback(slot, Reason.BAD_REQUEST);
      return;
    }
    const w = this.scheduler.worker;
    // a dead worker still serves when the socket thread has its own copy of the model (reload.ts): inline runs only
    if (!w || (!w.alive && !w.inline)) { this.fallback(slot, Reason.NO_MODEL); return; }
    if (slot.candidateSource !== 0 && w.candidateSource !== 0 && slot.candidateSource !== w.candidateSource && !countBoundSample(slot, w)) this.sourceMismatch(slot, w);
    if (slot.index < 0 || !this.scheduler.enqueue(slot)) this.fallback(slot, Reason.OVERLOAD);
  }

  /**
   * The request's candidates were picked by another source than the model was trained on: it is still
   * answered by the model (the ranking may suit them or not), but counted, and logged once per model.
   */
  private sourceMismatch(slot: DecideSlot, w: ModelWorker): void {
    if ((slot.idHi & PROBE_BIT_HI) !== 0) return;
    this.stats.sourceMismatches++;
    this.stats.minuteSourceMismatches++;
    if (w.mismatchLogged) return;
    w.mismatchLogged = true;
    const got = CANDIDATE_SOURCE_NAMES[slot.candidateSource] ?? `#${slot.candidateSource}`, want = CANDIDATE_SOURCE_NAMES[w.candidateSource]!;
    this.opts.log?.(`warning: requests carry candidates from source ${got}, model ${w.version} was trained on ${want}: `
      + `set coldrl_candidates ${want} in nginx.conf, or retrain with --candidates ${got}`);
  }

  /** Answers with LRU over the candidates (index order) and releases the slot. */
  fallback(slot: DecideSlot, reason: number): void {
    selectVictims(null, slot.sizes, slot.n, slot.bytesNeeded, this.victims, this.order);
    this.finish(slot, Source.FALLBACK, reason, this.versionBytes);
  }

  /**
   * Answers with the scores model `w` computed and releases the slot. The answer carries w's version, which
   * is not the serving one when a reload swapped models while the job ran.
   */
  answerModel(slot: DecideSlot, scores: Float32Array, w: ModelWorker): void {
    // bytes_needed = 1: only the keys zone's node count is over (the module's watermark): rank per object
    if (w.sizeTerm && slot.bytesNeeded <= COUNT_BOUND_NEED) perObjectScores(scores, slot.features, slot.n, w.sizeTerm);
    selectVictims(scores, slot.sizes, slot.n, slot.bytesNeeded, this.victims, this.order);
    this.finish(slot, Source.MODEL, Reason.NONE, w.versionBytes);
  }

  private finish(slot: DecideSlot, source: number, reason: number, version: Uint8Array): void {
    let lo = 0;
    let hi = 0;
    const n = slot.n;
    for (let i = 0; i < n; i++) {
      if (this.victims[i] === 0) continue;
      if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32);
    }
    const now = performance.now();
    const us = (now - slot.t0) * 1000;
    const serverUs = us > 0 ? Math.ceil(us) : 0;
    if ((slot.idHi & PROBE_BIT_HI) !== 0) this.stats.probes++;
    else this.stats.record(reason, us);
    const owner = slot.owner as Answerer | null;
    if (owner && owner.open) owner.deliver(slot, lo >>> 0, hi >>> 0, source, reason, serverUs, version);
    this.release(slot);
    this.opts.poller?.kick(now);
  }
}

/**
 * A decision bound by the object count (bytes_needed = 1) draws its candidates uniformly when the model's
 * source is a keyed one (replay/candidates.ts countBoundSource; the NGINX module does the same): not a
 * mismatch.
 */
const SAMPLE_ID = CANDIDATE_SOURCE_IDS.sample!;

function countBoundSample(slot: DecideSlot, w: ModelWorker): boolean {
  if (slot.bytesNeeded > COUNT_BOUND_NEED || slot.candidateSource !== SAMPLE_ID) return false;
  const trained = SOURCES[CANDIDATE_SOURCE_NAMES[w.candidateSource] ?? ''];
  return trained !== undefined && countBoundSource(trained).name === 'sample';
}
