/**
 * `coldrl train`: the command line of one training run (trainer/training.ts runTraining: train, export to
 * ONNX, check, record), with `--resume`, `--holdout` and `--candidates auto` (trainer/source-choice.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BYTES_SOURCE, DEFAULT_SOURCE, GOALS, SOURCES } from '../../replay/candidates.js';
import { ColdrlError, isColdrlError } from '../../replay/errors.js';
import { FEATURE_COUNT, MAX_CANDIDATES } from '../../replay/features.js';
import { logReadOptions, nginxConfOptions, openSource, readsNginxLogs, reportReader } from '../../replay/formats/index.js';
import type { LogReadOptions, Reading } from '../../replay/formats/nginx-source.js';
import { belowLru, describeHoldout, gdsfNote, lossToLru, tradeNote, zoneNote } from '../../replay/holdout.js';
import { parseCacheSize, parseDuration, resolveCacheSize } from '../../replay/size.js';
import { Spool, spoolLine } from '../../replay/spool.js';
import { DEFAULT_DB, Store, storePath } from '../../replay/store.js';
import { loadTrace, Trace } from '../../replay/trace.js';
import { BACKEND_NAMES, describeBackend, resolveBackend, type BackendName } from '../backend.js';
import { parseCheckpoint, type Checkpoint } from '../dqn.js';
import { DEFAULT_HPARAMS, type HParams } from '../hparams.js';
import { HEADS } from '../network.js';
import { intOption } from './options.js';
import { AUTO_BYTES_SOURCES, AUTO_SOURCES, chooseSource, type SourceChoice } from '../source-choice.js';
import { CHECK_FROM, checkOutput, DEFAULT_HOLDOUT, RECENT_EVICTIONS_PER_DECISION, runTraining, TRAIN_ON, splitHoldout, spoolTrace, type TrainingOutcome, type TrainingSpec } from '../training.js';

/** The NGINX module's coldrl_k when unset (nginx/ngx_http_coldrl_module.c). */
const MODULE_DEFAULT_K = 64;

export const summary = 'train the dueling DQN on a trace or log archive and export it to ONNX';

