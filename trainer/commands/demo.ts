/**
 * `coldrl demo`: the whole loop on one machine, on the embedded defaults, with progress shown:
 *  1. write the trap workload (train: seed S, evaluation: seed S+1) as NGINX access logs in the cachetrain
 *     JSON format, the training one as a rotated, partly gzipped archive;
 *  2. replay the evaluation log under every baseline at several cache sizes;
 *  3. train the dueling DQN on the training archive (streamed through the log reader);
 *  4. export to ONNX and check parity with the trainer's own outputs;
 *  5. evaluate the model against the baselines, Belady and the K-candidate oracle;
 *  6. start the sidecar (`coldrl serve`), run its latency benchmark, stop it;
 *  7. store everything in the SQLite file and write the HTML report; print a short summary.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { ColdrlError } from '../../replay/errors.js';
import { openSource } from '../../replay/formats/index.js';
import { listPolicies } from '../../replay/registry.js';
import { replayTrace, type ReplayResult } from '../../replay/run.js';
import { parseCacheSize } from '../../replay/size.js';
import { Store } from '../../replay/store.js';
import { loadTrace, type Trace } from '../../replay/trace.js';
import { WORKLOADS } from '../../replay/workloads/index.js';
import { jsonLine } from '../../replay/workloads/write.js';
import { resolveBackend } from '../backend.js';
import { DEFAULT_HPARAMS, type HParams } from '../hparams.js';
import { scoringOf } from '../network.js';
import { checkParity, recordCandidates } from '../parity.js';
import { writeReport } from '../report/html.js';
import { exportedWeights } from '../dqn.js';
import { runTraining } from '../training.js';
import { intOption } from './options.js';

export const summary = 'run the whole loop on a generated workload and report it';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

export function help(): string {
  return `coldrl demo [--out DIR] [--db FILE] [--quick] [--seed S] [--steps N] [--workload trap|bursty|scan]

Runs the whole coldrl loop on one machine and writes every artefact under DIR (default ./coldrl-demo):
  logs/train/access.log{,.1,.2.gz}   the training workload as a rotated NGINX access-log archive
  logs/eval/access.log                another realisation of it, for evaluation
  model.onnx                          the trained policy (plus model.onnx.ckpt.json)
  coldrl.db                           the SQLite store: runs, metrics, models, evaluations, benchmarks
                                      (made afresh; --db FILE: that store instead, appended to)
  report/index.html + *.svg           hit ratio by cache size, training curve, sidecar latency
--quick: fewer training decisions, sizes and benchmark requests (under 2 minutes on 2 cores).`;
}

function step(n: number, total: number, what: string): () => void {
  const t0 = Date.now();
  process.stderr.write(`[${n}/${total}] ${what} ...\n`);
  return () => process.stderr.write(`[${n}/${total}] ${what}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

/** Writes a trace as a rotated archive: the oldest third gzipped (.2.gz), the middle (.1), the newest (plain). */
function writeArchive(t: Trace, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const cut = [0, Math.floor(t.length / 3), Math.floor((2 * t.length) / 3), t.length];
  const text = (a: number, b: number) => { let s = ''; for (let i = a; i < b; i++) s += `${jsonLine(t, i)}\n`; return s; };
  writeFileSync(join(dir, 'access.log.2.gz'), gzipSync(text(cut[0]!, cut[1]!)));
  writeFileSync(join(dir, 'access.log.1'), text(cut[1]!, cut[2]!));
  writeFileSync(join(dir, 'access.log'), text(cut[2]!, cut[3]!));
  return join(dir, 'access.log*');
}

