/**
 * `coldrl bench candidates`: the table of issue 9. For each candidate source (replay/candidates.ts) and K,
 * the oracle bound (ktail-oracle: farthest next use among the candidates; ktail-oracle-size: farthest next
 * use x size) and, given models or --train, the learned policy over the same candidates, beside LRU, GDSF
 * and Belady, on the reference workloads. Then the cost: replay speed per source at K=64.
 *
 * Workloads (train on one part, evaluate on another; the oracles only use the evaluation part):
 *   trap25m, trap100m   the Cold-RL trap workload (replay/workloads/trap.ts), train seed 1, eval seed 2
 *   tragen1, tragen5    tragen_cdn.csv requests 50,001-100,001 (Trace.slice(50000, 100001)), cache 1% / 5%
 *                       of THAT half's unique bytes; train on requests 1-50,000
 *   tragen1w            the same half at 1,205,529,866 B = 1% of the WHOLE trace's unique bytes (the figure
 *                       issue 9's table uses)
 *   bursty50m           replay/workloads/bursty.ts, train seed 1, eval seed 2, 50 MiB
 * Replays use nginx semantics by default (the training environment's, as bench/learn.ts); tragen has no TTL
 * so both semantics give the same figures there; --semantics plain gives the trap/bursty rows without expiry.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ColdrlError } from '../replay/errors.js';
import { SOURCES } from '../replay/candidates.js';
import { MAX_CANDIDATES } from '../replay/features.js';
import { openSource } from '../replay/formats/index.js';
import { findPolicy } from '../replay/registry.js';
import { replayTrace, type ReplayResult } from '../replay/run.js';
import { loadTrace, type Trace } from '../replay/trace.js';
import { trap } from '../replay/workloads/trap.js';
import { bursty } from '../replay/workloads/bursty.js';
import type { Semantics } from '../replay/cache.js';
import { resolveBackend, type BackendName } from '../trainer/backend.js';
import { runTraining } from '../trainer/training.js';
import { DEFAULT_HPARAMS } from '../trainer/hparams.js';

export const summary = 'oracle bound and learned policy for each candidate source and K';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TRAGEN = resolve(ROOT, '../shared/traces/tragen_cdn.csv');
/** 1% of tragen_cdn.csv's whole unique bytes (../shared/traces/README.md): the cache of issue 9's table. */
const TRAGEN_WHOLE_1PCT = 1_205_529_866;
const MIB = 1024 * 1024;

interface Workload {
  name: string;
  /** What it is, in one line, for the table heading. */
  label: string;
  train: Trace;
  eval: Trace;
  capacity: number;
  /** Cache for training: the same bytes, or the same fraction of the training part's unique bytes. */
  trainCapacity: number;
}

/** Loaded workloads by name (tragen is read once). */
async function workload(name: string): Promise<Workload> {
  const trapPair = () => ({ train: trap(1), eval: trap(2) });
  switch (name) {
    case 'trap25m': return { name, label: 'trap (train seed 1, eval seed 2), 25 MiB', ...trapPair(), capacity: 25 * MIB, trainCapacity: 25 * MIB };
    case 'trap100m': return { name, label: 'trap (train seed 1, eval seed 2), 100 MiB', ...trapPair(), capacity: 100 * MIB, trainCapacity: 100 * MIB };
    case 'bursty50m': return { name, label: 'bursty (train seed 1, eval seed 2), 50 MiB', train: bursty(1), eval: bursty(2), capacity: 50 * MIB, trainCapacity: 50 * MIB };
    case 'tragen1': case 'tragen5': case 'tragen1w': {
      const t = await tragen();
      const train = t.slice(0, 50_000), ev = t.slice(50_000, 100_001);
      const fraction = name === 'tragen5' ? 0.05 : 0.01;
      const capacity = name === 'tragen1w' ? TRAGEN_WHOLE_1PCT : Math.floor(ev.uniqueBytes * fraction);
      const trainCapacity = name === 'tragen1w' ? TRAGEN_WHOLE_1PCT : Math.floor(train.uniqueBytes * fraction);
      const what = name === 'tragen1w' ? '1% of the whole trace\'s unique bytes' : `${name === 'tragen1' ? 1 : 5}% of the half's ${ev.uniqueBytes} unique bytes`;
      return { name, label: `tragen_cdn requests 50,001-100,001 (train on 1-50,000), ${capacity} B = ${what}`, train, eval: ev, capacity, trainCapacity };
    }
    default: throw new ColdrlError('COLDRL_ERR_USAGE', `bench candidates: unknown workload "${name}" (known: ${WORKLOADS.join(', ')})`);
  }
}
const WORKLOADS = ['trap25m', 'trap100m', 'tragen1', 'tragen5', 'tragen1w', 'bursty50m'];