export function help(): string {
  const d = DEFAULT_HPARAMS;
  return `coldrl train --trace FILE (--cache-size SIZE | --nginx-conf FILE --cache-zone NAME) --out model.onnx [options]

Trains the learned eviction policy offline, by replaying the trace in nginx semantics (TTL, expiry) with a
K-candidate policy whose scorer is the agent (dueling network fitted to every candidate's label each
decision; trainer/dqn.ts), and writes an ONNX model that
\`coldrl replay --policy coldrl:model.onnx\` and \`coldrl serve\` load.

  --trace FILE        trace or log archive (csv, or FORMAT:FILE); gzip and zstd are read transparently
  --format NAME       trace format: csv, oracle-general (libCacheSim's binary traces), nginx (access logs, JSON
                      or text, detected per file), nginx-json, nginx-combined; by default from the file name
                      (as \`coldrl replay\`)
  --log-format F      nginx: the log_format string (or a built-in name: combined, cachetrain_text, cachetrain)
  --nginx-conf FILE   nginx: read the log_format from this config (with --log-format-name), or the cache
                      (with --cache-zone) ...
  --log-format-name N ... by this name
  --key-from K        nginx: cache key: auto (logged key, else scheme+host+uri), key, uri, host-uri, scheme-host-uri
  --ignore-headers L  nginx: your proxy_ignore_headers (e.g. "Set-Cookie Cache-Control"): the headers NGINX does
                      not act on are not read (docs/logs.md); kept by --resume
  --cache-valid L     nginx: your proxy_cache_valid lines beyond --default-ttl's, ";" between them ("404 1m;
                      any 30s"): TTLs by status for responses whose headers give none; kept by --resume
  --strict            nginx: the first bad line is fatal (default: count, skip and summarise)
  --default-ttl TIME  your proxy_cache_valid: the TTL of responses that carry none (600, 10m, 1h; default: no
                      expiry), in training and in the held-out check
  --cache-size SIZE   cache size: 25m, 1g, bytes, or 1% of unique bytes (counted as the trace is spooled;
                      with --spool-dir none a percentage loads the whole trace)
  --cache-zone NAME   with --nginx-conf: take the cache size (max_size=), --inactive (inactive=, nginx's
                      default 10m when absent) and --keys-zone from the proxy_cache_path whose keys_zone is
                      NAME (includes are followed), and --cache-valid, --min-uses and --ignore-headers from
                      the locations with proxy_cache NAME (refused where they differ); options beside it win
  --inactive TIME     your proxy_cache_path's inactive= (600, 10m, 1d; nginx's default is 10m): objects idle
                      this long leave the cache whatever the policy, in training and in the held-out check.
                      Default: never (the simulator's default, as \`coldrl replay\`'s; a note says so on NGINX logs)
  --keys-zone SIZE    your keys_zone= size (10m): the nodes it holds (about 8,000 per MB) cap the cached
                      objects as in NGINX, whose worker evicts LRU once when it fills and whose manager keeps
                      the count under 7/8 of that from then on (docs/logs.md). Default: no cap
  --min-uses N        your proxy_cache_min_uses: a response is stored on its key's Nth request (docs/logs.md),
                      in training and in the held-out check. Default 1
  --out FILE          model file to write (default model.onnx); the checkpoint goes to FILE.ckpt.json. Its folder
                      is made, and one that cannot be written (or a directory at FILE) is refused before the
                      trace is read
  --steps N           eviction decisions to train for (default ${d.totalDecisions}), over as many passes as needed
  --seed S            seed of every random source (default ${d.seed})
  --k K               candidates per decision, 1..${MAX_CANDIDATES} (default ${d.k})
  --candidates NAME   candidate source (default ${d.candidates}; ${BYTES_SOURCE} with --goal bytes), or auto:
                      ${AUTO_SOURCES.join(', ')} (with --goal bytes: ${AUTO_BYTES_SOURCES.join(', ')}) each trained
                      for half of --steps on the training part less its last tenth, which picks the source (the
                      one whose model serves the more hits, or bytes, there); then the full training with it.
                      About 3.5 times the time.
  --goal G            what the model maximises: hits (default: the hit ratio; it evicts the fewest expected
                      hits per byte) or bytes (the byte hit ratio, the bytes not fetched from the origin; it
                      evicts the fewest expected hits per object). The held-out check and its warning follow it.
  --hidden H          hidden width (default ${d.hidden})
  --objective NAME    what the network learns: hit-logit (default: each candidate's chance of a hit, ranked
                      per byte) or q (the per-byte reward, Huber; the previous default, with --horizon 1)
  --horizon F         horizon of a hit, in running mean victim idle times (default ${d.horizonFactor}); docs/training.md
  --reward NAME       horizon (default, shaped) or paper (see docs/training.md)
  --window N          requests per window when streaming (default ${d.window})
  --db FILE           store (default ./${DEFAULT_DB}; none: no store); runs, metrics every ${d.logFrequency} decisions, the model
  --backend B         ${BACKEND_NAMES.join('|')} (default wasm), resolved by trainer/backend.ts
  --gpu-step S        fused (default: GPU-built step, docs/gpu.md) or autodiff (tfjs autodiff): the step on webgpu
  --resume            continue from FILE.ckpt.json (written on Ctrl-C and at the end); --steps then is the new total.
                      The checkpoint keeps the run's settings (--trace, --cache-size, --k, --candidates (auto:
                      the source chosen), --hidden, --seed, --objective, --goal, --window, --horizon, --reward
                      and those marked "kept by --resume"): a different value given is refused
  --holdout F         share of the trace's last requests kept out of training (default ${DEFAULT_HOLDOUT}; 0 = none):
                      they are replayed under the model, LRU and GDSF before the model is written, the
                      figures go into its metadata and the store, and \`coldrl serve\` warns if it lost to LRU.
                      A model that lost to LRU there does not replace a file at --out: it is written beside
                      it as NAME.below-lru.onnx, with a warning, exit code 3
  --replace-below-lru write it over --out all the same
  --check-from WHERE  where the check's model starts deciding: first (default): the first request, as a
                      model that has run for a long time; stretch (with --train-on recent): the training
                      stretch, or earlier where LRU or GDSF evicts fewer than two cachefuls there, LRU
                      before it: faster on a long archive, blind to what the model does to the cache over
                      a longer run (docs/training.md, "The held-out check")
  --train-on WHICH    recent (default): the newest requests before the held-out ones, as many as give LRU
                      ${RECENT_EVICTIONS_PER_DECISION} evictions per decision of --steps (one more LRU pass to size them), after
                      the older ones replayed under LRU (full cache, lifetime counts as NGINX keeps them);
                      recent-cold: the same stretch from an empty cache with no history (before 2026-11-29);
                      all: from the first request (a long archive then trains on its oldest requests only)
  --spool-dir DIR     where a streamed trace's requests, parsed once, are kept for the passes that follow
                      (33 bytes per request, at most half the folder's free space, freed at exit; default:
                      the system's temporary folder; none: parse the file again on every pass, or load
                      it whole for a --cache-size in %)
  --skip-bad          csv: count and skip malformed lines
  --json              print the result as one JSON object

Memory: the trace streams in windows of --window requests (next uses, hence rewards, are computed within a
window); memory is bounded by one window (about 40 bytes per request) plus the replay buffer
(${d.bufferSize} decisions x K x ${FEATURE_COUNT + 1} floats: ${(d.bufferSize * d.k * (FEATURE_COUNT + 1) * 4 / 2 ** 20).toFixed(0)} MiB at the defaults).
A trace that fits in one window is read once and replayed from memory on later passes; a longer file is
parsed once into a spool (--spool-dir) that the later passes read.
Ctrl-C (or SIGTERM) stops at the next request and saves the checkpoint (--resume continues from it). The model
so far is written only where no file is at --out yet: an interrupted run never replaces a model (\`coldrl
serve\` reloads a changed file by itself), and one stopped before its first decision writes nothing. A run
that completes writes the checkpoint and the checked model together at the end; Ctrl-C during the held-out
check (the training complete) writes them, the model without its figures. Exit code 130 (143 for SIGTERM).`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string' }, format: { type: 'string' }, 'cache-size': { type: 'string' }, out: { type: 'string', default: 'model.onnx' },
      steps: { type: 'string' }, seed: { type: 'string' }, k: { type: 'string' }, candidates: { type: 'string' },
      hidden: { type: 'string' }, objective: { type: 'string' }, goal: { type: 'string' }, horizon: { type: 'string' }, reward: { type: 'string' }, window: { type: 'string' }, db: { type: 'string', default: DEFAULT_DB },
      backend: { type: 'string', default: 'wasm' }, 'gpu-step': { type: 'string' }, resume: { type: 'boolean', default: false }, holdout: { type: 'string' }, 'train-on': { type: 'string' }, 'check-from': { type: 'string' }, 'replace-below-lru': { type: 'boolean', default: false }, inactive: { type: 'string' }, 'min-uses': { type: 'string' }, 'skip-bad': { type: 'boolean', default: false }, 'spool-dir': { type: 'string' },
      'default-ttl': { type: 'string' }, strict: { type: 'boolean', default: false }, 'log-format': { type: 'string' },
      'nginx-conf': { type: 'string' }, 'log-format-name': { type: 'string' }, 'key-from': { type: 'string' }, 'ignore-headers': { type: 'string' }, 'cache-valid': { type: 'string' }, 'cache-zone': { type: 'string' },
      'keys-zone': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) { console.log(help()); return 0; }
  if (!values.trace) throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --trace FILE is required');
  const conf = nginxConfOptions('train', values.trace, values);
  if (conf.zoneLine && !values.json) console.log(conf.zoneLine);
  if (!values['cache-size']) throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --cache-size is required (e.g. 25m, 1%), or --nginx-conf with --cache-zone');
  const out = values.out!;
  const int = (name: string, v: string | undefined, lo: number, hi: number) => intOption('train', name, v, lo, hi);
  let resume: Checkpoint | undefined;
  let hp: HParams = { ...DEFAULT_HPARAMS };
  if (values.resume) {
    const ckPath = `${out}.ckpt.json`;
    if (!existsSync(ckPath)) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `train --resume: no checkpoint ${ckPath}`);
    let text: string;
    try { text = readFileSync(ckPath, 'utf8'); } catch (e) { throw new ColdrlError('COLDRL_ERR_USAGE', `train --resume: cannot read ${ckPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
    resume = parseCheckpoint(text, ckPath);
    // a checkpoint from before `objective` existed trained Q ('q'); one from before `goal`, for hits
    hp = { ...resume.hparams, objective: resume.hparams.objective ?? 'q', goal: resume.hparams.goal ?? 'hits' };
  }
  // settings the checkpoint keeps: on --resume the checkpoint's, and a different value given is refused (one
  // that an older checkpoint does not record, saved undefined, is taken as given)
  const kept = <T>(flag: string, given: T | undefined, saved: T | undefined, fallback: T, what: string): T => {
    if (resume && given !== undefined && saved !== undefined && given !== saved) {
      const read = conf.fromConf.has(flag) ? ` (here read from ${values['nginx-conf']})` : '';
      throw new ColdrlError('COLDRL_ERR_USAGE', `train --resume: the checkpoint ${what}; --${flag}${read} cannot change on resume`);
    }
    return given ?? (resume && saved !== undefined ? saved : fallback);
  };
  const keep = <K extends keyof HParams>(k: K, flag: string, given: HParams[K] | undefined, what: (saved: HParams[K]) => string) => {
    hp[k] = kept(flag, given, resume ? hp[k] : undefined, hp[k], what(hp[k]));
  };
  const oneOf = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined => {
    if (v === undefined) return undefined;
    const found = allowed.find((a) => a === v);
    if (found === undefined) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --${flag} must be ${allowed.join(' or ')} (got ${v})`);
    return found;
  };
  hp.totalDecisions = int('steps', values.steps, 1, 1e12) ?? hp.totalDecisions;
  keep('seed', 'seed', int('seed', values.seed, 0, 2 ** 32 - 1), (v) => `was seeded with ${v}`);
  keep('k', 'k', int('k', values.k, 1, MAX_CANDIDATES), (v) => `decided among ${v} candidates`);
  keep('hidden', 'hidden', int('hidden', values.hidden, 1, 4096), (v) => `has a hidden width of ${v}`);
  keep('window', 'window', int('window', values.window, 1024, 2 ** 30), (v) => `streamed windows of ${v} requests`);
  if (values.candidates !== undefined && values.candidates !== 'auto' && !(values.candidates in SOURCES)) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `train: --candidates must be auto or one of ${Object.keys(SOURCES).join(', ')} (got ${values.candidates})`);
  }
  // --candidates auto on --resume: the source the run chose when it began, the checkpoint's
  keep('candidates', 'candidates', resume && values.candidates === 'auto' ? undefined : values.candidates, (v) => `took its candidates from ${v}`);
  keep('objective', 'objective', oneOf('objective', values.objective, HEADS), (v) => `learned ${v}`);
  keep('goal', 'goal', oneOf('goal', values.goal, GOALS), (v) => `was trained for goal ${v}`);
  let horizon: number | undefined;
  if (values.horizon !== undefined) {
    horizon = Number(values.horizon);
    if (!(horizon > 0 && horizon < 1e6)) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --horizon must be a positive number (got ${values.horizon})`);
  }
  keep('horizonFactor', 'horizon', horizon, (v) => `had a horizon of ${v}`);
  keep('reward', 'reward', oneOf('reward', values.reward, ['horizon', 'paper'] as const), (v) => `was trained on the ${v} reward`);
  const gpuStep = oneOf('gpu-step', values['gpu-step'], ['fused', 'autodiff'] as const);
  if (!resume) {
    if (hp.goal === 'bytes') {
      if (hp.objective !== 'hit-logit') throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --goal bytes needs --objective hit-logit (a q model ranks by its per-byte reward)');
      if (values.candidates === undefined) hp.candidates = BYTES_SOURCE;
    }
    if (gpuStep !== undefined) hp.gpuStep = gpuStep;
    hp.learningStarts = Math.min(hp.learningStarts, Math.max(hp.batchSize + 1, Math.floor(hp.totalDecisions / 4)));
  }
  const backend = await resolveBackend(values.backend as BackendName);
  const size = parseCacheSize(values['cache-size']);
  // the cache size and the trace: recorded by checkpoints since 2026-11-30 (older ones: taken as given)
  const keptCapacity = (bytes: number) => kept('cache-size', bytes, resume?.capacity, bytes, `trained a cache of ${resume?.capacity} bytes`);
  if (!Number.isNaN(size.bytes)) keptCapacity(size.bytes); // a size in % is known once the trace is read
  kept('trace', resolve(values.trace), resume?.trace === undefined ? undefined : resolve(resume.trace), '', `was trained on ${resume?.trace}`);
  const savedTtl = resume?.defaultTtl ?? null;
  const defaultTtl = kept('default-ttl', values['default-ttl'] === undefined ? undefined : parseDuration(values['default-ttl'], 'train: --default-ttl'),
    savedTtl, null, `gave responses without a TTL ${savedTtl === null ? 'none' : `${savedTtl}s`}`);
  // --ignore-headers and --cache-valid, as the reader applies them: kept by --resume as --default-ttl is
  const { ignoreHeaders, cacheValid, ...fromValues } = logReadOptions(values);
  const givenReading = ignoreHeaders || cacheValid ? JSON.stringify({ ...(ignoreHeaders ? { ignoreHeaders } : {}), ...(cacheValid ? { cacheValid } : {}) }) : undefined;
  const savedReading = JSON.stringify(resume?.reading ?? {});
  const reading = JSON.parse(kept('ignore-headers or --cache-valid', givenReading, savedReading, '{}', `read the headers with ${savedReading}`)) as Reading;
  const read: LogReadOptions = { skipBad: values['skip-bad'], ...(defaultTtl !== null ? { defaultTtl } : {}), ...fromValues, ...reading };
  let trace: TrainingSpec['trace'] = { path: values.trace, format: values.format, read };
  let givenFraction: number | undefined;
  if (values.holdout !== undefined) {
    givenFraction = Number(values.holdout);
    if (!(givenFraction >= 0 && givenFraction <= 0.5)) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --holdout must be a share in 0..0.5 (got ${values.holdout})`);
  }
  const savedFraction = resume?.holdout ?? 0;
  const fraction = kept('holdout', givenFraction, savedFraction, DEFAULT_HOLDOUT, `held out ${savedFraction} of the trace`);
  const givenTrainOn = values['train-on'];
  if (givenTrainOn !== undefined && !TRAIN_ON.includes(givenTrainOn as never)) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --train-on must be ${TRAIN_ON.join(', ')} (got ${givenTrainOn})`);
  // a checkpoint of `recent` written before the history (no `history` flag) trained without it: recent-cold
  const savedTrainOn = resume?.trainOn === 'recent' && resume.history !== true ? 'recent-cold' : resume?.trainOn ?? 'all';
  const trainOn = kept('train-on', givenTrainOn, savedTrainOn, 'recent', `trained on ${savedTrainOn} requests`);
  const checkFrom = CHECK_FROM.find((c) => c === (values['check-from'] ?? 'first'));
  if (!checkFrom) throw new ColdrlError('COLDRL_ERR_USAGE', `train: --check-from must be ${CHECK_FROM.join(' or ')} (got ${values['check-from']})`);
  if (checkFrom === 'stretch' && trainOn === 'all') throw new ColdrlError('COLDRL_ERR_USAGE', 'train: --check-from stretch needs a training stretch: --train-on recent or recent-cold');
  const savedInactive = resume?.inactive ?? 0;
  const inactive = kept('inactive', values.inactive === undefined ? undefined : parseDuration(values.inactive, 'train: --inactive'), savedInactive, 0,
    `simulated inactive=${savedInactive}s`);
  const savedKeys = resume?.keysLimit ?? 0;
  const keysLimit = kept('keys-zone', conf.keysLimit, savedKeys, 0, `simulated a keys zone of ${savedKeys ? `${savedKeys} nodes` : 'no limit'}`);
  const savedUses = resume?.minUses ?? 1;
  const minUses = kept('min-uses', int('min-uses', values['min-uses'], 1, 1_000_000), savedUses, 1, `simulated proxy_cache_min_uses ${savedUses}`);
  if (!resume && values.inactive === undefined && readsNginxLogs(values.trace, values.format)) {
    console.error('note: NGINX removes cached objects idle for proxy_cache_path\'s inactive= (10m unless set there); without '
      + '--inactive the simulated cache keeps them. Pass --inactive with your value (e.g. --inactive 10m) to train on the cache your NGINX runs.');
  }
  // before the trace is read: a model that cannot be written, or a store that cannot be opened, must not cost the run
  checkOutput(out);
  const db = storePath(values.db!);
  if (db) new Store(db).close();
  // The file is parsed once, into a spool that the passes below read (--spool-dir none: parse on each); that
  // read also counts the unique bytes a size in % is of. Without a spool such a size loads the whole trace.
  let spool: Spool | undefined;
  if (values['spool-dir'] !== 'none') {
    const dir = values['spool-dir'] ?? tmpdir();
    const s = await spoolTrace(trace, dir, !values.json);
    reportReader(values.trace, s.stats);
    ({ trace } = s);
    if (s.spool instanceof Spool) spool = s.spool;
    const line = spoolLine(s.spool, dir);
    if (values.json || !spool) console.error(line); else console.log(line);
  }
  if (Number.isNaN(size.bytes) && !spool) {
    const src = openSource(values.trace, values.format, read);
    trace = await loadTrace(src);
    if (values['spool-dir'] === 'none') reportReader(values.trace, src.stats); // else the spool's read said it
  }
  const capacity = resolveCacheSize(size, trace instanceof Trace ? trace.uniqueBytes : spool?.interner.uniqueBytes ?? 0);
  keptCapacity(capacity);
  let holdout: TrainingSpec['holdout'];
  if (fraction > 0) {
    const split = await splitHoldout(trace, fraction);
    ({ trace, holdout } = split);
    if (split.stats) reportReader(values.trace, split.stats);
    if (!values.json) console.log(`the last ${fraction} of the requests (from request ${holdout.from}) held out to check the model against LRU and GDSF; training on ${trainOn !== 'all' ? 'the newest of ' : ''}requests 0..${holdout.from - 1}`);
  }
  // Ctrl-C (SIGINT) and SIGTERM stop the run alike; the exit code is 128 + the signal's number (130, 143)
  let stop: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => { stop ??= signal; };
  const stopCode = () => 128 + (osConstants.signals[stop ?? 'SIGINT'] ?? 2);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let o: TrainingOutcome;
  let choice: SourceChoice | null = null;
  try {
    const common = { traceName: values.trace, capacity, cacheSizeText: size.text, inactive, keysLimit, minUses, defaultTtl, reading, out, backend: describeBackend(backend), recent: trainOn !== 'all', history: trainOn === 'recent', checkFrom, progress: !values.json, shouldStop: () => stop !== null, log: (line: string) => console.error(line) };
    if (hp.candidates === 'auto') {
      choice = await chooseSource({ ...common, hp, trace, db: null }, values.json ? () => undefined : (line) => console.log(line));
      if (!choice) { console.error('interrupted while choosing the candidate source: no model or checkpoint written'); return stopCode(); }
      hp.candidates = choice.chosen;
      if (!values.json) console.log(`candidates ${choice.chosen} chosen; training with it`);
    }
    o = await runTraining({ ...common, hp, trace, db, resume, holdout, keepBetter: !values['replace-below-lru'],
      ...(choice ? { metadata: { 'coldrl.candidates_auto': JSON.stringify(choice) } } : {}) });
  } catch (e) {
    // stopped before the first decision (sizing the training stretch, the history): nothing written
    if (stop !== null && isColdrlError(e) && e.code === 'COLDRL_ERR_INTERRUPTED') { console.error(e.message); return stopCode(); }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    spool?.close();
  }
  const r = o.result;
  const tried = choice ? 'more --steps' : hp.goal === 'bytes' ? 'a model from another --candidates source' : 'a model from --candidates auto (or agedblend)';
  const notes = o.holdout ? [tradeNote(o.holdout), gdsfNote(o.holdout, tried), zoneNote(o.holdout)].filter((n): n is string => n !== null) : [];
  if (values.json) {
    console.log(JSON.stringify({ model: resolve(o.out), modelWritten: o.sha256 !== null, keptOut: o.out !== out, checkpoint: resolve(`${out}.ckpt.json`), sha256: o.sha256, run: o.run, db, trainedFrom: o.trainedFrom,
      backend: describeBackend(backend), learner: r.learner, interrupted: r.interrupted, requestsRead: r.requests, decisions: r.decisions, gradientSteps: r.gradSteps, passes: r.passes,
      seconds: r.seconds, loss: r.last.loss, trainHitRatio: r.last.hitRatio, parity: o.parity, holdout: o.holdout, checkInterrupted: o.checkInterrupted, candidatesAuto: choice, hparams: hp }));
    for (const note of notes) console.error(note); // stderr, as the warning: stdout is the one JSON line
  } else {
    const stretch = o.trainedFrom > 0 ? ` (the newest before ${holdout ? 'the held-out ones' : 'the end'}: --train-on recent)` : '';
    console.log(`${r.interrupted ? 'interrupted' : 'trained'} on requests ${o.trainedFrom}..${o.trainedFrom + r.requests - 1}${stretch}: ${r.decisions} decisions, ${r.gradSteps} gradient steps, ${r.passes} ${r.passes === 1 ? 'pass' : 'passes'} in ${r.seconds.toFixed(1)} s on ${describeBackend(backend)}, ${r.learner}`);
    const checkpoint = `checkpoint ${resolve(`${out}.ckpt.json`)}${o.run !== null ? `; run ${o.run} in ${db}` : ''}`;
    if (o.sha256 !== null && o.parity !== null) {
      const so = r.interrupted ? ' so far (no file was there; an interrupted run never replaces a model)'
        : o.out !== out ? ` not written over ${resolve(out)}, which is kept (it lost to LRU on the held-out requests; --replace-below-lru writes it there):` : '';
      console.log(`model${so} written to ${resolve(o.out)} (sha256 ${o.sha256.slice(0, 12)}; scores as the trainer's network to ${o.parity.maxRelError.toExponential(1)}); ${checkpoint}`);
    } else {
      console.log(`model not written: the one at ${resolve(out)} is kept, as an interrupted run never replaces a model; ${checkpoint}`);
    }
    if (o.holdout) console.log(describeHoldout(o.holdout));
    for (const note of notes) console.log(note);
    // the module must collect what the model was trained on: K candidates from this source
    const defaults = [hp.k === MODULE_DEFAULT_K ? 'K' : '', hp.candidates === DEFAULT_SOURCE ? 'source' : ''].filter(Boolean).join(' and ');
    console.log(`in nginx.conf beside it: coldrl_k ${hp.k}; coldrl_candidates ${hp.candidates};${defaults ? ` (the module's default ${defaults})` : ''}`);
    if (r.interrupted && holdout) console.log('held-out check skipped (interrupted): it runs when a --resume completes');
    if (o.checkInterrupted) console.log('held-out check interrupted: the model is written without its figures (--check-from stretch makes the check shorter)');
    if (r.interrupted) console.log(`continue with the same command plus --resume (coldrl train --trace ${values.trace} ... --out ${out} --resume)`);
  }
  if (o.holdout && belowLru(o.holdout)) {
    console.error(`warning: ${o.out} lost to LRU on the held-out requests (${lossToLru(o.holdout)}); serving it would lose ${hp.goal} on traffic like them. `
      + `Try ${choice ? '' : hp.goal === 'bytes' ? 'another --candidates source, ' : '--candidates auto (or another source), '}more --steps, or keep NGINX on LRU (docs/training.md).`);
  }
  return r.interrupted || o.checkInterrupted ? stopCode() : o.out !== out ? KEPT_OUT_EXIT : 0;
}

/** The exit code of a run whose model lost to LRU and was written beside --out, not over it (cron can tell). */
export const KEPT_OUT_EXIT = 3;
