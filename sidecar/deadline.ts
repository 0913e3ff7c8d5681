/**
 * The deadline scheduler: a FIFO of requests in front of the inference worker, raced against each
 * request's deadline (budget counted from the read).
 *
 * - At most `cap` requests wait or run; the Decider answers more with OVERLOAD at once (never queued).
 * - One job at a time on the worker, in arrival order. (No prediction from past inference times: on a
 *   shared VM they swing by 10x, and a predictor fed by them refused good jobs for seconds; the race
 *   below is exact.)
 * - While a job runs, this thread sleeps on the worker's DONE word with a futex timeout set to the earliest
 *   deadline (microsecond resolution; libuv timers have 1 ms), so the worker gets the CPU and the answer is
 *   seen the moment it is stored. Between jobs the event loop turns (setImmediate) and reads sockets. A
 *   request whose deadline passes, queued or running, is answered with DEADLINE; the model's late answer
 *   is dropped (counted as lateAnswers) and the worker's next job waits until it is free.
 * - An answer flagged as failed (exception or non-finite scores) gives MODEL_ERROR.
 * - Inline runs: the two thread wake-ups per job (worker woken by the submit, this thread by the answer)
 *   cost more than the inference itself on 2 vCPUs. When nothing is queued, no inline run is in progress,
 *   the worker carries a socket-thread copy of its model (`inline`), and the model's start-up inference time
 *   times INLINE_FACTOR fits the time left to the request's deadline, the model runs on this thread instead
 *   (onnxruntime: one setImmediate, then the native run). Such a run cannot be raced: its answer after the
 *   deadline is dropped for DEADLINE (counted as a late answer) and turns inline runs off for
 *   INLINE_BACKOFF_MS, so the worker and its race serve meanwhile. (Backing off when a run merely took more
 *   than half of its time turned inline runs off most of the time on the noisy 2-core VM.)
 * One timer-free loop for all requests; no allocation per request on the worker path (an inline run
 * allocates what onnxruntime's session.run allocates).
 */
import { FEATURE_COUNT, MAX_CANDIDATES } from '../replay/features.js';
import { Reason, type DecideSlot } from './codec.js';
import type { Decider } from './decide.js';
import { C, type ModelWorker } from './model-worker.js';

const WAKE_SLACK_MS = 0.06;
/** An inline run needs remaining budget >= INLINE_FACTOR x the model's start-up inference time. */
const INLINE_FACTOR = 4;
/** Inline runs stay off this long after one that answered after its deadline. */
const INLINE_BACKOFF_MS = 100;

export class DeadlineScheduler {
  worker: ModelWorker | null = null;
  /** Ring of queued slots. */
  private readonly ring: (DecideSlot | null)[];
  private head = 0;
  private len = 0;
  /** The slot whose job runs on `runOn` (null: none, or it was already answered). */
  private running: DecideSlot | null = null;
  private runOn: ModelWorker | null = null;
  /** A job whose request was answered by the deadline is still running on runOn. */
  private ghost = false;
  private polling = false;
  /** Replaced models waiting for their last job before they are stopped. */
  private readonly retiring: ModelWorker[] = [];
  private readonly pollFn = () => this.poll();
  /** The inline run (at most one): its request (null once answered by a flush) and its model. */
  private inlineSlot: DecideSlot | null = null;
  private inlineOn: ModelWorker | null = null;
  /** performance.now() before which no inline run starts. */
  private inlineOffUntil = 0;
  private readonly inlineScores = new Float32Array(MAX_CANDIDATES);
  private readonly inlineOkFn = () => this.inlineDone(false);
  private readonly inlineErrFn = () => this.inlineDone(true);

  constructor(private readonly decider: Decider, private readonly cap: number) {
    this.ring = new Array<DecideSlot | null>(cap).fill(null);
  }

  /** Requests waiting or running (the overload measure). */
  get pending(): number { return this.len + (this.running ? 1 : 0) + (this.inlineSlot ? 1 : 0); }

  /** Queues a request; false when `cap` are already pending. */
  enqueue(slot: DecideSlot): boolean {
    if (this.pending >= this.cap) return false;
    const now = performance.now();
    if (this.runInline(slot, now)) return true;
    this.ring[(this.head + this.len) % this.cap] = slot;
    this.len++;
    this.pump(now);
    this.arm();
    return true;
  }

  /** Serves new jobs from w from now on; returns the previous worker (stopped once its job is done). */
  swap(w: ModelWorker | null): ModelWorker | null {
    const old = this.worker;
    this.worker = w;
    if (old && old !== w) this.retiring.push(old);
    this.retire();
    if (!w) this.drainQueue(Reason.NO_MODEL);
    return old;
  }

  /** Starts an inline run of slot when the rules above allow one; false leaves it to the worker. */
  private runInline(slot: DecideSlot, now: number): boolean {
    const w = this.worker;
    const m = w ? w.inline : null;
    if (!w || !m || !w.alive || this.inlineOn || this.len > 0 || now < this.inlineOffUntil) return false;
    if ((slot.deadline - now) * 1000 < INLINE_FACTOR * w.inferUs) return false;
    this.inlineSlot = slot;
    this.inlineOn = w;
    this.decider.stats.inlineRuns++;
    m.score(slot.features, slot.n, this.inlineScores).then(this.inlineOkFn, this.inlineErrFn);
    return true;
  }

