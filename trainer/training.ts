/**
 * One training run as an API: trains the dueling DQN (trainer/dqn.ts) on a trace or log archive, exports it
 * to ONNX (trainer/onnx-export.ts) through a checked temporary file, runs the held-out check
 * (replay/holdout.ts) and records the run, its metrics, the model and the evaluations in the store
 * (replay/store.ts). `coldrl train` (commands/train.ts), the demo and the benchmarks call runTraining().
 */
import { execFileSync } from 'node:child_process';
import { setImmediate as turn } from 'node:timers/promises';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { Cache, type NginxRules } from '../replay/cache.js';
import { ColdrlError, isColdrlError, outputError } from '../replay/errors.js';
import { FEATURE_CAPS, FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPEC_VERSION } from '../replay/features.js';
import { openSource, readsNginxLogs } from '../replay/formats/index.js';
import type { LogReadOptions, Reading } from '../replay/formats/nginx-source.js';
import { belowLru, countRequests, HOLDOUT_BASELINES, HOLDOUT_KEY, holdoutOfResults, holdoutStart, sliceSource, type Holdout } from '../replay/holdout.js';
import { Progress } from '../replay/progress.js';
import { Spool, spoolInto } from '../replay/spool.js';
import { policyFactory } from '../replay/registry.js';
import { replayEach } from '../replay/run.js';
import { Store } from '../replay/store.js';
import { RequestBatch, Trace, type ReaderStats, type TraceSource } from '../replay/trace.js';
import { checkpointOf, exportedWeights, train, type Checkpoint, type TrainEnv, type TrainProgress, type TrainResult } from './dqn.js';
import type { HParams } from './hparams.js';
import { scoringOf } from './network.js';
import { writeOnnx } from './onnx-export.js';
import { checkParity, type ParityReport } from './parity.js';

/** `coldrl train --train-on`: which requests are trained on (TrainingSpec.recent and .history). */
export const TRAIN_ON = ['recent', 'recent-cold', 'all'] as const;

/** `coldrl train --check-from`: where the held-out check's model starts deciding (TrainingSpec.checkFrom). */
export const CHECK_FROM = ['first', 'stretch'] as const;

/** Share of the last requests `coldrl train` holds out by default. */
export const DEFAULT_HOLDOUT = 0.1;

/**
 * With `recent`, the training stretch is the newest one in which LRU evicts this many times per decision
 * to train for: a decision may evict more than one object, and a stretch with too few decisions is
 * passed over again. 4 measured as well as 2 or better on every held-out check tried, and better than 2
 * over CloudPhysics' whole second half (docs/training.md).
 */
export const RECENT_EVICTIONS_PER_DECISION = 4;

/** Requests between two samples of the eviction count: the granularity of the recent stretch's start. */
const RECENT_BLOCK = 4096;

/**
 * A trace file to stream: its format and the reader's options (malformed lines, the TTL of responses that
 * carry none, the NGINX log_format and cache key), the same as `coldrl replay`'s.
 */
export interface TraceFile {
  path: string;
  format?: string;
  read?: LogReadOptions;
  /** Requests to train on (default all). */
  limit?: number;
  /** The file's requests parsed once (spoolTrace): every pass reads them instead of parsing the file again. */
  spool?: Spool;
}

