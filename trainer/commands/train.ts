/**
 * `coldrl train`: trains the dueling DQN (trainer/dqn.ts) on a trace or log archive and exports it to ONNX
 * (trainer/onnx-export.ts), recording the run, its metrics and the model in the store (replay/store.ts).
 * runTraining() is the same flow as an API for bench/learn.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SOURCES } from '../../replay/candidates.js';
import { ColdrlError } from '../../replay/errors.js';
import { FEATURE_CAPS, FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPEC_VERSION, MAX_CANDIDATES } from '../../replay/features.js';
import { openSource } from '../../replay/formats/index.js';
import { belowLru, countRequests, describeHoldout, HOLDOUT_BASELINES, HOLDOUT_KEY, holdoutOfResults, holdoutStart, sliceSource, type Holdout } from '../../replay/holdout.js';
import { Progress } from '../../replay/progress.js';
import { replayEach } from '../../replay/run.js';
import { parseCacheSize, resolveCacheSize } from '../../replay/size.js';
import { DEFAULT_DB, Store } from '../../replay/store.js';
import { loadTrace, RequestBatch, Trace, type TraceSource } from '../../replay/trace.js';
import { BACKEND_NAMES, describeBackend, resolveBackend, type BackendName } from '../backend.js';
import { checkpointOf, exportedWeights, train, type Checkpoint, type TrainEnv, type TrainProgress, type TrainResult } from '../dqn.js';
import { DEFAULT_HPARAMS, type HParams } from '../hparams.js';
import { HEADS } from '../network.js';
import { writeOnnx } from '../onnx-export.js';
import { checkParity, type ParityReport } from '../parity.js';

/** Share of the last requests `coldrl train` holds out by default. */
export const DEFAULT_HOLDOUT = 0.1;

/**
 * The sources `--candidates auto` chooses between: `perbyte` (the default) is best on most traffic measured,
 * `large` on tragen (docs/candidates.md); no single one is best everywhere.
 */
export const AUTO_SOURCES = ['perbyte', 'large'] as const;

export const summary = 'train the dueling DQN on a trace or log archive and export it to ONNX';

export function help(): string {
  const d = DEFAULT_HPARAMS;
  return `coldrl train --trace FILE --cache-size SIZE --out model.onnx [options]

Trains the learned eviction policy offline, by replaying the trace in nginx semantics (TTL, expiry) with a
K-candidate policy whose scorer is the agent (dueling network fitted to every candidate's label each
decision; trainer/dqn.ts), and writes an ONNX model that
\`coldrl replay --policy coldrl:model.onnx\` and \`coldrl serve\` load.

  --trace FILE        trace or log archive (csv, or FORMAT:FILE); gzip is read transparently
  --format NAME       trace format
  --cache-size SIZE   cache size: 25m, 1g, bytes, or 1% of unique bytes (a percentage loads the whole trace)
  --out FILE          model file to write (default model.onnx); the checkpoint goes to FILE.ckpt.json
  --steps N           eviction decisions to train for (default ${d.totalDecisions}), over as many passes as needed
  --seed S            seed of every random source (default ${d.seed})
  --k K               candidates per decision, 1..${MAX_CANDIDATES} (default ${d.k})
  --candidates NAME   candidate source (default ${d.candidates}), or auto: ${AUTO_SOURCES.join(' and ')} each trained for half of
                      --steps on the training part less its last tenth, which picks the source (the one whose
                      model gets the more hits there); then the full training with it. About twice the time.
  --hidden H          hidden width (default ${d.hidden})
  --objective NAME    what the network learns: hit-logit (default: each candidate's chance of a hit, ranked
                      per byte) or q (the per-byte reward, Huber; the previous default, with --horizon 1)
  --horizon F         horizon of a hit, in running mean victim idle times (default ${d.horizonFactor}); docs/training.md
  --reward NAME       horizon (default, shaped) or paper (see docs/training.md)
  --window N          requests per window when streaming (default ${d.window})
  --db FILE           store (default ./${DEFAULT_DB}; none: no store); runs, metrics every ${d.logFrequency} decisions, the model
  --backend B         ${BACKEND_NAMES.join('|')} (default wasm), resolved by trainer/backend.ts
  --gpu-step S        fused (default: GPU-built step, docs/gpu.md) or autodiff (tfjs autodiff): the step on webgpu
  --resume            continue from FILE.ckpt.json (written on Ctrl-C and at the end); --steps then is the new total
  --holdout F         share of the trace's last requests kept out of training (default ${DEFAULT_HOLDOUT}; 0 = none):
                      they are replayed under the model, LRU and GDSF before the model is written, the
                      figures go into its metadata and the store, and \`coldrl serve\` warns if it lost to LRU
  --skip-bad          count and skip malformed lines
  --json              print the result as one JSON object

Memory: the trace streams in windows of --window requests (next uses, hence rewards, are computed within a
window); memory is bounded by one window (about 40 bytes per request) plus the replay buffer
(${d.bufferSize} decisions x K x ${FEATURE_COUNT + 1} floats: ${(d.bufferSize * d.k * (FEATURE_COUNT + 1) * 4 / 2 ** 20).toFixed(0)} MiB at the defaults).
A trace that fits in one window is read once and replayed from memory on later passes.
Ctrl-C stops at the next request, saves the checkpoint and the model so far.`;
}