/** Runs a CLI subcommand in a child process; resolves with its stdout. */
function cli(args: string[], onLine?: (line: string) => void): Promise<{ code: number | null; stdout: string; child: ReturnType<typeof spawn> }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) { onLine?.(buf.slice(0, i)); buf = buf.slice(i + 1); }
    });
    child.on('error', rej);
    child.on('exit', (code) => res({ code, stdout, child }));
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'coldrl-demo' }, db: { type: 'string' }, quick: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' }, steps: { type: 'string' }, workload: { type: 'string', default: 'trap' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(help()); return 0; }
  const quick = values.quick!;
  const seed = intOption('demo', 'seed', values.seed, 0, 2 ** 32 - 1)!;
  const steps = intOption('demo', 'steps', values.steps, 1, 1e12);
  const gen = WORKLOADS[values.workload!];
  if (!gen) throw new ColdrlError('COLDRL_ERR_USAGE', `demo: unknown workload ${values.workload} (known: ${Object.keys(WORKLOADS).join(', ')})`);
  const out = resolve(values.out!);
  const dbPath = resolve(values.db ?? join(out, 'coldrl.db'));
  mkdirSync(out, { recursive: true });
  // the demo's own store starts afresh; a store named by --db is the user's: appended to, never deleted
  if (values.db === undefined) for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });
  const T = 7;
  const started = Date.now();
  const store = new Store(dbPath);
  const trainSize = '25m';
  const sizes = quick ? ['25m', '100m', '400m'] : ['10m', '25m', '50m', '100m', '200m', '400m'];
  const hp: HParams = { ...DEFAULT_HPARAMS, seed, totalDecisions: steps ?? (quick ? 3000 : DEFAULT_HPARAMS.totalDecisions) };
  const oracle = `ktail-oracle:${hp.k}:${hp.candidates}`;
  try {
    // 1. workloads as NGINX logs
    let done = step(1, T, `write the ${values.workload} workload as NGINX access logs (train seed ${seed}, eval seed ${seed + 1})`);
    const trainGlob = writeArchive(gen.generate(seed), join(out, 'logs/train'));
    const evalTrace = gen.generate(seed + 1);
    mkdirSync(join(out, 'logs/eval'), { recursive: true });
    const evalLog = join(out, 'logs/eval/access.log');
    { let s = ''; for (let i = 0; i < evalTrace.length; i++) s += `${jsonLine(evalTrace, i)}\n`; writeFileSync(evalLog, s); }
    const evalSrc = openSource(evalLog, 'nginx');
    const evalFromLog = await loadTrace(evalSrc);
    done();

    // 2. baselines on the evaluation log
    done = step(2, T, `replay the evaluation log under every baseline at ${sizes.join(', ')}`);
    const baselines = listPolicies().filter((p) => !p.hidden).map((p) => p.name).filter((p) => !p.startsWith('ktail'));
    const results: ReplayResult[] = [];
    const record = (r: ReplayResult, model: string | null, run: number | null) => {
      results.push(r);
      store.addEvaluation({ run, model, policy: r.policy, trace: `${values.workload} seed ${seed + 1}`, cacheSize: r.cacheSize, cacheBytes: r.cacheBytes, hitRatio: r.hitRatio, byteHitRatio: r.byteHitRatio });
    };
    for (const size of sizes) {
      const bytes = parseCacheSize(size).bytes;
      for (const p of [...baselines, oracle]) record(await replayTrace(evalFromLog, p, bytes, size, { semantics: 'nginx', seed }), null, null);
    }
    done();

    // 3. training on the rotated archive
    done = step(3, T, `train the dueling DQN on ${trainGlob} at ${trainSize} (${hp.totalDecisions} decisions, K=${hp.k}, ${hp.candidates} candidates)`);
    const backend = await resolveBackend('wasm');
    const outcome = await runTraining({
      hp, traceName: trainGlob, trace: { path: trainGlob, format: 'nginx' }, capacity: parseCacheSize(trainSize).bytes,
      cacheSizeText: trainSize, out: join(out, 'model.onnx'), db: dbPath, backend: backend.backend, progress: true,
    });
    if (outcome.sha256 === null) throw new ColdrlError('COLDRL_ERR_MODEL', `${outcome.out}: no model written`);
    const sha256 = outcome.sha256;
    done();

    // 4. parity between the trainer's network and the exported file
    done = step(4, T, 'check the ONNX export against the trainer (onnxruntime-node vs tfjs)');
    const real = recordCandidates(evalFromLog, parseCacheSize(trainSize).bytes, `${hp.k}:${hp.candidates}`, 64);
    const parity = await checkParity(outcome.out, exportedWeights(outcome.result), real, scoringOf(hp.objective, hp.goal));
    store.addBenchmark('parity', parity);
    if (!(parity.maxRelError <= 1e-5)) throw new ColdrlError('COLDRL_ERR_MODEL', `parity check failed: max relative error ${parity.maxRelError}`);
    done();

    // 5. evaluation of the learned policy
    done = step(5, T, 'evaluate the learned policy on the evaluation log');
    const learned = `coldrl:${outcome.out}`;
    for (const size of sizes) record(await replayTrace(evalFromLog, learned, parseCacheSize(size).bytes, size, { semantics: 'nginx', seed }), sha256, outcome.run);
    done();

    // 6. sidecar: serve the model, benchmark it over the framed socket, stop it
    done = step(6, T, 'start the sidecar, benchmark it, stop it');
    const sock = join(out, 'sidecar.sock');
    const serve = spawn(process.execPath, [CLI, 'serve', '--model', outcome.out, '--socket', sock, '--db', dbPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      let buf = '';
      serve.stdout!.on('data', (d: Buffer) => { buf += d; if (buf.includes('"ready"')) res(); });
      serve.on('exit', (c) => rej(new ColdrlError('COLDRL_ERR_MODEL', `the sidecar exited with ${c} before it was ready`)));
    });
    let bench: Record<string, unknown> = {};
    try {
      const r = await cli(['bench', 'sidecar', '--socket', sock, '--transport', 'framed', '--k', String(hp.k), '--requests', quick ? '2000' : '10000', '--json']);
      const last = r.stdout.trim().split('\n').at(-1) ?? '{}';
      bench = JSON.parse(last) as Record<string, unknown>;
    } finally {
      serve.kill('SIGTERM');
      await new Promise((res) => serve.once('exit', res));
    }
    store.addBenchmark('sidecar', bench);
    done();

    // 7. report
    done = step(7, T, 'write the report');
    const report = writeReport(store, join(out, 'report'));
    done();

    // summary
    const at = (p: string, s: string) => results.find((r) => r.policy === p && r.cacheSize === s)?.hitRatio;
    const show = [learned, 'lru', 'lfu', 'size', 'adaptive-lru', 'hybrid', 'gdsf', 's3fifo', 'belady', oracle];
    const w = Math.max(...show.map((p) => (p === learned ? 'coldrl (learned)' : p).length));
    console.log(`\nHit ratios on ${values.workload} seed ${seed + 1} (trained on seed ${seed}), nginx semantics:`);
    console.log(`${'policy'.padEnd(w)}  ${sizes.map((s) => s.padStart(7)).join('  ')}`);
    for (const p of show) {
      console.log(`${(p === learned ? 'coldrl (learned)' : p).padEnd(w)}  ${sizes.map((s) => { const v = at(p, s); return (v === undefined ? '-' : v.toFixed(4)).padStart(7); }).join('  ')}`);
    }
    console.log(`\nparity: max relative error ${parity.maxRelError.toExponential(2)} (abs ${parity.maxAbsError.toExponential(2)}) over ${parity.cases} candidate sets (${parity.realCases} from the replay)`);
    const b = bench as { p50us?: number; p99us?: number; fallbackRate?: number; requests?: number };
    console.log(`sidecar (framed Unix socket, K=${hp.k}): p50 ${b.p50us?.toFixed(0)} us, p99 ${b.p99us?.toFixed(0)} us, fallback rate ${((b.fallbackRate ?? NaN) * 100).toFixed(2)}% over ${b.requests} requests`);
    console.log(`model ${outcome.out} (sha256 ${sha256.slice(0, 12)}), store ${dbPath}, report ${report.html}`);
    console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return 0;
  } finally {
    store.close();
    tf.disposeVariables();
  }
}