let tragenTrace: Promise<Trace> | null = null;
function tragen(): Promise<Trace> {
  if (!existsSync(TRAGEN)) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${TRAGEN}: no such file (the shared traces)`);
  return (tragenTrace ??= loadTrace(openSource(TRAGEN, 'csv')));
}

export function help(): string {
  return `coldrl bench candidates [options]

For each candidate source and K: the oracle bound (ktail-oracle = farthest next use among the candidates;
-size = farthest next use x size) and the learned policy (with --train or --model), beside LRU, GDSF and
Belady; then replay speed per source at K=64 (ktail:64:SOURCE, LRU order: candidate collection + features).

  --workloads LIST   ${WORKLOADS.join(',')} (default: all)
                     tragen1/5: 1%/5% of the second half's unique bytes; tragen1w: 1,205,529,866 B
  --sources LIST     ${Object.keys(SOURCES).join(',')} (default: all)
  --k LIST           candidate counts, 1..${MAX_CANDIDATES} (default 16,32,64)
  --train            train a model per (workload, source, K) with \`coldrl train\` on the training part
  --learned-k LIST   train only these K (default: the --k list)
  --learned-sources LIST   train only these sources (default: the --sources list)
  --steps N          eviction decisions per training run for --train (default 20000)
  --backend B        tfjs backend for --train (default wasm)
  --semantics S      nginx (default: the trainer's environment; TTL expiry, no-store) or plain
  --model SPEC       evaluate an existing model: WORKLOAD:SOURCE:K=FILE (repeatable)
  --out DIR          keep trained models and traces here (default: a temporary directory, removed)
  --cost-workload W  workload for the replay-speed rows (default tragen1; "none" to skip)
  --json             one JSON object per measurement per line instead of tables

Example (the table in docs/candidates.md):
  coldrl bench candidates
  coldrl bench candidates --workloads trap25m,tragen1 --k 64 --sources sample --train`;
}

