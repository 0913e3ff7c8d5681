/**
 * `coldrl bench gpu`: the trainer's GPU benchmark (issue 7). Three parts, each optional:
 *   check       the same 5 training steps on webgpu and on wasm (same seed, weights, data, indices):
 *               first forward, losses, weights and Q compared (relative error must be < 1e-3); and the
 *               fused step against the tfjs autodiff step on wasm (the hand-written backward pass)
 *   throughput  steps/s per backend x step mode x batch x splitK, with the host time per step (the fixed
 *               cost: what JS spends enqueueing one step) next to it
 *   trap        offline DQN on the trap workload (bench/gpu/trap.ts): wasm trains `--trap-steps` steps at
 *               the small batch and sets the target hit ratio; webgpu trains the same (must agree) and
 *               then at the large batch until it reaches the target; wall-clock time to target per run
 * Prints tables; --out FILE writes every figure as JSON. Packing for an offline GPU machine:
 * bench/gpu-pack.sh (docs/gpu.md).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ColdrlError } from '../replay/errors.js';
import { FEATURE_COUNT } from '../replay/features.js';
import { Rng } from '../replay/rng.js';
import { describeBackend, resolveBackend, type ActiveBackend, type ResolvedBackend } from '../trainer/backend.js';
import { GpuStep, type StepMode } from '../trainer/gpu-step.js';
import { initWeights } from '../trainer/network.js';
import { agreement, checkRun, maxError, type Agreement } from './gpu/check.js';
import { collectTrap, evaluateTrap, lruTrap } from './gpu/trap.js';
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
  --trap-steps N      steps of the wasm (target-setting) trap run (default 300)
  --trap-batch N      batch of the wasm trap run (default 256); the large webgpu run uses 4096
  --out FILE          write all figures as JSON
Needs the webgpu path set up (docs/gpu.md): on a machine without a GPU, Mesa and EGL_PLATFORM=surfaceless.`;
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s: string) => list(s).map(Number);

interface Cell { backend: string; mode: StepMode; batch: number; splitK: number; stepsPerS: number; hostMsPerStep: number; steps: number; error?: string }
interface TrapRow { run: string; backend: string; batch: number; steps: number; hitRatio: number; seconds: number; stepsPerS: number; reached: boolean }

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

async function trainTrap(r: ResolvedBackend, run: string, block: ReturnType<typeof collectTrap>, k: number, h: number,
  batch: number, maxSteps: number, evalEvery: number, target: number | null): Promise<TrapRow> {
  const t = new GpuStep(r.tf, initWeights(FEATURE_COUNT, h, new Rng(11)), { k, batch, gamma: 0.5, targetSync: 100, lossEvery: 0, splitK: 1 }, 'fused');
  const t0 = performance.now();
  let train = 0;
  try {
    t.setReplay(block);
    const rng = new Rng(12);
    const idx = new Int32Array(batch);
    let hit = 0, steps = 0, reached = false;
    while (steps < maxSteps) {
      const s0 = performance.now();
      for (let i = 0; i < evalEvery && steps < maxSteps; i++, steps++) t.step(sampleIndices(rng, block.n, idx));
      const w = await t.readWeights();
      train += performance.now() - s0;
      hit = evaluateTrap(w, k, 1000);
      if (target !== null && hit >= target) { reached = true; break; }
    }
    return { run, backend: r.backend, batch, steps, hitRatio: hit, seconds: (performance.now() - t0) / 1000, stepsPerS: steps / (train / 1000), reached: target === null || reached };
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
      'trap-steps': { type: 'string', default: '300' }, 'trap-batch': { type: 'string', default: '256' },
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
    if (backends.includes('webgpu')) {
      const g = await use('webgpu');
      rows.push(['webgpu fused vs wasm fused', agreement(await checkRun(g.tf, 'fused', o), ref)]);
      rows.push(['webgpu autodiff vs wasm fused', agreement(await checkRun(g.tf, 'autodiff', o), ref)]);
    }
    console.log('\ncheck: 5 Adam steps, batch 64, same seed; relative error (max|a-b|/max|b|)');
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
    const tk = 16, th = 64;
    const steps = Number(v['trap-steps']), small = Number(v['trap-batch']);
    const block = collectTrap(tk, 1, 2);
    const lru = lruTrap(tk, 1000);
    console.log(`\ntrap: ${block.n} transitions (seeds 1-2, random behaviour), K=${tk}, hidden ${th}; evaluated on seed 1000 (LRU over the same candidates: ${lru.toFixed(4)})`);
    const rows: TrapRow[] = [];
    const cpu = await trainTrap(await use('wasm'), 'reference (sets the target)', block, tk, th, small, steps, 50, null);
    rows.push(cpu);
    if (backends.includes('webgpu')) {
      const g = await use('webgpu');
      const same = await trainTrap(g, 'same run on webgpu', block, tk, th, small, steps, 50, null);
      rows.push(same);
      if (Math.abs(same.hitRatio - cpu.hitRatio) > 0.002) failed = true;
      rows.push(await trainTrap(g, 'large batch to the target', block, tk, th, 4096, steps, 25, cpu.hitRatio));
    }
    console.log('| run | backend | batch | steps | hit ratio | train steps/s | wall s (incl. evals) | reached target |\n|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.run} | ${r.backend} | ${r.batch} | ${r.steps} | ${r.hitRatio.toFixed(4)} | ${r.stepsPerS.toFixed(1)} | ${r.seconds.toFixed(1)} | ${r.reached ? 'yes' : 'no'} |`);
    report.trap = { transitions: block.n, lru, rows };
  }

  if (v.out) writeFileSync(v.out, JSON.stringify(report, null, 2));
  if (failed) console.log('\nFAILED: an agreement check is over its bound (see above)');
  return failed ? 1 : 0;
}
