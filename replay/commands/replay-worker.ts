import { parentPort, workerData } from 'node:worker_threads';
import { isColdrlError } from '../errors.js';
import { runJobsHere, type ReplayJobSpec } from './replay.js';
import type { CacheSizeSpec } from '../size.js';

const { spec, jobs, report } = workerData as { spec: ReplayJobSpec; jobs: { policy: string; size: CacheSizeSpec }[]; report: boolean };
try {
  await runJobsHere(spec, jobs, (result) => parentPort!.postMessage({ result }), false, report);
} catch (e) {
  parentPort!.postMessage({ error: { code: isColdrlError(e) ? e.code : 'COLDRL_ERR_INVARIANT', message: e instanceof Error ? e.message : String(e) } });
}