export interface TrainingSpec {
  hp: HParams;
  /** Name recorded with the run and in the model (a path or a generated workload's name). */
  traceName: string;
  /** Either a file to stream (with format) or a trace in memory. */
  trace: Trace | { path: string; format?: string; skipBad?: boolean; /** Requests to train on (default all). */ limit?: number };
  capacity: number;
  cacheSizeText: string;
  out: string;
  db: string | null;
  /** Stored with the run and in the model: the backend, with the adapter for webgpu (describeBackend). */
  backend: string;
  resume?: Checkpoint;
  /**
   * Requests [from, end) held out of `trace` (which then holds only the ones before): the whole trace is
   * replayed under the finished model, LRU and GDSF, counting from `from`, before the model is written for
   * good (replay/holdout.ts); `open` gives the whole trace afresh per replay.
   */
  holdout?: { fraction: number; from: number; open: () => Trace | TraceSource };
  progress?: boolean;
  shouldStop?: () => boolean;
  /** Added to the model's metadata. */
  metadata?: Record<string, string>;
}

export interface TrainingOutcome {
  run: number | null;
  out: string;
  sha256: string;
  result: TrainResult;
  metadata: Record<string, string>;
  /** The written file against the trainer's network on random candidate sets (trainer/parity.ts). */
  parity: ParityReport;
  /** The held-out check, when spec.holdout was given and the run was not interrupted. */
  holdout: Holdout | null;
  /** Requests of the trace the trainer read (the most of any pass: the training part, once a pass completes). */
  requestsRead: number;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: new URL('../../..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch { return 'unknown'; }
}

/** Reads at most `max` requests of a source into a new in-memory trace (ids stay the source's); null at the end. */
async function readWindow(src: TraceSource, max: number, chunk: RequestBatch): Promise<Trace | null> {
  const t = new Trace(max);
  let n = 0;
  while (n < max) {
    const got = await src.read(chunk);
    if (got === 0) break;
    for (const k of ['time', 'id', 'size', 'ttl', 'rtt', 'flags'] as const) (t[k] as Float64Array).set((chunk[k] as Float64Array).subarray(0, got), n);
    n += got;
    if (n + chunk.capacity > max) break;
  }
  if (n === 0) return null;
  t.length = n;
  t.name = src.name;
  t.objects = src.interner.count;
  t.uniqueBytes = src.interner.uniqueBytes;
  return t;
}

/**
 * Passes over a file's first `limit` requests in windows; a file that fits in one window is kept in memory
 * after the first pass.
 */
function fileEnv(path: string, format: string | undefined, skipBad: boolean, window: number, limit: number): TrainEnv['pass'] {
  let whole: Trace | null = null;
  return async function* () {
    if (whole) { yield whole; return; }
    const src = sliceSource(openSource(path, format, { skipBad }), 0, limit);
    const chunk = new RequestBatch(Math.min(1 << 15, window));
    let count = 0;
    let first: Trace | null = null;
    try {
      for (;;) {
        const w = await readWindow(src, window, chunk);
        if (!w) break;
        count++;
        if (count === 1) { first = w; continue; }
        if (count === 2) yield first!;
        yield w;
      }
      if (count === 0) throw new ColdrlError('COLDRL_ERR_EMPTY_TRACE', `${path}: the trace holds no requests`);
      if (count === 1) { whole = first; yield first!; }
    } finally {
      src.close();
    }
  };
}

export function modelMetadata(hp: HParams, traceName: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'coldrl.feature_spec_version': String(FEATURE_SPEC_VERSION),
    'coldrl.feature_count': String(FEATURE_COUNT),
    'coldrl.feature_names': FEATURE_NAMES.join(','),
    'coldrl.feature_caps': FEATURE_CAPS.join(','),
    'coldrl.k': String(hp.k),
    'coldrl.candidates': hp.candidates,
    'coldrl.trace': traceName,
    'coldrl.seed': String(hp.seed),
    'coldrl.commit': gitCommit(),
    'coldrl.created': new Date().toISOString(),
    'coldrl.hidden': String(hp.hidden),
    'coldrl.reward': hp.reward,
    'coldrl.objective': hp.objective,
    ...extra,
  };
}