  private inlineDone(failed: boolean): void {
    const slot = this.inlineSlot;
    const now = performance.now();
    this.inlineSlot = null;
    this.inlineOn = null;
    if (slot) {
      for (let i = 0; i < slot.n && !failed; i++) if (!Number.isFinite(this.inlineScores[i]!)) failed = true;
      if (now >= slot.deadline) {
        this.inlineOffUntil = now + INLINE_BACKOFF_MS;
        this.decider.stats.lateAnswers++;
        this.decider.fallback(slot, Reason.DEADLINE);
      }
      else if (failed) this.decider.fallback(slot, Reason.MODEL_ERROR);
      else this.decider.answerModel(slot, this.inlineScores);
    }
    this.retire();
    this.pump(now);
    this.arm();
  }

  private arm(): void {
    if (!this.polling && (this.running || this.len > 0)) { this.polling = true; setImmediate(this.pollFn); }
  }

  private poll(): void {
    this.polling = false;
    let now = performance.now();
    const r0 = this.runOn;
    if (r0 && !r0.done && (this.running || this.len > 0)) now = this.waitForWorker(r0, now);
    // the deadline first: an answer that is there but late is dropped like one still running
    if (this.running && now >= this.running.deadline) { this.answerRunning(Reason.DEADLINE); this.ghost = true; }
    const r = this.runOn;
    if (r && r.done) this.complete(r);
    else if (r && !r.alive) { this.runOn = null; this.ghost = false; if (this.running) this.answerRunning(Reason.MODEL_ERROR); }
    this.expireQueued(now);
    this.pump(now);
    this.arm();
  }

  /**
   * Blocks this thread until the worker answers or the earliest deadline comes, whichever is first: a futex
   * wait (Atomics.wait, microsecond timeout) that leaves the CPU to the worker, then a short spin for the
   * last WAKE_SLACK_MS, because the kernel may wake a sleeping thread up to ~50 us late. Sockets are read
   * again right after (setImmediate). Returns the time it stopped waiting.
   */
  private waitForWorker(w: ModelWorker, now: number): number {
    let earliest = this.running ? this.running.deadline : Infinity;
    if (this.inlineSlot && this.inlineSlot.deadline < earliest) earliest = this.inlineSlot.deadline;
    for (let i = 0; i < this.len; i++) { const d = this.ring[(this.head + i) % this.cap]!.deadline; if (d < earliest) earliest = d; }
    const seen = Atomics.load(w.ctrl, C.DONE);
    if (seen === w.submitted) return now;
    const sleep = earliest - WAKE_SLACK_MS - now;
    if (sleep > 0) Atomics.wait(w.ctrl, C.DONE, seen, sleep);
    now = performance.now();
    while (!w.done && now < earliest && w.alive) now = performance.now();
    return now;
  }

  private complete(w: ModelWorker): void {
    this.runOn = null;
    const slot = this.running;
    this.running = null;
    if (this.ghost) { this.ghost = false; this.decider.stats.lateAnswers++; }
    if (slot) {
      if (w.failed) this.decider.fallback(slot, Reason.MODEL_ERROR);
      else this.decider.answerModel(slot, w.scores);
    }
    this.retire();
  }

  private answerRunning(reason: number): void {
    const slot = this.running!;
    this.running = null;
    this.decider.fallback(slot, reason);
  }

  private expireQueued(now: number): void {
    let kept = 0;
    const n = this.len;
    for (let i = 0; i < n; i++) {
      const at = (this.head + i) % this.cap;
      const s = this.ring[at]!;
      this.ring[at] = null;
      if (now >= s.deadline) this.decider.fallback(s, Reason.DEADLINE);
      else this.ring[(this.head + kept++) % this.cap] = s;
    }
    this.len = kept;
  }

  private drainQueue(reason: number): void {
    while (this.len > 0) {
      const s = this.ring[this.head]!;
      this.ring[this.head] = null;
      this.head = (this.head + 1) % this.cap;
      this.len--;
      this.decider.fallback(s, reason);
    }
  }

  /** Starts the next queued job if the worker is free. */
  private pump(now: number): void {
    const w = this.worker;
    if (this.runOn || this.len === 0) return;
    if (!w || !w.alive) { this.drainQueue(Reason.NO_MODEL); return; }
    if (w.busy) return; // a late job of an answered request still runs
    while (this.len > 0) {
      const s = this.ring[this.head]!;
      this.ring[this.head] = null;
      this.head = (this.head + 1) % this.cap;
      this.len--;
      if (now >= s.deadline) { this.decider.fallback(s, Reason.DEADLINE); continue; }
      const dst = w.features;
      const src = s.features;
      for (let i = 0, m = s.n * FEATURE_COUNT; i < m; i++) dst[i] = src[i]!;
      this.running = s;
      this.runOn = w;
      w.submit(s.n);
      return;
    }
  }

  /** Stops replaced workers that have no job left. */
  private retire(): void {
    for (let i = this.retiring.length - 1; i >= 0; i--) {
      const w = this.retiring[i]!;
      if (w === this.runOn || w === this.inlineOn) continue;
      this.retiring.splice(i, 1);
      void w.stop();
    }
  }

  /** Answers everything still waiting (shutdown). */
  flush(reason: number): void {
    if (this.running) this.answerRunning(reason);
    const s = this.inlineSlot;
    this.inlineSlot = null;
    if (s) this.decider.fallback(s, reason);
    this.drainQueue(reason);
  }
}