/** One measured cell. */
interface Row {
  workload: string;
  policy: string;
  source: string | null;
  k: number | null;
  kind: 'baseline' | 'oracle' | 'oracle-size' | 'learned' | 'speed';
  hitRatio: number;
  byteHitRatio: number;
  requestsPerSecond: number;
  /** Eviction decisions per second of replay (speed rows only). */
  evictions: number;
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

function registered(policy: string): boolean {
  try { findPolicy(policy); return true; } catch { return false; }
}

function row(w: Workload, r: ReplayResult, kind: Row['kind'], source: string | null, k: number | null): Row {
  return {
    workload: w.name, policy: r.policy, source, k, kind, hitRatio: r.hitRatio, byteHitRatio: r.byteHitRatio,
    requestsPerSecond: r.requests / Math.max(r.seconds, 1e-9), evictions: r.evictions,
  };
}

/** Trains one model through the trainer's API (trainer/commands/train.ts runTraining) and returns its path. */
async function trainModel(w: Workload, source: string, k: number, steps: number, backend: string, dir: string): Promise<string> {
  const out = join(dir, `${w.name}-${source}-k${k}.onnx`);
  const hp = { ...DEFAULT_HPARAMS, k, candidates: source, totalDecisions: steps };
  hp.learningStarts = Math.min(hp.learningStarts, Math.max(hp.batchSize + 1, Math.floor(steps / 4)));
  process.stderr.write(`training ${w.name} ${source} K=${k}: ${steps} decisions on ${w.train.name}, ${w.trainCapacity} B\n`);
  const t0 = Date.now();
  await runTraining({ hp, traceName: w.train.name, trace: w.train, capacity: w.trainCapacity, cacheSizeText: String(w.trainCapacity), out, db: null, backend });
  process.stderr.write(`trained in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return out;
}

/** Best of `runs` replays of ktail:K:SOURCE (LRU order): the cost of collecting candidates and features. */
async function speed(w: Workload, policy: string, semantics: Semantics, runs = 3): Promise<ReplayResult> {
  let best: ReplayResult | null = null;
  for (let i = 0; i < runs; i++) {
    const r = await replayTrace(w.eval, policy, w.capacity, String(w.capacity), { semantics });
    if (!best || r.seconds < best.seconds) best = r;
  }
  return best!;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workloads: { type: 'string', default: WORKLOADS.join(',') },
      sources: { type: 'string', default: Object.keys(SOURCES).join(',') },
      k: { type: 'string', default: '16,32,64' },
      train: { type: 'boolean', default: false },
      'learned-k': { type: 'string' },
      'learned-sources': { type: 'string' },
      steps: { type: 'string', default: '20000' },
      model: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      'cost-workload': { type: 'string', default: 'tragen1' },
      semantics: { type: 'string', default: 'nginx' },
      backend: { type: 'string', default: 'wasm' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) { console.log(help()); return 0; }
  const workloads = list(values.workloads!);
  for (const w of workloads) if (!WORKLOADS.includes(w)) throw new ColdrlError('COLDRL_ERR_USAGE', `bench candidates: unknown workload "${w}" (known: ${WORKLOADS.join(', ')})`);
  const sources = list(values.sources!);
  for (const s of sources) if (!SOURCES[s]) throw new ColdrlError('COLDRL_ERR_USAGE', `bench candidates: unknown source "${s}" (known: ${Object.keys(SOURCES).join(', ')})`);
  const ks = list(values.k!).map(Number);
  for (const k of ks) if (!Number.isInteger(k) || k < 1 || k > MAX_CANDIDATES) throw new ColdrlError('COLDRL_ERR_USAGE', `bench candidates: K must be in 1..${MAX_CANDIDATES}`);
  const learnedK = values['learned-k'] ? list(values['learned-k']).map(Number) : ks;
  const learnedSources = values['learned-sources'] ? list(values['learned-sources']) : sources;
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench candidates: --steps must be a positive integer');
  const semantics = values.semantics as Semantics;
  if (semantics !== 'plain' && semantics !== 'nginx') throw new ColdrlError('COLDRL_ERR_USAGE', 'bench candidates: --semantics must be nginx or plain');
  const ropts = { semantics };
  let backend: string | null = null;
  const models = new Map<string, string>();
  for (const spec of values.model!) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw new ColdrlError('COLDRL_ERR_USAGE', `bench candidates: --model ${spec}: expected WORKLOAD:SOURCE:K=FILE`);
    models.set(spec.slice(0, eq), resolve(spec.slice(eq + 1)));
  }
  let dir: string | null = null;
  const workDir = () => {
    if (dir) return dir;
    if (values.out) { mkdirSync(values.out, { recursive: true }); dir = resolve(values.out); } else dir = mkdtempSync(join(tmpdir(), 'coldrl-candidates-'));
    return dir;
  };

  const rows: Row[] = [];
  const emit = (r: Row) => { rows.push(r); if (values.json) console.log(JSON.stringify(r)); };
  try {
    for (const name of workloads) {
      const w = await workload(name);
      const t0 = Date.now();
      for (const p of ['lru', 'gdsf', 'belady', 'belady-size']) {
        if (registered(p)) emit(row(w, await replayTrace(w.eval, p, w.capacity, String(w.capacity), ropts), 'baseline', null, null));
      }
      for (const source of sources) {
        for (const k of ks) {
          emit(row(w, await replayTrace(w.eval, `ktail-oracle:${k}:${source}`, w.capacity, String(w.capacity), ropts), 'oracle', source, k));
          emit(row(w, await replayTrace(w.eval, `ktail-oracle-size:${k}:${source}`, w.capacity, String(w.capacity), ropts), 'oracle-size', source, k));
          let model = models.get(`${name}:${source}:${k}`) ?? null;
          if (!model && values.train && learnedK.includes(k) && learnedSources.includes(source)) {
            backend ??= (await resolveBackend(values.backend as BackendName)).backend;
            model = await trainModel(w, source, k, steps, backend, workDir());
          }
          if (model) emit(row(w, await replayTrace(w.eval, `coldrl:${model}:${k}:${source}`, w.capacity, String(w.capacity), ropts), 'learned', source, k));
        }
      }
      if (!values.json) printWorkload(w, rows.filter((r) => r.workload === name), sources, ks, semantics, (Date.now() - t0) / 1000);
    }
    const cw = values['cost-workload']!;
    if (cw !== 'none') {
      const w = await workload(cw);
      emit(row(w, await speed(w, 'lru', semantics), 'speed', null, null));
      for (const source of sources) emit(row(w, await speed(w, `ktail:64:${source}`, semantics), 'speed', source, 64));
      if (!values.json) printSpeed(w, rows.filter((r) => r.kind === 'speed'));
      sidecarLatency(values.json!);
    }
  } finally {
    if (dir && !values.out) rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

const f4 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));

function printWorkload(w: Workload, rows: Row[], sources: string[], ks: number[], semantics: Semantics, seconds: number): void {
  const base = rows.filter((r) => r.kind === 'baseline').map((r) => `${r.policy} ${f4(r.hitRatio)}`).join('  ');
  console.log(`\n${w.name}: ${w.label}`);
  console.log(`  eval: ${w.eval.length} requests, ${w.eval.objects} objects; hit ratios, ${semantics} semantics; ${seconds.toFixed(1)} s`);
  console.log(`  ${base}`);
  const learned = rows.some((r) => r.kind === 'learned');
  const kinds: Row['kind'][] = learned ? ['oracle', 'oracle-size', 'learned'] : ['oracle', 'oracle-size'];
  const head = ['source', ...ks.flatMap((k) => kinds.map((kd) => `K=${k} ${kd === 'oracle' ? 'oracle' : kd === 'oracle-size' ? 'orc-size' : 'learned'}`))];
  const body = sources.map((s) => [s, ...ks.flatMap((k) => kinds.map((kd) => f4(rows.find((r) => r.source === s && r.k === k && r.kind === kd)?.hitRatio)))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (c: string[]) => '  ' + c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(fmt(head));
  for (const b of body) console.log(fmt(b));
}

function printSpeed(w: Workload, rows: Row[]): void {
  console.log(`\ncost: replay speed on ${w.name} (${w.eval.length} requests, best of 3, one thread), ktail:64:SOURCE in LRU order`);
  console.log(`  ${'policy'.padEnd(16)}  ${'requests/s'.padStart(10)}  ${'evictions'.padStart(9)}  ${'us/request'.padStart(10)}`);
  for (const r of rows) {
    console.log(`  ${(r.source ? `ktail:64:${r.source}` : 'lru').padEnd(16)}  ${Math.round(r.requestsPerSecond).toString().padStart(10)}  ${String(r.evictions).padStart(9)}  ${(1e6 / r.requestsPerSecond).toFixed(2).padStart(10)}`);
  }
}

/**
 * Sidecar round trip at K=64 (the same for every source: the model sees K rows whatever picked them), by
 * running `coldrl bench sidecar` (bench/sidecar.ts) when it is there: framed socket, 2000 requests at 1000/s.
 */
function sidecarLatency(json: boolean): void {
  const cli = join(ROOT, 'dist/trainer/cli.js');
  if (!existsSync(join(ROOT, 'dist/bench/sidecar.js'))) { if (!json) console.log('  sidecar latency: bench/sidecar.ts not built, skipped'); return; }
  const args = [cli, 'bench', 'sidecar', '--k', '64', '--requests', '2000', '--transport', 'framed', '--json'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let m: { p50us?: number; p99us?: number; fallbackRate?: number } = {};
  try { m = JSON.parse(last) as typeof m; } catch { /* reported below */ }
  if (r.status !== 0 || m.p50us === undefined) {
    if (!json) console.log(`  sidecar latency: coldrl bench sidecar failed (exit ${r.status}): ${(r.stderr || last).trim().split('\n').pop()}`);
    return;
  }
  if (json) console.log(JSON.stringify({ kind: 'sidecar', k: 64, ...m }));
  else console.log(`  sidecar K=64 (coldrl ${args.slice(1).join(' ')}): p50 ${m.p50us.toFixed(0)} us, p99 ${m.p99us!.toFixed(0)} us, fallbacks ${(100 * m.fallbackRate!).toFixed(1)}%`);
}
