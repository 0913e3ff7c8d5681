/**
 * The deadline scheduler: each request is answered by the model inline on this (the socket) thread when it
 * can be, else through the inference worker raced against its deadline (budget counted from the read).
 *
 * - Inline runs (the default; off with `coldrl serve --no-inline`): when nothing is queued, the worker
 *   carries a socket-thread copy of its model (`inline`), and the time left to the request's deadline is at
 *   least INLINE_FACTOR x the model's median run time (the last RUN_WINDOW runs, inline or on the worker;
 *   the worker's start-up median until then), the model runs here, synchronously (ColdrlModel.scoreSync:
 *   the native run, no event-loop turn). Measured on the 2-core VM at 1,000 requests/s, the two thread
 *   wake-ups of the worker path cost more than the inference, and a request sent there was late about one
 *   time in four, against under one in a hundred inline (docs in sidecar/README.md). An inline run cannot
 *   be raced: an answer after the deadline is replaced by the DEADLINE fallback (late, counted as a late
 *   answer). A model whose median run does not fit 1.5 times into the time left never runs inline, so a
 *   slow model is raced on the worker. (A median, not a tail quantile, and 1.5, not 3: on the shared VM
 *   inference slows down ten-fold for ~20 ms bursts; a p90 estimate or a factor of 3 then sent good
 *   requests to the worker path, which is slower still and missed more deadlines: 2.2% against 1.6%.)
 * - The worker path: one job at a time, in arrival order; at most `cap` requests wait or run, and the
 *   Decider answers more with OVERLOAD at once (never queued). While a job runs, this thread sleeps on the
 *   worker's DONE word with a futex timeout set to the earliest deadline (microsecond resolution; libuv
 *   timers have 1 ms), so the worker gets the CPU and the answer is seen the moment it is stored; it sleeps
 *   1 ms at a time at most (WAIT_SLICE_MS), so that a long budget (up to 1 s, decide.ts MAX_BUDGET_US)
 *   neither keeps the sockets unread nor hides a worker that died mid-job. Between jobs and slices the
 *   event loop turns (setImmediate) and reads sockets. A request whose deadline passes, queued or
 *   running, is answered with DEADLINE; the model's late answer is dropped (counted as a late answer when
 *   it comes, watchGhost) and the worker's next job waits until it is free.
 * - An answer flagged as failed (exception or non-finite scores) gives MODEL_ERROR.
 * One timer-free loop for all requests; no allocation per request on our side (onnxruntime's native run
 * returns a small object per call).
 */
import { FEATURE_COUNT, MAX_CANDIDATES } from '../replay/features.js';
import { Reason, type DecideSlot } from './codec.js';
import type { Decider } from './decide.js';
import { C, type ModelWorker } from './model-worker.js';