/** Trains, exports the model and the checkpoint, records everything in the store. */
export async function runTraining(spec: TrainingSpec): Promise<TrainingOutcome> {
  const { hp } = spec;
  // the model's folder first: a missing one must not cost the run at its end
  mkdirSync(dirname(resolve(spec.out)), { recursive: true });
  const store = spec.db ? new Store(spec.db) : null;
  try {
    let run: number | null = spec.resume?.run ?? null;
    if (store) {
      if (run !== null && store.runs().some((r) => r.id === run)) store.resumeRun(run);
      else run = store.startRun({ name: `${basename(spec.traceName)}__dqn__${hp.seed}__${Date.now()}`, hparams: hp, trace: spec.traceName, seed: hp.seed, backend: spec.backend });
    }
    const windows: TrainEnv['pass'] = spec.trace instanceof Trace
      ? (async function* (t: Trace) { yield t; }).bind(null, spec.trace)
      : fileEnv(spec.trace.path, spec.trace.format, spec.trace.skipBad ?? false, hp.window, spec.trace.limit ?? Infinity);
    // the most requests one pass read: what the trainer saw of the trace (all of it, once a pass completes)
    let requestsRead = 0;
    const env: TrainEnv = {
      capacity: spec.capacity,
      async *pass() {
        let n = 0;
        for await (const w of windows()) { n += w.length; requestsRead = Math.max(requestsRead, n); yield w; }
      },
    };
    const bar = spec.progress ? new Progress(`train ${basename(spec.traceName)} ${spec.cacheSizeText}`, hp.totalDecisions) : null;
    const onLog = (p: TrainProgress) => {
      bar?.update(p.decisions, `${p.stepsPerSecond.toFixed(0)} steps/s loss ${p.loss.toFixed(4)} eps ${p.epsilon.toFixed(3)} hit ${p.hitRatio.toFixed(3)}`);
      store?.metrics(run!, p.decisions, {
        'losses/td_loss': p.loss, 'charts/epsilon': p.epsilon, 'charts/hit_ratio': p.hitRatio, 'charts/mean_reward': p.meanReward,
        'charts/steps_per_second': p.stepsPerSecond, 'charts/decisions_per_second': p.decisionsPerSecond, 'charts/gradient_steps': p.gradSteps,
      });
    };
    let result: TrainResult;
    try {
      result = await train(hp, env, { resume: spec.resume, onLog, shouldStop: spec.shouldStop });
    } catch (e) {
      if (store && run !== null) store.endRun(run, 'failed');
      throw e;
    } finally {
      bar?.done();
    }
    const ckPath = `${spec.out}.ckpt.json`;
    writeFileSync(`${ckPath}.tmp`, JSON.stringify({ ...checkpointOf(hp, result, run), ...(spec.holdout ? { holdout: spec.holdout.fraction } : {}) }));
    renameSync(`${ckPath}.tmp`, ckPath);
    const metadata = modelMetadata(hp, spec.traceName, {
      'coldrl.cache_size': spec.cacheSizeText, 'coldrl.decisions': String(result.decisions), 'coldrl.backend': spec.backend, 'coldrl.learner': result.learner,
      ...(run !== null ? { 'coldrl.run': String(run) } : {}), ...spec.metadata,
    });
    // the file must score as the trainer's network does (onnxruntime-node vs tfjs, random candidate sets);
    // it is written beside `out` and renamed over it only when checked (and, with a holdout, evaluated), so
    // a sidecar watching `out` never loads a half-written or unchecked file
    const tmp = `${spec.out}.tmp.onnx`;
    const writeChecked = async (): Promise<{ bytes: Uint8Array; parity: ParityReport }> => {
      const bytes = writeOnnx(tmp, exportedWeights(result), metadata, hp.objective);
      const parity = await checkParity(tmp, exportedWeights(result), [], hp.objective);
      if (!(parity.maxRelError <= 1e-5)) throw new ColdrlError('COLDRL_ERR_MODEL', `${spec.out}: the exported model does not score as the trainer's network (max relative error ${parity.maxRelError})`);
      return { bytes, parity };
    };
    try {
      let written = await writeChecked();
      let holdout: Holdout | null = null;
      if (spec.holdout && !result.interrupted) {
        const h = spec.holdout;
        const results = await replayEach(h.open, [`coldrl:${tmp}`, ...HOLDOUT_BASELINES], spec.capacity, spec.cacheSizeText, { semantics: 'nginx', warmUp: h.from, progress: spec.progress });
        holdout = holdoutOfResults(results, h.fraction, h.from);
        metadata[HOLDOUT_KEY] = JSON.stringify(holdout);
        written = await writeChecked();
        results.forEach((r, i) => store?.addEvaluation({
          run, model: i === 0 ? resolve(spec.out) : null, policy: i === 0 ? 'model' : r.policy, trace: `${spec.traceName} [held out from request ${h.from}]`,
          cacheSize: spec.cacheSizeText, cacheBytes: spec.capacity, hitRatio: r.hitRatio, byteHitRatio: r.byteHitRatio,
        }));
      }
      renameSync(tmp, spec.out);
      const sha256 = createHash('sha256').update(written.bytes).digest('hex');
      if (store && run !== null) {
        store.addModel({ run, path: resolve(spec.out), sha256, metadata });
        store.endRun(run, result.interrupted ? 'interrupted' : 'done');
      }
      return { run, out: spec.out, sha256, result, metadata, parity: written.parity, holdout, requestsRead };
    } catch (e) {
      if (store && run !== null) store.endRun(run, 'failed');
      throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  } finally {
    store?.close();
  }
}

/**
 * Splits a trace for `--holdout`: the training part (a Trace's first requests, or a file read up to
 * `limit`) and the held-out check's spec, whose `open` gives the WHOLE trace (its replays warm up on the
 * training part and count from `from`). A streamed file without a limit is read once to count its requests.
 */
async function splitHoldout(trace: TrainingSpec['trace'], fraction: number): Promise<{ trace: TrainingSpec['trace']; holdout: NonNullable<TrainingSpec['holdout']> }> {
  if (trace instanceof Trace) {
    const from = holdoutStart(trace.length, fraction);
    return { trace: trace.slice(0, from), holdout: { fraction, from, open: () => trace } };
  }
  const limit = trace.limit ?? Infinity;
  const reopen = () => sliceSource(openSource(trace.path, trace.format, { skipBad: trace.skipBad }), 0, limit);
  // a limit comes from an earlier split, which counted the file: it holds more requests than that
  const from = holdoutStart(Number.isFinite(limit) ? limit : await countRequests(reopen()), fraction);
  return { trace: { ...trace, limit: from }, holdout: { fraction, from, open: reopen } };
}

/** What `--candidates auto` measured: each source's model on the validation requests, and the pick. */
export interface SourceChoice {
  chosen: string;
  from: number;
  decisions: number;
  hitRatio: Record<string, number>;
  lru: number;
}

/**
 * `--candidates auto`: trains one model per AUTO_SOURCES on `trace` less its last tenth (half the
 * decisions each, no store, files removed), replays that tenth under each (warmed up, as the held-out check
 * does) and picks the source with the more hits (ties: the first, `perbyte`). The held-out requests of
 * `--holdout` are not in `trace`, so they play no part in the choice. Null when interrupted (Ctrl-C).
 */
async function chooseSource(spec: Omit<TrainingSpec, 'holdout' | 'resume'>, log: (line: string) => void): Promise<SourceChoice | null> {
  const { trace: part, holdout: validation } = await splitHoldout(spec.trace, DEFAULT_HOLDOUT);
  const decisions = Math.max(1, Math.floor(spec.hp.totalDecisions / 2));
  const hitRatio: Record<string, number> = {};
  const overLru: Record<string, number> = {};
  let lru = NaN;
  for (const source of AUTO_SOURCES) {
    const out = `${spec.out}.auto-${source}.onnx`;
    try {
      const o = await runTraining({ ...spec, hp: { ...spec.hp, candidates: source, totalDecisions: decisions }, trace: part, out, db: null, holdout: validation });
      if (o.result.interrupted || !o.holdout) return null;
      hitRatio[source] = o.holdout.hitRatio.model!;
      lru = o.holdout.hitRatio.lru!;
      log(`candidates ${source}: ${describeHoldout(o.holdout, 'validation')}`);
      overLru[source] = o.holdout.hitsOverLru;
    } finally {
      rmSync(out, { force: true });
      rmSync(`${out}.ckpt.json`, { force: true });
    }
  }
  return { chosen: bestSource(overLru), from: validation.from, decisions, hitRatio, lru };
}

/** The source with the most hits over LRU (ties: the earlier one), whatever their signs. */
export function bestSource(hitsOverLru: Readonly<Record<string, number>>): string {
  let chosen = '', best = -Infinity;
  for (const [source, h] of Object.entries(hitsOverLru)) if (h > best) { best = h; chosen = source; }
  return chosen;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string' }, format: { type: 'string' }, 'cache-size': { type: 'string' }, out: { type: 'string', default: 'model.onnx' },
      steps: { type: 'string' }, seed: { type: 'string' }, k: { type: 'string' }, candidates: { type: 'string' },
      hidden: { type: 'string' }, objective: { type: 'string' }, horizon: { type: 'string' }, reward: { type: 'string' }, window: { type: 'string' }, db: { type: 'string', default: DEFAULT_DB },
      backend: { type: 'string', default: 'wasm' }, 'gpu-step': { type: 'string' }, resume: { type: 'boolean', default: false }, holdout: { type: 'string' }, 'skip-bad': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) { console.log(help()); return 0; }
  if (!values.trace) throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --trace FILE is required');
  if (!values['cache-size']) throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --cache-size is required (e.g. 25m, 1%)');
  const out = values.out!;
  const int = (name: string, v: string | undefined, lo: number, hi: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --${name} must be an integer in ${lo}..${hi} (got ${v})`);
    return n;
  };
  let resume: Checkpoint | undefined;
  let hp: HParams = { ...DEFAULT_HPARAMS };
  if (values.resume) {
    const ckPath = `${out}.ckpt.json`;
    if (!existsSync(ckPath)) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `train --resume: no checkpoint ${ckPath}`);
    try { resume = JSON.parse(readFileSync(ckPath, 'utf8')) as Checkpoint; } catch { throw new ColdrlError('COLDRL_ERR_USAGE', `train --resume: ${ckPath} is not a checkpoint`); }
    if (resume.format !== 'coldrl-checkpoint-1') throw new ColdrlError('COLDRL_ERR_USAGE', `train --resume: ${ckPath} is not a checkpoint`);
    // a checkpoint from before `objective` existed trained Q ('q')
    hp = { ...resume.hparams, objective: resume.hparams.objective ?? 'q' };
  }
  const set = <K extends keyof HParams>(k: K, v: HParams[K] | undefined) => { if (v !== undefined) hp[k] = v; };
  set('totalDecisions', int('steps', values.steps, 1, 1e12));
  if (!resume) {
    set('seed', int('seed', values.seed, 0, 2 ** 32 - 1));
    set('k', int('k', values.k, 1, MAX_CANDIDATES));
    set('hidden', int('hidden', values.hidden, 1, 4096));
    set('window', int('window', values.window, 1024, 2 ** 30));
    if (values.candidates !== undefined && values.candidates !== 'auto' && !(values.candidates in SOURCES)) {
      throw new ColdrlError('COLDRL_ERR_USAGE', `train: --candidates must be auto or one of ${Object.keys(SOURCES).join(', ')} (got ${values.candidates})`);
    }
    set('candidates', values.candidates);
    if (values.objective !== undefined) {
      const objective = HEADS.find((h) => h === values.objective);
      if (!objective) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --objective must be ${HEADS.join(' or ')}`);
      hp.objective = objective;
    }
    if (values.horizon !== undefined) {
      const f = Number(values.horizon);
      if (!(f > 0 && f < 1e6)) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --horizon must be a positive number (got ${values.horizon})`);
      hp.horizonFactor = f;
    }
    if (values.reward !== undefined) {
      if (values.reward !== 'paper' && values.reward !== 'horizon') throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --reward must be horizon or paper');
      hp.reward = values.reward;
    }
    if (values['gpu-step'] !== undefined) {
      if (values['gpu-step'] !== 'fused' && values['gpu-step'] !== 'autodiff') throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --gpu-step must be fused or autodiff');
      hp.gpuStep = values['gpu-step'];
    }
    hp.learningStarts = Math.min(hp.learningStarts, Math.max(hp.batchSize + 1, Math.floor(hp.totalDecisions / 4)));
  }
  const backend = await resolveBackend(values.backend as BackendName);
  const size = parseCacheSize(values['cache-size']);
  let trace: TrainingSpec['trace'] = { path: values.trace, format: values.format, skipBad: values['skip-bad'] };
  if (Number.isNaN(size.bytes)) trace = await loadTrace(openSource(values.trace, values.format, { skipBad: values['skip-bad'] }));
  const capacity = resolveCacheSize(size, trace instanceof Trace ? trace.uniqueBytes : 0);
  let fraction = resume ? resume.holdout ?? 0 : DEFAULT_HOLDOUT;
  if (values.holdout !== undefined) {
    const f = Number(values.holdout);
    if (!(f >= 0 && f <= 0.5)) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --holdout must be a share in 0..0.5 (got ${values.holdout})`);
    if (resume && f !== fraction) throw new ColdrlError('COLDRL_ERR_USAGE', `train --resume: the checkpoint held out ${fraction} of the trace; --holdout cannot change on resume`);
    fraction = f;
  }
  let holdout: TrainingSpec['holdout'];
  if (fraction > 0) {
    ({ trace, holdout } = await splitHoldout(trace, fraction));
    if (!values.json) console.log(`training on requests 0..${holdout.from - 1}; the last ${fraction} (from request ${holdout.from}) held out to check the model against LRU and GDSF`);
  }
  const db = values.db === 'none' ? null : values.db!;
  let stop = false;
  const onSigint = () => { stop = true; };
  process.on('SIGINT', onSigint);
  let o: TrainingOutcome;
  let choice: SourceChoice | null = null;
  try {
    const common = { traceName: values.trace, capacity, cacheSizeText: size.text, out, backend: describeBackend(backend), progress: !values.json, shouldStop: () => stop };
    if (hp.candidates === 'auto') {
      choice = await chooseSource({ ...common, hp, trace, db: null }, values.json ? () => undefined : (line) => console.log(line));
      if (!choice) { console.error('interrupted while choosing the candidate source: no model written'); return 130; }
      hp.candidates = choice.chosen;
      if (!values.json) console.log(`candidates ${choice.chosen} chosen; training with it`);
    }
    o = await runTraining({ ...common, hp, trace, db, resume, holdout,
      ...(choice ? { metadata: { 'coldrl.candidates_auto': JSON.stringify(choice) } } : {}) });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const r = o.result;
  if (values.json) {
    console.log(JSON.stringify({ model: resolve(out), checkpoint: resolve(`${out}.ckpt.json`), sha256: o.sha256, run: o.run, db,
      backend: describeBackend(backend), learner: r.learner, interrupted: r.interrupted, requestsRead: o.requestsRead, decisions: r.decisions, gradientSteps: r.gradSteps, passes: r.passes,
      seconds: r.seconds, loss: r.last.loss, trainHitRatio: r.last.hitRatio, parity: o.parity, holdout: o.holdout, candidatesAuto: choice, hparams: hp }));
  } else {
    console.log(`${r.interrupted ? 'interrupted' : 'trained'} on ${o.requestsRead} requests: ${r.decisions} decisions, ${r.gradSteps} gradient steps, ${r.passes} passes in ${r.seconds.toFixed(1)} s on ${describeBackend(backend)}, ${r.learner}`);
    console.log(`model written to ${resolve(out)} (sha256 ${o.sha256.slice(0, 12)}; scores as the trainer's network to ${o.parity.maxRelError.toExponential(1)}); checkpoint ${resolve(`${out}.ckpt.json`)}${o.run !== null ? `; run ${o.run} in ${db}` : ''}`);
    if (o.holdout) console.log(describeHoldout(o.holdout));
    if (r.interrupted && holdout) console.log('held-out check skipped (interrupted): it runs when a --resume completes');
    if (r.interrupted) console.log(`continue with: coldrl train --trace ${values.trace} --cache-size ${values['cache-size']} --out ${out} --resume`);
  }
  if (o.holdout && belowLru(o.holdout)) {
    console.error(`warning: ${out} lost to LRU on the held-out requests (${o.holdout.hitsOverLru} hits); serving it would lose hits on traffic like them. `
      + `Try ${choice ? '' : '--candidates auto (or another source), '}more --steps, or keep NGINX on LRU (docs/training.md).`);
  }
  return r.interrupted ? 130 : 0;
}