export interface TrainingSpec {
  hp: HParams;
  /** Name recorded with the run and in the model (a path or a generated workload's name). */
  traceName: string;
  /** Either a file to stream (with format) or a trace in memory. */
  trace: Trace | TraceFile;
  capacity: number;
  cacheSizeText: string;
  /**
   * nginx's proxy_cache_path inactive= in seconds: objects idle this long are removed whatever the policy,
   * in training, in the recent stretch's sizing and in the held-out check. 0 or absent: never.
   */
  inactive?: number;
  /**
   * The keys zone's node limit (replay/nginx-conf.ts keysZoneNodes; replay/cache.ts says what NGINX does
   * at it), in the same three places. 0 or absent: unbounded.
   */
  keysLimit?: number;
  /** proxy_cache_min_uses (replay/cache.ts), in the same three places. Absent: 1. */
  minUses?: number;
  /**
   * proxy_cache_valid: the TTL in seconds the reader gave responses that carry none (trace.read.defaultTtl,
   * or the options the in-memory trace was read with); null or absent: none. Recorded in the checkpoint
   * and the model; the reader applies it.
   */
  defaultTtl?: number | null;
  /** proxy_ignore_headers and proxy_cache_valid as the reader applied them (--ignore-headers, --cache-valid); recorded as defaultTtl is. */
  reading?: Reading;
  out: string;
  db: string | null;
  /** Stored with the run and in the model: the backend, with the adapter for webgpu (describeBackend). */
  backend: string;
  resume?: Checkpoint;
  /**
   * Requests [from, end) held out of `trace` (which then holds only the ones before): the whole trace is
   * replayed under the finished model (from `checkFrom`), LRU and GDSF, counting from `from`, before the
   * model is written for good (replay/holdout.ts); `open` gives the whole trace afresh per replay.
   */
  holdout?: { fraction: number; from: number; open: () => Trace | TraceSource };
  /**
   * Where the held-out check's model starts deciding: 'first' (default), the first request, as a model
   * that has driven the cache for a long time; 'stretch' (with `recent`), RecentStretch.check, LRU evicting
   * before it: a long archive is not replayed under the model from its first request, but what the model
   * does to the cache over a longer run is not seen (docs/training.md, "The held-out check": up to .03
   * either way, a small-object model's cache not yet its own, a `cdn` model lower over the longer run).
   */
  checkFrom?: typeof CHECK_FROM[number];
  /**
   * Train on the newest requests of `trace` only (recentStart: the newest stretch in which LRU evicts
   * RECENT_EVICTIONS_PER_DECISION x hp.totalDecisions times) rather than from its first request. A log
   * archive holds far more evictions than a run's decisions, and without it the run would end within
   * its oldest requests.
   */
  recent?: boolean;
  /**
   * With `recent`: replay the requests before the stretch under LRU at the start of every pass
   * (TrainEnv.history; default true). false: the stretch starts from an empty cache with no history
   * (`--train-on recent-cold`).
   */
  history?: boolean;
  progress?: boolean;
  shouldStop?: () => boolean;
  /** Added to the model's metadata. */
  metadata?: Record<string, string>;
  /** Where notes go (e.g. a --resume whose run the store does not hold); absent: nowhere. */
  log?: (line: string) => void;
  /**
   * A model that lost to LRU on the held-out requests (replay/holdout.ts belowLru) does not replace a file
   * at `out`: it is written beside it (belowLruPath) and the outcome says so (`coldrl train`; its
   * --replace-below-lru turns this off). Off by default (the demo and the benchmarks write their own files).
   */
  keepBetter?: boolean;
}

