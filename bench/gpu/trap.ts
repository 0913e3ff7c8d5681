/**
 * The benchmark's end-to-end task: the real trainer (trainer/commands/train.ts runTraining, so trainer/dqn.ts
 * with the learner trainer/learner.ts picks for the active backend) on the trap workload
 * (replay/workloads/trap.ts, seed 1) at 25m in nginx semantics, the model written as ONNX and evaluated on
 * trap seed 2 at 25m through the `coldrl:FILE` policy (replay/model.ts, onnxruntime), as `coldrl bench learn`
 * and `coldrl replay` do.
 */
import { join } from 'node:path';
import { replayTrace } from '../../replay/run.js';
import { parseCacheSize } from '../../replay/size.js';
import { trap } from '../../replay/workloads/trap.js';
import type { ResolvedBackend } from '../../trainer/backend.js';
import { describeBackend } from '../../trainer/backend.js';
import { runTraining } from '../../trainer/training.js';
import type { HParams } from '../../trainer/hparams.js';

export const TRAP_SIZE = '25m';

export interface TrapRow {
  run: string;
  backend: string;
  learner: string;
  batch: number;
  decisions: number;
  gradSteps: number;
  /** Gradient steps per second of the whole training run (simulation, acting and steps). */
  stepsPerS: number;
  /** Training wall-clock seconds (trainer/dqn.ts train; export and evaluation excluded). */
  seconds: number;
  /** Hit ratio of the model on trap seed 2 at 25m. */
  hitRatio: number;
}

/** Trains on trap seed 1 with `hp` on backend `r` (already active), evaluates on trap seed 2. */
export async function trainTrap(r: ResolvedBackend, run: string, hp: HParams, dir: string): Promise<TrapRow> {
  const cap = parseCacheSize(TRAP_SIZE).bytes;
  const train = trap(1);
  train.name = 'trap(seed 1)';
  const out = join(dir, `trap-${r.backend}-b${hp.batchSize}-d${hp.totalDecisions}-s${hp.seed}.onnx`);
  const o = await runTraining({ hp, traceName: train.name, trace: train, capacity: cap, cacheSizeText: TRAP_SIZE, out, db: null, backend: describeBackend(r) });
  const test = trap(2);
  const ev = await replayTrace(test, `coldrl:${out}`, cap, TRAP_SIZE, { semantics: 'nginx' });
  const res = o.result;
  return {
    run, backend: r.backend, learner: res.learner, batch: hp.batchSize, decisions: res.decisions, gradSteps: res.gradSteps,
    stepsPerS: res.gradSteps / res.seconds, seconds: res.seconds, hitRatio: ev.hitRatio,
  };
}

/** LRU's hit ratio on trap seed 2 at 25m (nginx semantics): the floor. */
export async function trapLru(): Promise<number> {
  return (await replayTrace(trap(2), 'lru', parseCacheSize(TRAP_SIZE).bytes, TRAP_SIZE, { semantics: 'nginx' })).hitRatio;
}
