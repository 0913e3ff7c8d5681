/**
 * The inference thread. onnxruntime-node runs a session synchronously on the JS thread that calls it
 * (its backend.js: setImmediate, then the native run), so a model that is slow would block the thread that
 * reads sockets and could never be raced against a deadline there. Each loaded model therefore lives in a
 * worker thread of its own; the main thread hands it one request at a time through a SharedArrayBuffer
 * (sidecar/model-worker.ts has the layout) and races the answer against the deadline. A late answer is
 * simply never read.
 *
 * Life: load + validate + probe (replay/model.ts) -> post {ready} or {failed} -> serve jobs until STOP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ColdrlModel } from '../replay/model.js';
import { isColdrlError } from '../replay/errors.js';
import { FEATURE_COUNT, MAX_CANDIDATES } from '../replay/features.js';
import { C, sharedViews, type WorkerInit, type WorkerReady } from './model-worker.js';

const init = workerData as WorkerInit;
const { ctrl, features, scores } = sharedViews(init.sab);
const port = parentPort!;

let model: ColdrlModel | null = null;
try {
  model = await ColdrlModel.load(init.path);
} catch (e) {
  port.postMessage({ type: 'failed', code: isColdrlError(e) ? e.code : 'COLDRL_ERR_MODEL', message: (e as Error).message });
}

if (model) {
  // Time the model on K = 16 (and its own K) so the scheduler can refuse jobs that cannot finish in time.
  const probe = new Float32Array(MAX_CANDIDATES * FEATURE_COUNT);
  for (let i = 0; i < probe.length; i++) probe[i] = ((i * 7919) % 101) / 100;
  const out = new Float32Array(MAX_CANDIDATES);
  const probeUs: number[] = [];
  for (let r = 0; r < 50; r++) {
    const t = performance.now();
    await model.score(probe, r % 2 === 0 ? 16 : model.k, out);
    probeUs.push((performance.now() - t) * 1000);
  }
  probeUs.sort((a, b) => a - b);
  const ready: WorkerReady = { type: 'ready', version: model.version, k: model.k, sizeTerm: model.sizeTerm, metadata: { ...model.metadata }, inferUs: probeUs[probeUs.length >> 1]! };
  port.postMessage(ready);
  let last = 0;
  for (;;) {
    // Spin a little before sleeping: a futex wake-up costs tens of microseconds on a busy VM.
    const spinUntil = performance.now() + init.spinUs / 1000;
    while (Atomics.load(ctrl, C.SUBMIT) === last && performance.now() < spinUntil) { /* spin */ }
    Atomics.wait(ctrl, C.SUBMIT, last);
    if (Atomics.load(ctrl, C.STOP) !== 0) break;
    const seq = Atomics.load(ctrl, C.SUBMIT);
    if (seq === last) continue;
    last = seq;
    const n = ctrl[C.N]!;
    let status = 0;
    const t = performance.now();
    try {
      if (model.hasSync) model.scoreSync(features, n, scores); else await model.score(features, n, scores);
      for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i]!)) { status = 1; break; }
    } catch {
      status = 1;
    }
    ctrl[C.STATUS] = status;
    ctrl[C.RUN_NS] = Math.min(2147483647, Math.round((performance.now() - t) * 1e6));
    Atomics.store(ctrl, C.DONE, seq);
    Atomics.notify(ctrl, C.DONE);
  }
  await model.close();
}
port.close();