export interface TrainingOutcome {
  run: number | null;
  /** Where the model was written: spec.out, or belowLruPath(spec.out) when spec.keepBetter kept it out. */
  out: string;
  /** The model written to `out`; null when none was: an interrupted run found a file there and kept it. */
  sha256: string | null;
  result: TrainResult;
  metadata: Record<string, string>;
  /** The written file against the trainer's network on random candidate sets (trainer/parity.ts); null when none was written. */
  parity: ParityReport | null;
  /** The held-out check, when spec.holdout was given and neither the run nor the check was interrupted. */
  holdout: Holdout | null;
  /** The check was interrupted (spec.shouldStop): the model is written without its figures. */
  checkInterrupted: boolean;
  /** Index of the first request trained on (0 unless spec.recent moved it); result.requests follow it. */
  trainedFrom: number;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: new URL('../..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
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

/** No request read from a trace file; for NGINX logs, the usual cause. */
function emptyTrace(file: TraceFile, stats?: ReaderStats): ColdrlError {
  const logs = readsNginxLogs(file.path, file.format);
  return new ColdrlError('COLDRL_ERR_EMPTY_TRACE', `${file.path}: no requests read${stats ? ` (${stats.summary()})` : ''}`
    + `${logs ? '; do its lines match the log_format? --log-format, or --nginx-conf with --log-format-name' : ''}`);
}

/** Opens a trace file with its reader options, or its spool. */
function openTrace(file: TraceFile): TraceSource {
  return file.spool ? file.spool.open() : openSource(file.path, file.format, file.read);
}

/**
 * Parses a trace file once into a spool in folder `dir` (replay/spool.ts), which every later pass reads
 * instead of the file: the file with its spool, and the reader's counts. When the spool cannot be written
 * the file comes back as it was, with the error, and its length, which limit then keeps.
 */
export async function spoolTrace(file: TraceFile, dir: string, progress = false): Promise<{ trace: TraceFile; stats: ReaderStats; spool: Spool | { length: number; error: Error } }> {
  const src = openTrace({ ...file, spool: undefined });
  const spool = await spoolInto(src, dir, progress);
  if (spool.length === 0) throw emptyTrace(file, src.stats);
  return { trace: spool instanceof Spool ? { ...file, spool } : { ...file, limit: spool.length }, stats: src.stats, spool };
}

/** Requests [0, end) of a trace in memory or a file, in batches (TrainEnv.history). */
function historyOf(trace: TrainingSpec['trace'], end: number): TrainEnv['history'] {
  return async function* () {
    if (trace instanceof Trace) {
      for (let s = 0; s < end; s += HISTORY_BATCH) yield trace.view(s, Math.min(end, s + HISTORY_BATCH));
      return;
    }
    const src = sliceSource(openTrace(trace), 0, end);
    const b = new RequestBatch(HISTORY_BATCH);
    try {
      for (let got = await src.read(b); got > 0; got = await src.read(b)) yield b;
    } finally {
      src.close();
    }
  };
}

/** Requests per batch of TrainEnv.history: the loop looks at Ctrl-C between two. */
const HISTORY_BATCH = 1 << 16;

/**
 * Passes over a file's requests [start, limit) in windows; a stretch that fits in one window is kept in
 * memory after the first pass.
 */
function fileEnv(file: TraceFile, window: number, start: number, limit: number): TrainEnv['pass'] {
  let whole: Trace | null = null;
  return async function* () {
    if (whole) { yield whole; return; }
    const src = sliceSource(openTrace(file), start, limit);
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
      if (count === 0) throw emptyTrace(file);
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
    'coldrl.goal': hp.goal,
    ...extra,
  };
}

/** A name beside `path` that no other run uses: `path.PID-RANDOM` + suffix (temporary files, probes). */
export function besidePath(path: string, suffix: string): string {
  return `${path}.${process.pid}-${randomBytes(4).toString('hex')}${suffix}`;
}

/**
 * The model's path, checked before a run reads its trace (`coldrl train --out`, runTraining): its folder is
 * made, a directory at the model's or the checkpoint's path is refused, and a probe file is created and
 * removed beside it; else ColdrlError COLDRL_ERR_OUTPUT. (It was found after the training, as a stack.)
 */
export function checkOutput(out: string): void {
  const dir = dirname(resolve(out));
  try { mkdirSync(dir, { recursive: true }); } catch (e) { throw outputError(e, out, `cannot make the model's folder ${dir}`); }
  for (const p of [out, `${out}.ckpt.json`]) {
    let isDir = false;
    try { isDir = statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false; } catch (e) { throw outputError(e, p, 'cannot look at it'); }
    if (isDir) throw new ColdrlError('COLDRL_ERR_OUTPUT', `${p}: is a directory; name the model file to write (e.g. ${join(p, 'model.onnx')})`);
  }
  const probe = besidePath(out, '.probe');
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (e) {
    throw outputError(e, out, `cannot write files in ${dir}`);
  }
  rmSync(probe, { force: true });
}

/**
 * Trains, exports the model and the checkpoint, records everything in the store.
 *
 * What is written: a run that completes (a Ctrl-C during the held-out check included: the model then has no
 * figures) writes the model, checked, and its checkpoint together at the end, the checkpoint first, each
 * through a temporary file of its own renamed into place. An interrupted run (spec.shouldStop) writes its
 * checkpoint, for --resume, and the model only where no file is at `out` yet: it never replaces a model
 * (`coldrl serve` reloads a changed file by itself). A run stopped before its first decision (while
 * sizing the training stretch or replaying the history) writes nothing: ColdrlError COLDRL_ERR_INTERRUPTED.
 * The store's run ends done, interrupted or failed, whatever ends it.
 */
export async function runTraining(spec: TrainingSpec): Promise<TrainingOutcome> {
  const { hp } = spec;
  // the model's folder first: a missing or unwritable one must not cost the run at its end
  checkOutput(spec.out);
  const ckPath = `${spec.out}.ckpt.json`;
  const tmp = besidePath(spec.out, '.tmp.onnx');
  const ckTmp = besidePath(ckPath, '.tmp');
  const store = spec.db ? new Store(spec.db) : null;
  let run: number | null = null;
  let runName: string | undefined = spec.resume?.runName;
  let status: 'done' | 'interrupted' | 'failed' = 'failed';
  try {
    if (store) {
      // --resume continues the checkpoint's run where the store holds it: the same id, trace and name (an
      // older checkpoint records no name); an id alone may be another run of another store
      const id = spec.resume?.run ?? null;
      const row = id === null ? undefined : store.runs().find((r) => r.id === id);
      if (row && resolve(row.trace) === resolve(spec.traceName) && (runName === undefined || row.name === runName)) {
        store.resumeRun(row.id);
        run = row.id;
        runName = row.name;
      } else {
        runName = `${basename(spec.traceName)}__dqn__${hp.seed}__${Date.now()}`;
        run = store.startRun({ name: runName, hparams: hp, trace: spec.traceName, seed: hp.seed, backend: spec.backend });
        if (id !== null) spec.log?.(`note: the checkpoint's run ${id} is not in ${spec.db}${row ? ` (its run ${id} is another one, ${row.name})` : ''}: recorded as a new run, ${run}`);
      }
    }
    const inactive = spec.inactive ?? 0;
    const keysLimit = spec.keysLimit ?? 0;
    const minUses = spec.minUses ?? 1;
    const rules: NginxRules = { inactive, keysLimit, minUses };
    // the check's start only for --check-from stretch (it costs a GDSF replay beside LRU's)
    const stretch = spec.recent ? await recentStart(spec.trace, spec.capacity, RECENT_EVICTIONS_PER_DECISION * hp.totalDecisions, spec.progress, rules, spec.checkFrom === 'stretch', spec.shouldStop) : { train: 0, check: 0 };
    const trainedFrom = stretch.train;
    const windows: TrainEnv['pass'] = spec.trace instanceof Trace
      ? (async function* (t: Trace) { yield t; }).bind(null, trainedFrom > 0 ? spec.trace.view(trainedFrom, spec.trace.length) : spec.trace)
      : fileEnv(spec.trace, hp.window, trainedFrom, spec.trace.limit ?? Infinity);
    const env: TrainEnv = { capacity: spec.capacity, rules, pass: windows, ...(trainedFrom > 0 && spec.history !== false ? { history: historyOf(spec.trace, trainedFrom), historyLength: trainedFrom } : {}) };
    const bar = spec.progress ? new Progress(`train ${basename(spec.traceName)} ${spec.cacheSizeText}`, hp.totalDecisions) : null;
    const onLog = (p: TrainProgress) => {
      // the figure the goal is judged by: the byte hit ratio for --goal bytes
      const judged = hp.goal === 'bytes' ? `byte hit ${p.byteHitRatio.toFixed(3)}` : `hit ${p.hitRatio.toFixed(3)}`;
      bar?.update(p.decisions, `${p.stepsPerSecond.toFixed(0)} steps/s loss ${p.loss.toFixed(4)} eps ${p.epsilon.toFixed(3)} ${judged}`);
      store?.metrics(run!, p.decisions, {
        'losses/td_loss': p.loss, 'charts/epsilon': p.epsilon, 'charts/hit_ratio': p.hitRatio, 'charts/byte_hit_ratio': p.byteHitRatio,
        'charts/mean_reward': p.meanReward,
        'charts/steps_per_second': p.stepsPerSecond, 'charts/decisions_per_second': p.decisionsPerSecond, 'charts/gradient_steps': p.gradSteps,
      });
    };
    let result: TrainResult;
    try {
      result = await train(hp, env, { resume: spec.resume, onLog, shouldStop: spec.shouldStop });
    } finally {
      bar?.done();
    }
    if (result.interrupted && result.decisions === (spec.resume?.decisions ?? 0)) throw nothingTrained('before the first decision');
    const trainOn: typeof TRAIN_ON[number] = !spec.recent ? 'all' : spec.history === false ? 'recent-cold' : 'recent';
    const checkpoint = JSON.stringify({ ...checkpointOf(hp, result, run), ...(spec.holdout ? { holdout: spec.holdout.fraction } : {}), trainOn, ...(trainOn === 'recent' ? { history: true } : {}), inactive, keysLimit, minUses, defaultTtl: spec.defaultTtl ?? null, reading: spec.reading ?? {}, capacity: spec.capacity, trace: spec.traceName, ...(runName !== undefined ? { runName } : {}) });
    const writeCheckpoint = (): void => {
      try {
        writeFileSync(ckTmp, checkpoint);
        renameSync(ckTmp, ckPath);
      } catch (e) {
        throw outputError(e, ckPath);
      }
    };
    const metadata = modelMetadata(hp, spec.traceName, {
      'coldrl.cache_size': spec.cacheSizeText, 'coldrl.decisions': String(result.decisions),
      'coldrl.trained_requests': `${trainedFrom}..${trainedFrom + result.requests - 1}`, 'coldrl.inactive': String(inactive), 'coldrl.keys_limit': String(keysLimit), 'coldrl.min_uses': String(minUses), 'coldrl.default_ttl': String(spec.defaultTtl ?? 'none'), 'coldrl.reading': JSON.stringify(spec.reading ?? {}), 'coldrl.backend': spec.backend, 'coldrl.learner': result.learner,
      ...(run !== null ? { 'coldrl.run': String(run) } : {}), ...spec.metadata,
    });
    // the file must score as the trainer's network does (onnxruntime-node vs tfjs, random candidate sets);
    // it is written beside `out` and renamed over it only when checked (and, with a holdout, evaluated), so
    // a sidecar watching `out` never loads a half-written or unchecked file
    const writeChecked = async (): Promise<{ bytes: Uint8Array; parity: ParityReport }> => {
      const scoring = scoringOf(hp.objective, hp.goal);
      let bytes: Uint8Array;
      try { bytes = writeOnnx(tmp, exportedWeights(result), metadata, scoring); } catch (e) { throw outputError(e, tmp); }
      const parity = await checkParity(tmp, exportedWeights(result), [], scoring);
      if (!(parity.maxRelError <= 1e-5)) throw new ColdrlError('COLDRL_ERR_MODEL', `${spec.out}: the exported model does not score as the trainer's network (max relative error ${parity.maxRelError})`);
      return { bytes, parity };
    };
    const recordModel = (written: { bytes: Uint8Array }, path = spec.out): string => {
      const sha256 = createHash('sha256').update(written.bytes).digest('hex');
      if (store && run !== null) store.addModel({ run, path: resolve(path), sha256, metadata });
      return sha256;
    };
    if (result.interrupted) {
      // the checkpoint, for --resume; the model so far only where there is none (no held-out check)
      writeCheckpoint();
      let written: { bytes: Uint8Array; parity: ParityReport } | null = null;
      if (!existsSync(spec.out)) {
        written = await writeChecked();
        if (!placeNew(tmp, spec.out)) written = null;
      }
      const sha256 = written ? recordModel(written) : null;
      status = 'interrupted';
      return { run, out: spec.out, sha256, result, metadata, parity: written?.parity ?? null, holdout: null, checkInterrupted: false, trainedFrom };
    }
    let written = await writeChecked();
    let out = spec.out;
    let holdout: Holdout | null = null;
    let checkInterrupted = false;
    if (spec.holdout) {
      const h = spec.holdout;
      // Ctrl-C during the check (it can take longer than the training) keeps the model, without figures
      const results = await replayEach(h.open, [`coldrl:${tmp}`, ...HOLDOUT_BASELINES], spec.capacity, spec.cacheSizeText,
        { semantics: 'nginx', ...rules, warmUp: h.from, modelFrom: stretch.check, progress: spec.progress, progressLabel: 'held-out check', shouldStop: spec.shouldStop })
        .catch((e: unknown) => {
          if (!(isColdrlError(e) && e.code === 'COLDRL_ERR_INTERRUPTED')) throw e;
          checkInterrupted = true;
          return null;
        });
      if (results) {
        holdout = holdoutOfResults(results, h.fraction, h.from, hp.goal, stretch.check);
        metadata[HOLDOUT_KEY] = JSON.stringify(holdout);
        written = await writeChecked();
        // a model that lost to LRU there does not replace one a sidecar may be serving (it reloads a changed file)
        if (spec.keepBetter && belowLru(holdout) && existsSync(spec.out)) out = belowLruPath(spec.out);
        results.forEach((r, i) => store?.addEvaluation({
          run, model: i === 0 ? resolve(out) : null, policy: i === 0 ? 'model' : r.policy, trace: `${spec.traceName} [held out from request ${h.from}]`,
          cacheSize: spec.cacheSizeText, cacheBytes: spec.capacity, hitRatio: r.hitRatio, byteHitRatio: r.byteHitRatio,
        }));
      }
    }
    // the model is checked: now the checkpoint and the model, back to back
    writeCheckpoint();
    try { renameSync(tmp, out); } catch (e) { throw outputError(e, out); }
    const sha256 = recordModel(written, out);
    status = checkInterrupted ? 'interrupted' : 'done';
    return { run, out, sha256, result, metadata, parity: written.parity, holdout, checkInterrupted, trainedFrom };
  } catch (e) {
    if (isColdrlError(e) && e.code === 'COLDRL_ERR_INTERRUPTED') status = 'interrupted';
    throw e;
  } finally {
    rmSync(tmp, { force: true });
    rmSync(ckTmp, { force: true });
    try {
      if (store && run !== null) store.endRun(run, status);
    } finally {
      store?.close();
    }
  }
}

/** Where `coldrl train` writes a model that lost to LRU beside a model it keeps (TrainingSpec.keepBetter): DIR/NAME.below-lru.onnx. */
export function belowLruPath(out: string): string {
  const p = parse(out);
  return join(p.dir, `${p.name}.below-lru${p.ext || '.onnx'}`);
}

/** A run stopped before it trained anything: nothing is written (exit code 130). */
function nothingTrained(where: string): ColdrlError {
  return new ColdrlError('COLDRL_ERR_INTERRUPTED', `interrupted ${where}: nothing trained, no model or checkpoint written`, 130);
}

/**
 * Puts the file `tmp` at `path` unless a file is there already (a hard link, which fails then whatever runs
 * beside it; where hard links are not supported, a look and a rename); false when one was. `tmp` stays.
 */
function placeNew(tmp: string, path: string): boolean {
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw outputError(e, path);
  }
  if (existsSync(path)) return false;
  try { renameSync(tmp, path); } catch (e) { throw outputError(e, path); }
  return true;
}

/** Where `coldrl train --train-on recent` starts training, and where its held-out check's model starts deciding. */
export interface RecentStretch {
  /** The first request trained on. */
  train: number;
  /**
   * The first request at which the held-out check's replay under the model asks the model (replay/run.ts
   * ReplayOptions.modelFrom; LRU evicts before it, as NGINX did before the model): `train`, or earlier where
   * LRU or GDSF evicts fewer than CHECK_TURNOVERS times the objects it holds at the split there, so that the
   * cache the check starts from is the model's, not LRU's. GDSF stands in for a model that keeps many small
   * objects: it can hold ten times the objects LRU holds and evict a tenth as often, so LRU's turnover alone
   * starts such a model's check from a cache that is still mostly LRU's. 0 when recentStart was not asked
   * for it (`--check-from first`).
   */
  check: number;
}

/** The held-out check's model evicts at least this many times the cache's objects before the split (RecentStretch.check). */
export const CHECK_TURNOVERS = 2;

/** The policies recentStart replays: the first sizes the training stretch, all of them the check's start (when asked for). */
const STRETCH_POLICIES = ['lru', 'gdsf'] as const;

/**
 * The newest stretch of `trace` in which LRU (nginx semantics, the training environment's) evicts at least
 * `evictions` times, to RECENT_BLOCK requests (train), and, with `check`, the check's (RecentStretch; 0
 * without: the model from the first request); 0 when the whole trace holds fewer. One pass over the trace
 * under LRU, and GDSF beside it for the check's start (a streamed file is read once more). `shouldStop` is
 * asked between batches, where the pass yields to the event loop (a SIGINT handler runs there: a spool is
 * read synchronously, a trace in memory never waits): true throws COLDRL_ERR_INTERRUPTED (nothing trained).
 */
export async function recentStart(trace: TrainingSpec['trace'], capacity: number, evictions: number, progress = false, rules: NginxRules = {}, check = true,
  shouldStop?: () => boolean): Promise<RecentStretch> {
  const caches = STRETCH_POLICIES.slice(0, check ? STRETCH_POLICIES.length : 1).map((p) => {
    const { factory, opts } = policyFactory(p);
    return new Cache(factory, { capacity, semantics: 'nginx', ...rules }, opts);
  });
  // before[c][b]: cache c's evictions before request b x RECENT_BLOCK
  const before: number[][] = caches.map(() => []);
  let n = 0;
  const feed = (batch: Trace | RequestBatch, count: number): void => {
    for (let i = 0; i < count; i++, n++) {
      if (n % RECENT_BLOCK === 0) for (let c = 0; c < caches.length; c++) before[c]!.push(caches[c]!.stats.evictions);
      for (let c = 0; c < caches.length; c++) caches[c]!.access(batch, i);
    }
  };
  const stopPoint = async (): Promise<void> => {
    if (!shouldStop) return;
    await turn();
    if (shouldStop()) throw nothingTrained('while sizing the training stretch');
  };
  if (trace instanceof Trace) {
    for (let s = 0; s < trace.length; s += HISTORY_BATCH) {
      const e = Math.min(trace.length, s + HISTORY_BATCH);
      feed(trace.view(s, e), e - s);
      await stopPoint();
    }
  } else {
    const src = sliceSource(openTrace(trace), 0, trace.limit ?? Infinity);
    const bar = progress ? new Progress(`sizing the training stretch of ${basename(trace.path)}`, src.length ?? 0) : null;
    const b = new RequestBatch(1 << 15);
    try {
      for (let got = await src.read(b); got > 0; got = await src.read(b)) { feed(b, got); bar?.update(n); await stopPoint(); }
    } finally {
      src.close();
      bar?.done();
    }
  }
  // the newest block start from which cache c evicts at least `want` times to the end
  const newest = (c: number, want: number): number => {
    const total = caches[c]!.stats.evictions, b = before[c]!;
    for (let k = b.length - 1; k >= 0; k--) if (total - b[k]! >= want) return k * RECENT_BLOCK;
    return 0;
  };
  const train = newest(0, evictions);
  return { train, check: check ? caches.reduce((from, cache, c) => Math.min(from, newest(c, CHECK_TURNOVERS * cache.residents)), train) : 0 };
}

/**
 * Splits a trace for `--holdout`: the training part (a Trace's first requests, or a file read up to
 * `limit`) and the held-out check's spec, whose `open` gives the WHOLE trace (its replays warm up on the
 * training part and count from `from`). A streamed file without a limit or a spool is read once to count its
 * requests.
 */
export async function splitHoldout(trace: TrainingSpec['trace'], fraction: number): Promise<{ trace: TrainingSpec['trace']; holdout: NonNullable<TrainingSpec['holdout']>; stats?: ReaderStats }> {
  if (trace instanceof Trace) {
    const from = holdoutStart(trace.length, fraction);
    return { trace: trace.slice(0, from), holdout: { fraction, from, open: () => trace } };
  }
  const limit = trace.limit ?? trace.spool?.length ?? Infinity;
  const reopen = () => sliceSource(openTrace(trace), 0, limit);
  // a limit comes from an earlier split, which counted the file: it holds more requests than that
  let total = limit;
  let stats: ReaderStats | undefined;
  if (!Number.isFinite(limit)) {
    const src = reopen();
    total = await countRequests(src);
    stats = src.stats;
  }
  if (total === 0) throw emptyTrace(trace, stats);
  const from = holdoutStart(total, fraction);
  return { trace: { ...trace, limit: from }, holdout: { fraction, from, open: reopen }, ...(stats ? { stats } : {}) };
}
