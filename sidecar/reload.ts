/**
 * Hot reload: SIGHUP, a watched model file, or the Reload RPC all call ModelManager.reload.
 * The model's path is the one it was last loaded from: the start path until a Reload RPC names another
 * that loads; SIGHUP reloads that path and the watcher follows it.
 *
 * A new model is loaded in a NEW inference worker (sidecar/model-worker.ts), which validates it first
 * (replay/model.ts: loads, metadata matches the feature spec, a probe gives finite scores). Only when it is
 * ready does the scheduler switch to it; the old worker finishes the job it has and is then stopped. So no
 * request is dropped or even paused by a swap, and a bad file is refused while the old model keeps serving.
 * Reloads run one at a time, in the order asked. Every change of the serving model (a load, a worker's
 * death, close) is told to the onServingChange listeners (gRPC Health.Watch), whatever triggered it.
 *
 * An inference worker that exits on its own (a crash; not a swap or close) is restarted: its model file is
 * loaded again in a new worker, RESTART_FIRST_MS later, then twice as long after each restart that fails or
 * each death within RESTART_STABLE_MS of the last load, up to RESTART_MAX_MS. Meanwhile the dead worker
 * stays the serving model when the socket thread has its own copy of the model (inline runs, deadline.ts):
 * requests that can run inline get the model's answer, the others NO_MODEL; without a copy every request
 * gets NO_MODEL. Restarts are counted (coldrl_sidecar_worker_restarts_total, _restart_failures_total).
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { goalOf } from '../replay/candidates.js';
import { ColdrlError, isColdrlError, type ErrorCode } from '../replay/errors.js';
import { belowLru, describeHoldout, holdoutOf, lossToLru, type Holdout } from '../replay/holdout.js';
import { ColdrlModel } from '../replay/model.js';
import type { Decider } from './decide.js';
import { ModelWorker } from './model-worker.js';

/** `error` starts with `code` (a replay/errors.ts code) when the reload was refused; '' when ok. */
export interface ReloadResult { ok: boolean; version: string; code: ErrorCode | ''; error: string }

const WATCH_DEBOUNCE_MS = 250;
/** Restart backoff after a worker's death: first delay, doubling up to the cap. */
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 30_000;
/** A worker that served this long before it died restarts after RESTART_FIRST_MS again. */
const RESTART_STABLE_MS = 60_000;

/** Why a model is loaded: the first load, a reload (SIGHUP, watcher, RPC), a restart after a worker died. */
type LoadKind = 'start' | 'reload' | 'restart';

