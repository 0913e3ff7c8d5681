/**
 * The main thread's handle on one inference worker (sidecar/inference-worker.ts): spawn, wait for the
 * loaded-and-validated model, submit one job at a time, poll for its answer, stop.
 *
 * Shared memory layout (one SharedArrayBuffer per worker):
 *   ctrl     Int32Array(8)     SUBMIT seq (main), DONE seq (worker), STATUS (0 ok, 1 model error), N, STOP,
 *                              RUN_NS (the job's inference time, nanoseconds, capped at 2^31 - 1)
 *   features Float32Array(MAX_CANDIDATES * FEATURE_COUNT)   written by main before SUBMIT
 *   scores   Float32Array(MAX_CANDIDATES)                   written by the worker before DONE
 * Main writes features and N, then bumps SUBMIT and notifies; the worker answers by storing DONE = SUBMIT.
 * Nothing is allocated per job.
 */
import { Worker } from 'node:worker_threads';
import { ColdrlError, type ErrorCode } from '../replay/errors.js';
import { FEATURE_COUNT, MAX_CANDIDATES } from '../replay/features.js';
import type { ColdrlModel } from '../replay/model.js';
import { CANDIDATE_SOURCE_IDS } from './codec.js';

export const C = { SUBMIT: 0, DONE: 1, STATUS: 2, N: 3, STOP: 4, RUN_NS: 5 } as const;
const CTRL_BYTES = 8 * 4;

export interface WorkerInit { path: string; sab: SharedArrayBuffer; spinUs: number }
export interface WorkerReady { type: 'ready'; version: string; k: number; sizeTerm: number; metadata: Record<string, string>; inferUs: number }
interface WorkerFailed { type: 'failed'; code: ErrorCode; message: string }

export function sharedViews(sab: SharedArrayBuffer) {
  return {
    ctrl: new Int32Array(sab, 0, 8),
    features: new Float32Array(sab, CTRL_BYTES, MAX_CANDIDATES * FEATURE_COUNT),
    scores: new Float32Array(sab, CTRL_BYTES + MAX_CANDIDATES * FEATURE_COUNT * 4, MAX_CANDIDATES),
  };
}

export class ModelWorker {
  readonly ctrl: Int32Array;
  readonly features: Float32Array;
  readonly scores: Float32Array;
  /** Set once ready. */
  version = '';
  /** `version` as UTF-8, as answers carry it. */
  versionBytes: Uint8Array = new Uint8Array(0);
  k = 0;
  metadata: Record<string, string> = {};
  /** Median inference time measured by the worker at start, microseconds. */
  inferUs = 0;
  /** proto CandidateSource the model was trained on (coldrl.candidates; 0 = not recorded, not checked). */
  candidateSource = 0;
  /** Scorer.sizeTerm of the model, as its ColdrlModel reads it in the worker (replay/candidates.ts sizeTermOf); 0: none. */
  sizeTerm = 0;
  /** A request naming another source was logged for this model (once per model). */
  mismatchLogged = false;
  /** Sequence of the last job submitted; the worker is busy while DONE != submitted. */
  submitted = 0;
  /** False after the thread died or was stopped. */
  alive = true;
  /**
   * The same file loaded a second time on the socket thread (same version), for the inline path of the
   * scheduler (deadline.ts); null when inline runs are off or the file changed between the two loads.
   */
  inline: ColdrlModel | null = null;
  private readonly worker: Worker;
  private stopping: Promise<void> | null = null;

  private constructor(readonly path: string, spinUs: number) {
    const sab = new SharedArrayBuffer(CTRL_BYTES + MAX_CANDIDATES * FEATURE_COUNT * 4 + MAX_CANDIDATES * 4);
    const v = sharedViews(sab);
    this.ctrl = v.ctrl;
    this.features = v.features;
    this.scores = v.scores;
    const init: WorkerInit = { path, sab, spinUs };
    this.worker = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: init });
    this.worker.unref();
  }

  /** Starts a worker on the model file; resolves once the model is loaded, validated and probed. */
  static start(path: string, spinUs = 0, onExit?: (w: ModelWorker) => void): Promise<ModelWorker> {
    const w = new ModelWorker(path, spinUs);
    return new Promise((resolve, reject) => {
      let settled = false;
      w.worker.once('message', (m: WorkerReady | WorkerFailed) => {
        settled = true;
        if (m.type === 'ready') {
          w.version = m.version; w.versionBytes = new TextEncoder().encode(m.version); w.k = m.k; w.metadata = m.metadata; w.inferUs = m.inferUs;
          w.candidateSource = CANDIDATE_SOURCE_IDS[m.metadata['coldrl.candidates'] ?? ''] ?? 0;
          w.sizeTerm = m.sizeTerm;
          resolve(w);
        } else {
          w.alive = false;
          void w.worker.terminate();
          reject(new ColdrlError(m.code, m.message));
        }
      });
      w.worker.on('error', (e) => {
        w.alive = false;
        if (!settled) { settled = true; reject(new ColdrlError('COLDRL_ERR_MODEL', `${path}: inference worker failed: ${e.message}`)); }
      });
      w.worker.on('exit', () => {
        w.alive = false;
        if (!settled) { settled = true; reject(new ColdrlError('COLDRL_ERR_MODEL', `${path}: inference worker exited while loading`)); }
        else onExit?.(w);
      });
    });
  }

  get busy(): boolean { return Atomics.load(this.ctrl, C.DONE) !== this.submitted; }

  /** Starts a job on features already written to `features`; the caller checked !busy. */
  submit(n: number): void {
    this.ctrl[C.N] = n;
    this.submitted = (this.submitted + 1) | 0;
    Atomics.store(this.ctrl, C.SUBMIT, this.submitted);
    Atomics.notify(this.ctrl, C.SUBMIT);
  }

  /** True when the job submitted last has been answered. */
  get done(): boolean { return Atomics.load(this.ctrl, C.DONE) === this.submitted; }
  get failed(): boolean { return this.ctrl[C.STATUS] !== 0; }
  /** Inference time of the last answered job, microseconds. */
  get runUs(): number { return this.ctrl[C.RUN_NS]! / 1000; }

  /** Asks the thread to finish its job and exit; resolves when it has. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (this.alive ? this.halt() : Promise.resolve()).then(() => this.closeInline());
    return this.stopping;
  }

  private async halt(): Promise<void> {
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    Atomics.store(this.ctrl, C.STOP, 1);
    Atomics.add(this.ctrl, C.SUBMIT, 1);
    Atomics.notify(this.ctrl, C.SUBMIT);
    const timer = setTimeout(() => { void this.worker.terminate(); }, 2000);
    await exited;
    clearTimeout(timer);
    this.alive = false;
  }

  private async closeInline(): Promise<void> {
    const m = this.inline;
    this.inline = null;
    if (m) await m.close();
  }
}
