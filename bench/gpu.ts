/**
 * `coldrl bench gpu`: the trainer's GPU benchmark (issue 7). Three parts, each optional:
 *   check       the same 5 training steps on webgpu and on wasm (same seed, weights, data, indices):
 *               first forward, losses, weights and Q compared (relative error must be < 1e-3); and the
 *               fused step against the tfjs autodiff step on wasm (the hand-written backward pass)
 *   throughput  steps/s per backend x step mode x batch x splitK, with the host time per step (the fixed
 *               cost: what JS spends enqueueing one step) next to it
 *   trap        the real trainer (trainer/commands/train.ts runTraining: trainer/dqn.ts, nginx semantics) on
 *               the trap workload (replay/workloads/trap.ts seed 1, 25m), same seed and hyperparameters on
 *               wasm (batch hp.batchSize: sets the target) and on webgpu (the GPU learner, batch 4096; one
 *               fresh run per decision budget); each model is written as ONNX and evaluated on trap seed 2
 *               at 25m through the `coldrl:FILE` policy; prints steps/s, train seconds, hit ratios and the
 *               wall-clock time to the wasm run's hit ratio
 * Prints tables; --out FILE writes every figure as JSON. Packing for an offline GPU machine:
 * bench/gpu-pack.sh (docs/gpu.md).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ColdrlError } from '../replay/errors.js';
import { FEATURE_COUNT } from '../replay/features.js';
import { Rng } from '../replay/rng.js';
import { describeBackend, resolveBackend, type ActiveBackend, type ResolvedBackend } from '../trainer/backend.js';
import { newMinibatch } from '../trainer/dqn.js';
import { GpuStep, type StepMode } from '../trainer/gpu-step.js';
import { DEFAULT_HPARAMS, type HParams } from '../trainer/hparams.js';
import { GpuLearner, TfjsLearner } from '../trainer/learner.js';
import { initWeights } from '../trainer/network.js';
import { agreement, checkRun, filledBuffer, learnerAgreement, learnerRun, maxError, type Agreement, type LearnerRun } from './gpu/check.js';
import { TRAP_SIZE, trainTrap, trapLru, type TrapRow } from './gpu/trap.js';
import { randomBlock, sampleIndices } from './gpu/transitions.js';

export const summary = 'trainer steps/s on webgpu vs wasm, agreement check, trap time-to-target';

export function help(): string {
  return `coldrl bench gpu [options]

  --parts LIST        check,throughput,trap (default: all three)
  --backends LIST     backends for throughput (default webgpu,wasm; a missing one is reported and skipped)
  --batches LIST      batches for webgpu throughput (default 256,4096,16384)
  --wasm-batches LIST batches for wasm throughput (default 256,4096)
  --modes LIST        step modes: fused,autodiff (default both)
  --split LIST        splitK values for the fused step (default 1,32)
  --k N --hidden N    candidates per decision and hidden width (default 32, 128)
  --seconds S         timed seconds per throughput cell (default 4; at least 2 timed steps)
  --trap-set LIST     trainer hyperparameters for both trap runs, name=value,... (trainer/hparams.ts names)
  --trap-decisions N  decisions per trap run (default ${DEFAULT_HPARAMS.totalDecisions})
  --trap-gpu-batch N  batch of the webgpu trap runs (default 4096; wasm keeps hp.batchSize)
  --trap-budgets L    fractions of --trap-decisions, one fresh webgpu run each (default 0.25,0.5,1)
  --trap-backends L   which trap runs (default: webgpu,wasm among the available backends)
  --trap-target X     hit ratio to reach when wasm is not run here (a wasm run's figure from elsewhere)
  --trap-models DIR   keep the trap models there (default: a temporary folder, removed)
  --out FILE          write all figures as JSON
Needs the webgpu path set up (docs/gpu.md): on a machine without a GPU, Mesa and EGL_PLATFORM=surfaceless.`;
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s: string) => list(s).map(Number);

interface Cell { backend: string; mode: StepMode; batch: number; splitK: number; stepsPerS: number; hostMsPerStep: number; steps: number; error?: string }

let active: ActiveBackend | null = null;
const resolved = new Map<string, ResolvedBackend>();
async function use(name: ActiveBackend): Promise<ResolvedBackend> {
  let r = resolved.get(name);
  if (!r) { r = await resolveBackend(name); resolved.set(name, r); } else if (active !== name) await r.tf.setBackend(name);
  active = name;
  return r;
}

async function throughput(r: ResolvedBackend, mode: StepMode, batch: number, splitK: number, k: number, h: number, seconds: number): Promise<Cell> {
  const rows = Math.max(2 * batch, 8192);
  const t = new GpuStep(r.tf, initWeights(FEATURE_COUNT, h, new Rng(1)), { k, batch, splitK, lossEvery: 100, targetSync: 250 }, mode);
  try {
    t.setReplay(randomBlock(rows, k, FEATURE_COUNT, 2));
    const rng = new Rng(3);
    const idx = new Int32Array(batch);
    for (let i = 0; i < 2; i++) t.step(sampleIndices(rng, rows, idx)); // compile shaders, fill pools
    await t.sync();
    let steps = 0, host = 0;
    const t0 = performance.now();
    let chunk = 1;
    while (performance.now() - t0 < seconds * 1000 || steps < 2) {
      for (let i = 0; i < chunk; i++) {
        sampleIndices(rng, rows, idx);
        const h0 = performance.now();
        t.step(idx);
        host += performance.now() - h0;
      }
      steps += chunk;
      await t.sync();
      chunk = Math.min(chunk * 2, 64);
    }
    const wall = (performance.now() - t0) / 1000;
    return { backend: r.backend, mode, batch, splitK, stepsPerS: steps / wall, hostMsPerStep: host / steps, steps };
  } finally {
    t.dispose();
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv, options: {
      parts: { type: 'string', default: 'check,throughput,trap' }, backends: { type: 'string', default: 'webgpu,wasm' },
      batches: { type: 'string', default: '256,4096,16384' }, 'wasm-batches': { type: 'string', default: '256,4096' },
      modes: { type: 'string', default: 'fused,autodiff' }, split: { type: 'string', default: '1,32' },
      k: { type: 'string', default: '32' }, hidden: { type: 'string', default: '128' }, seconds: { type: 'string', default: '4' },
      'trap-set': { type: 'string', default: '' }, 'trap-decisions': { type: 'string' }, 'trap-gpu-batch': { type: 'string', default: '4096' },
      'trap-budgets': { type: 'string', default: '0.25,0.5,1' }, 'trap-backends': { type: 'string', default: 'webgpu,wasm' },
      'trap-target': { type: 'string' }, 'trap-models': { type: 'string' },
      out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(help()); return 0; }
  const parts = new Set(list(v.parts!));
  const k = Number(v.k), h = Number(v.hidden), seconds = Number(v.seconds);
  if (!(k >= 1 && h >= 1 && seconds > 0)) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench gpu: --k, --hidden and --seconds must be positive');
  const report: Record<string, unknown> = { k, hidden: h, features: FEATURE_COUNT, node: process.version };
  let failed = false;

  // backends first: the adapter line is the first thing a reader of the log needs
  const backends: ActiveBackend[] = [];
  for (const b of list(v.backends!) as ActiveBackend[]) {
    try { const r = await use(b); backends.push(b); console.log(`backend ${b}: ${describeBackend(r)}`); report[`adapter_${b}`] = r.adapter ?? null; } catch (e) { console.log(`backend ${b}: unavailable (${(e as Error).message})`); }
  }

  if (parts.has('check')) {
    const o = { f: FEATURE_COUNT, h, k, batch: 64, steps: 5, seed: 7, rows: 512 };
    const rows: [string, Agreement][] = [];
    const wasm = await use('wasm');
    const ref = await checkRun(wasm.tf, 'fused', o);
    rows.push(['wasm fused vs wasm autodiff', agreement(ref, await checkRun(wasm.tf, 'autodiff', o))]);
    rows.push(['wasm fused splitK=32 vs splitK=1', agreement(await checkRun(wasm.tf, 'fused', { ...o, splitK: 32 }), ref)]);
    // the trainer's learners (trainer/learner.ts) on one seeded ring buffer: 2 regression + 3 Double-DQN steps
    const lhp: HParams = { ...DEFAULT_HPARAMS, k, hidden: h, batchSize: 64, bufferSize: 400, maxGradNorm: 1 };
    const buf = filledBuffer(lhp, 500);
    const lref = await learnerRun((w) => new TfjsLearner(lhp, w, w, newMinibatch(lhp.batchSize, lhp.k)), lhp, buf);
    const lrow = (name: string, a: LearnerRun): [string, Agreement] => {
      const e = learnerAgreement(a, lref);
      return [name, { q0: 0, losses: e.losses, weights: e.weights, qN: e.target }];
    };
    rows.push(lrow('trainer: gpu learner (wasm) vs model.ts (wasm)', await learnerRun((w) => new GpuLearner(lhp, w, w, 1), lhp, buf)));
    if (backends.includes('webgpu')) {
      const g = await use('webgpu');
      rows.push(['webgpu fused vs wasm fused', agreement(await checkRun(g.tf, 'fused', o), ref)]);
      rows.push(['webgpu autodiff vs wasm fused', agreement(await checkRun(g.tf, 'autodiff', o), ref)]);
      rows.push(lrow('trainer: gpu learner (webgpu) vs model.ts (wasm)', await learnerRun((w) => new GpuLearner(lhp, w, w, 1), lhp, buf)));
    }
    console.log('\ncheck: 5 Adam steps, batch 64, same seed; relative error (max|a-b|/max|b|); trainer rows: no first forward, "Q after" = target weights');
    console.log('| comparison | first forward | losses | weights | Q after | ok (< 1e-3) |\n|---|---|---|---|---|---|');
    for (const [name, a] of rows) {
      const ok = maxError(a) < 1e-3;
      failed ||= !ok;
      console.log(`| ${name} | ${a.q0.toExponential(1)} | ${a.losses.toExponential(1)} | ${a.weights.toExponential(1)} | ${a.qN.toExponential(1)} | ${ok ? 'yes' : 'NO'} |`);
    }
    report.check = rows.map(([name, a]) => ({ name, ...a }));
  }

  if (parts.has('throughput')) {
    const cells: Cell[] = [];
    console.log(`\nthroughput: K=${k}, hidden ${h}, ${seconds} s per cell`);
    console.log('| backend | step | batch | splitK | steps/s | host ms/step | steps timed |\n|---|---|---|---|---|---|---|');
    for (const b of backends) {
      const r = await use(b);
      const batches = nums(b === 'webgpu' ? v.batches! : v['wasm-batches']!);
      for (const mode of list(v.modes!) as StepMode[]) {
        for (const batch of batches) {
          for (const splitK of mode === 'fused' ? nums(v.split!) : [1]) {
            if ((batch * k) % splitK !== 0) continue;
            if (b !== 'webgpu' && splitK !== 1) continue;
            let c: Cell;
            try {
              c = await throughput(r, mode, batch, splitK, k, h, b === 'webgpu' ? seconds : Math.min(seconds, 2));
            } catch (e) {
              c = { backend: b, mode, batch, splitK, stepsPerS: NaN, hostMsPerStep: NaN, steps: 0, error: (e as Error).message };
            }
            cells.push(c);
            console.log(`| ${c.backend} | ${c.mode} | ${c.batch} | ${c.splitK} | ${c.stepsPerS.toFixed(c.stepsPerS < 10 ? 2 : 1)} | ${c.hostMsPerStep.toFixed(2)} | ${c.steps}${c.error ? ` (${c.error})` : ''} |`);
          }
        }
      }
    }
    report.throughput = cells;
  }

  if (parts.has('trap')) {
    const { applySets } = await import('./learn.js');
    const hp: HParams = applySets({ ...DEFAULT_HPARAMS, ...(v['trap-decisions'] ? { totalDecisions: Number(v['trap-decisions']) } : {}) }, v['trap-set']!);
    const gpuBatch = Number(v['trap-gpu-batch']);
    const want = list(v['trap-backends']!);
    const dir = v['trap-models'] ?? mkdtempSync(join(tmpdir(), 'coldrl-gpu-trap-'));
    mkdirSync(dir, { recursive: true });
    const lru = await trapLru();
    console.log(`\ntrap: the trainer on trap seed 1 at ${TRAP_SIZE}, ${hp.totalDecisions} decisions, K=${hp.k}, hidden ${hp.hidden}, seed ${hp.seed}; `
      + `models evaluated on trap seed 2 at ${TRAP_SIZE} through coldrl:FILE (nginx semantics; LRU there: ${lru.toFixed(4)})`);
    const rows: TrapRow[] = [];
    let target = v['trap-target'] !== undefined ? Number(v['trap-target']) : NaN;
    try {
      if (want.includes('wasm')) {
        const cpu = await trainTrap(await use('wasm'), 'wasm (sets the target)', hp, dir);
        rows.push(cpu);
        target = cpu.hitRatio;
      }
      if (want.includes('webgpu') && backends.includes('webgpu')) {
        const g = await use('webgpu');
        for (const frac of nums(v['trap-budgets']!)) {
          const d = Math.max(1, Math.round(hp.totalDecisions * frac));
          rows.push(await trainTrap(g, `webgpu ${d} decisions`, { ...hp, batchSize: gpuBatch, totalDecisions: d }, dir));
        }
      }
    } finally {
      if (!v['trap-models']) rmSync(dir, { recursive: true, force: true });
    }
    const first = rows.find((r) => r.backend === 'webgpu' && r.hitRatio >= target);
    console.log(`target: ${Number.isNaN(target) ? 'none (no wasm run, no --trap-target)' : target.toFixed(4)}${v['trap-target'] !== undefined ? ' (--trap-target: a wasm run elsewhere)' : ''}`);
    console.log('| run | learner | batch | decisions | grad steps | steps/s | train s | hit ratio (seed 2) | reached target |\n|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.run} | ${r.learner} | ${r.batch} | ${r.decisions} | ${r.gradSteps} | ${r.stepsPerS.toFixed(r.stepsPerS < 10 ? 2 : 1)} | ${r.seconds.toFixed(1)} | ${r.hitRatio.toFixed(4)} | ${r.hitRatio >= target ? 'yes' : 'no'} |`);
    }
    console.log(`time to target on webgpu: ${first ? `${first.seconds.toFixed(1)} s (${first.run})` : 'not reached'}`);
    report.trap = { lru, target, timeToTargetS: first ? first.seconds : null, hparams: hp, gpuBatch, rows };
  }

  if (v.out) writeFileSync(v.out, JSON.stringify(report, null, 2));
  if (failed) console.log('\nFAILED: an agreement check is over its bound (see above)');
  return failed ? 1 : 0;
}