export class ModelManager {
  private chain: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | null = null;
  /** watch() was called: the watcher follows `current`. */
  private watching = false;
  /** The path of the serving model (the start path until another loads), and the one watched now. */
  private current: string;
  private watched = '';
  private debounce: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly listeners: (() => void)[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDelayMs = RESTART_FIRST_MS;
  /** performance.now() of the last load that was swapped in. */
  private servingSince = 0;
  readonly path: string;

  constructor(private readonly decider: Decider, path: string, private readonly log: (line: string) => void,
    private readonly spinUs: number) {
    this.path = path ? resolve(path) : '';
    this.current = this.path;
  }

  get version(): string { return this.decider.model?.version ?? ''; }

  /** The serving model's held-out check (`coldrl train --holdout`, replay/holdout.ts); null without one. */
  get holdout(): Holdout | null {
    const m = this.decider.model;
    return m ? holdoutOf(m.metadata) : null;
  }

  /** Calls fn after every change of the serving model (another model, or none). */
  onServingChange(fn: () => void): void { this.listeners.push(fn); }

  /** Loads the first model; a missing or bad one is logged and the sidecar serves NO_MODEL fallbacks. */
  async start(): Promise<ReloadResult> {
    if (!this.path) { this.log('no --model: serving LRU fallbacks (NO_MODEL)'); return { ok: false, version: '', code: 'COLDRL_ERR_USAGE', error: 'COLDRL_ERR_USAGE: no model path' }; }
    return this.enqueue(() => this.load(this.path, 'start'));
  }

  /** Loads `path` (default: the serving model's path), validates it, and swaps it in; the old one keeps serving on failure. */
  reload(path?: string): Promise<ReloadResult> {
    const p = path ? resolve(path) : this.current;
    if (!p) return Promise.resolve({ ok: false, version: this.version, code: 'COLDRL_ERR_USAGE', error: 'COLDRL_ERR_USAGE: no model path given and none at start' });
    return this.enqueue(() => this.load(p, 'reload'));
  }

  private enqueue(job: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const next = this.chain.then(job, job);
    this.chain = next;
    return next;
  }

  private async load(path: string, kind: LoadKind): Promise<ReloadResult> {
    const stats = this.decider.stats;
    if (this.closed) return { ok: false, version: this.version, code: '', error: 'shutting down' };
    let w: ModelWorker;
    try {
      w = await ModelWorker.start(path, this.spinUs, (dead) => this.workerDied(dead));
      if (this.decider.opts.inline) {
        // the socket thread's own copy for inline runs; a file replaced in between is left to the thread alone
        try {
          const m = await ColdrlModel.load(path);
          if (m.version === w.version) w.inline = m; else await m.close();
        } catch { /* the worker has the model; inline runs stay off for it */ }
      }
      if (!w.alive) {
        await w.stop();
        throw new ColdrlError('COLDRL_ERR_MODEL', `${path}: inference worker exited before it could serve`);
      }
    } catch (e) {
      if (kind === 'reload') stats.failedReloads++;
      else if (kind === 'restart') stats.failedWorkerRestarts++;
      const code: ErrorCode = isColdrlError(e) ? e.code : 'COLDRL_ERR_MODEL';
      const error = `${code}: ${(e as Error).message}`;
      this.log(`model refused, ${this.serving()}: ${error}`);
      return { ok: false, version: this.version, code, error };
    }
    if (this.closed) { await w.stop(); return { ok: false, version: this.version, code: '', error: 'shutting down' }; }
    const old = this.serve(w);
    this.current = path;
    if (this.watching && path !== this.watched) this.rewatch();
    if (kind === 'reload') stats.reloads++;
    else if (kind === 'restart') stats.workerRestarts++;
    this.log(`${kind === 'restart' ? 'inference worker restarted: ' : ''}serving model ${w.version} from ${path} (trained on candidates ${w.metadata['coldrl.candidates'] ?? '(not recorded)'}, K ${w.k}, for ${goalOf(w.metadata['coldrl.goal'])}; inference ${w.inferUs.toFixed(0)} us median at start${w.inline ? ', inline runs on' : ''})${old ? `, replacing ${old.version}` : ''}`);
    const h = holdoutOf(w.metadata);
    if (!h) this.log(`model ${w.version} carries no held-out check (coldrl train --holdout writes one)`);
    else this.log(`${belowLru(h) ? 'warning: ' : ''}model ${w.version}: ${describeHoldout(h)}${belowLru(h) ? `; it lost ${lossToLru(h)} to LRU there` : ''}`);
    return { ok: true, version: w.version, code: '', error: '' };
  }

  /** What answers requests now, for log lines. */
  private serving(): string {
    const m = this.decider.model;
    if (!m) return 'serving LRU fallbacks (NO_MODEL)';
    return m.alive ? `still serving ${m.version}` : `answering inline with the socket thread's copy of ${m.version}, NO_MODEL otherwise`;
  }

  /** Swaps the serving model and tells the listeners; returns the previous one. */
  private serve(w: ModelWorker | null): ModelWorker | null {
    const old = this.decider.setModel(w);
    if (w) this.servingSince = performance.now();
    for (const fn of this.listeners) fn();
    return old;
  }

  /** The serving model's worker exited on its own: keep what still answers, restart it after the backoff. */
  private workerDied(w: ModelWorker): void {
    if (this.decider.model !== w || this.closed) return;
    if (performance.now() - this.servingSince >= RESTART_STABLE_MS) this.restartDelayMs = RESTART_FIRST_MS;
    // its socket-thread copy does not depend on the thread: it keeps answering what can run inline
    if (!w.inline) this.serve(null);
    this.log(`inference worker of model ${w.version} exited; ${this.serving()} until it restarts`);
    this.scheduleRestart(w.path);
  }

  private scheduleRestart(path: string): void {
    if (this.closed || this.restartTimer) return;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(delay * 2, RESTART_MAX_MS);
    this.log(`restarting the inference worker of ${path} in ${delay} ms`);
    this.restartTimer = setTimeout(() => { this.restartTimer = null; void this.enqueue(() => this.restart(path)); }, delay);
    this.restartTimer.unref();
  }

  /** Loads `path` again in a new worker, unless a reload has put a live model in place meanwhile. */
  private async restart(path: string): Promise<ReloadResult> {
    const m = this.decider.model;
    if (this.closed || (m && m.alive)) return { ok: false, version: this.version, code: '', error: 'not needed' };
    const r = await this.load(path, 'restart');
    if (!r.ok) this.scheduleRestart(path);
    return r;
  }

  /**
   * Watches the model path's directory (the serving model's path, followed across a Reload RPC to another);
   * a change to the file reloads it (debounced), unless the bytes are the same.
   */
  watch(): void {
    if (!this.current || this.watching) return;
    this.watching = true;
    this.rewatch();
  }

  private rewatch(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.debounce) { clearTimeout(this.debounce); this.debounce = null; }
    const path = this.current;
    const name = basename(path);
    this.watched = path;
    try {
      this.watcher = watch(dirname(path), (_event, file) => { if (file === name) this.changed(path); });
    } catch (e) {
      this.log(`cannot watch ${path}: ${(e as Error).message}`);
      return;
    }
    this.watcher.on('error', (e) => this.log(`model watch stopped: ${e.message}`));
  }

  /** The watched file changed: reloads it (debounced), unless its bytes are the serving model's. */
  private changed(path: string): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      let v = '';
      try { v = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12); } catch { return; }
      if (v !== this.version) void this.reload(path);
    }, WATCH_DEBOUNCE_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.chain.catch(() => undefined);
    const w = this.serve(null);
    await w?.stop();
  }
}