const WAKE_SLACK_MS = 0.06;
/** The socket thread blocks on the worker at most this long at a time (then reads sockets and events). */
const WAIT_SLICE_MS = 1;
/** A late job is looked at when it ends, or after this long (a worker that died never ends it). */
const GHOST_WAIT_MS = 50;
/** Atomics.waitAsync (ES2024, in Node since 16; this project's lib is ES2022). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: Promise<unknown> | string };
}).waitAsync;
/** An inline run needs time left to the deadline >= INLINE_FACTOR x the model's median run time. */
const INLINE_FACTOR = 1.5;
/** The median is over the last RUN_WINDOW runs, recomputed every RUN_WINDOW / 4. */
const RUN_WINDOW = 32;

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
  /** A waitAsync on the ghost's worker is pending (watchGhost). */
  private watchingGhost = false;
  private readonly ghostFn = () => this.ghostSeen();
  private polling = false;
  /** Replaced models waiting for their last job before they are stopped. */
  private readonly retiring: ModelWorker[] = [];
  private readonly pollFn = () => this.poll();
  /** The inline run (at most one): its request (null once answered by a flush) and its model. */
  private inlineSlot: DecideSlot | null = null;
  private inlineOn: ModelWorker | null = null;
  /** The worker whose model the run-time estimate is about. */
  private estimateFor: ModelWorker | null = null;
  /** The model's last RUN_WINDOW run times, inline or on the worker (microseconds): a ring and its fill. */
  private readonly runTimes = new Float64Array(RUN_WINDOW);
  private readonly runSorted = new Float64Array(RUN_WINDOW);
  private runCount = 0;
  /** The median of runTimes (the worker's start-up median until the window has filled once). */
  private runEstimateUs = -1;
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
    // w may be dead (reload.ts keeps it while it restarts): its socket-thread copy does not need the thread
    if (!w || !m || this.inlineOn || this.len > 0) return false;
    if (this.estimateFor !== w) this.resetEstimate(w);
    if ((slot.deadline - now) * 1000 < INLINE_FACTOR * this.runEstimateUs) return false;
    this.inlineSlot = slot;
    this.inlineOn = w;
    this.decider.stats.inlineRuns++;
    if (m.hasSync) {
      let failed = false;
      try { m.scoreSync(slot.features, slot.n, this.inlineScores); } catch { failed = true; }
      this.noteRun((performance.now() - now) * 1000);
      this.inlineDone(failed);
    } else {
      m.score(slot.features, slot.n, this.inlineScores).then(this.inlineOkFn, this.inlineErrFn);
    }
    return true;
  }

  private resetEstimate(w: ModelWorker): void {
    this.estimateFor = w;
    this.runCount = 0;
    this.runEstimateUs = w.inferUs;
  }

  /** Adds a run time to the window; re-estimates every RUN_WINDOW / 4 runs. */
  private noteRun(us: number): void {
    this.runTimes[this.runCount % RUN_WINDOW] = us;
    this.runCount++;
    if (this.runCount >= RUN_WINDOW && this.runCount % (RUN_WINDOW / 4) === 0) {
      const a = this.runSorted;
      a.set(this.runTimes);
      a.sort();
      this.runEstimateUs = a[RUN_WINDOW >> 1]!;
    }
  }

  private inlineDone(failed: boolean): void {
    const slot = this.inlineSlot;
    const w = this.inlineOn!;
    const now = performance.now();
    this.inlineSlot = null;
    this.inlineOn = null;
    if (slot) {
      for (let i = 0; i < slot.n && !failed; i++) if (!Number.isFinite(this.inlineScores[i]!)) failed = true;
      if (now >= slot.deadline) {
        this.decider.stats.lateAnswers++;
        this.decider.fallback(slot, Reason.DEADLINE);
      }
      else if (failed) this.decider.fallback(slot, Reason.MODEL_ERROR);
      else this.decider.answerModel(slot, this.inlineScores, w);
    }
    this.retire();
    this.pump(now);
    this.arm();
  }

  private arm(): void {
    if (this.polling) return;
    if (this.running || this.len > 0) { this.polling = true; setImmediate(this.pollFn); }
    else if (this.ghost && this.runOn && !this.watchingGhost) this.watchGhost(this.runOn);
  }

  /**
   * Only a late job runs (its request was answered DEADLINE): waits for it off the thread (Atomics.waitAsync,
   * a promise when it ends, or after GHOST_WAIT_MS to look at a worker that may have died), so the late
   * answer is counted when it comes and the worker is free for the next request then, without polling.
   * Late jobs only: the promise is an allocation the request path does not make.
   */
  private watchGhost(w: ModelWorker): void {
    this.watchingGhost = true;
    const seen = Atomics.load(w.ctrl, C.DONE);
    const r = seen === w.submitted ? null : waitAsync(w.ctrl, C.DONE, seen, GHOST_WAIT_MS);
    if (r && r.async) void (r.value as Promise<unknown>).then(this.ghostFn);
    else queueMicrotask(this.ghostFn);
  }

  private ghostSeen(): void {
    this.watchingGhost = false;
    if (!this.polling) this.poll();
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
   * Blocks this thread until the worker answers or the earliest deadline comes, whichever is first, but
   * never longer than WAIT_SLICE_MS: a futex wait (Atomics.wait, microsecond timeout) that leaves the CPU to
   * the worker, then, when the deadline is what ends it, a short spin for the last WAKE_SLACK_MS, because
   * the kernel may wake a sleeping thread up to ~50 us late. Sockets are read again right after
   * (setImmediate), and so is the worker's exit: a worker that died mid-job is seen within a slice, not at
   * a deadline up to MAX_BUDGET_US away. Returns the time it stopped waiting.
   */
  private waitForWorker(w: ModelWorker, now: number): number {
    let earliest = this.running ? this.running.deadline : Infinity;
    if (this.inlineSlot && this.inlineSlot.deadline < earliest) earliest = this.inlineSlot.deadline;
    for (let i = 0; i < this.len; i++) { const d = this.ring[(this.head + i) % this.cap]!.deadline; if (d < earliest) earliest = d; }
    const seen = Atomics.load(w.ctrl, C.DONE);
    if (seen === w.submitted) return now;
    const sliceEnd = now + WAIT_SLICE_MS;
    const until = earliest < sliceEnd ? earliest : sliceEnd;
    const sleep = until - WAKE_SLACK_MS - now;
    if (sleep > 0) Atomics.wait(w.ctrl, C.DONE, seen, sleep);
    now = performance.now();
    if (until === earliest) while (!w.done && now < earliest && w.alive) now = performance.now();
    return now;
  }

  private complete(w: ModelWorker): void {
    this.runOn = null;
    const slot = this.running;
    this.running = null;
    if (this.ghost) { this.ghost = false; this.decider.stats.lateAnswers++; }
    if (w === this.worker && !w.failed) { if (this.estimateFor !== w) this.resetEstimate(w); this.noteRun(w.runUs); }
    if (slot) {
      if (w.failed) this.decider.fallback(slot, Reason.MODEL_ERROR);
      else this.decider.answerModel(slot, w.scores, w);
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
