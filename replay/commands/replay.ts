import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { availableParallelism, tmpdir } from 'node:os';
import { argumentHint, ColdrlError } from '../errors.js';
import { zoneFilledNote } from '../holdout.js';
import { logReadOptions, nginxConfOptions, openSource, reportReader } from '../formats/index.js';
import { expandPolicies, findPolicy, listPolicies } from '../registry.js';
import { replayStream, replayTrace, type ReplayResult } from '../run.js';
import { parseCacheSize, parseDuration, resolveCacheSize, type CacheSizeSpec } from '../size.js';
import { Spool, spoolInto, spoolLine, type SharedSpool } from '../spool.js';
import { loadTrace, type ReadOptions, type Trace, type TraceSource } from '../trace.js';
import type { LogReadOptions } from '../formats/nginx-source.js';
import { printTable, printWindows } from '../table.js';

export const summary = 'replay a trace through eviction policies and report hit ratios';

export function help(): string {
  return `coldrl replay --trace FILE --policy P[,P...] --cache-size S[,S...] [options]

Replays a trace through a byte-capacity cache under each policy and cache size.

  --trace FILE        trace file (csv, or FORMAT:FILE); gzip and zstd are read transparently
  --format NAME       trace format: csv, oracle-general (libCacheSim's binary traces), nginx (access logs, JSON
                      or text, detected per file), nginx-json, nginx-combined. --trace may be a directory or a
                      glob of rotated logs ('DIR/access.log*'), read oldest first
  --log-format F      nginx: the log_format string (or a built-in name: combined, cachetrain_text, cachetrain)
  --nginx-conf FILE   nginx: read the log_format from this config (with --log-format-name), or the cache
                      (with --cache-zone) ...
  --log-format-name N ... by this name
  --cache-zone NAME   ... the proxy_cache_path whose keys_zone is NAME: --cache-size (max_size=), --inactive
                      (inactive=; nginx's 10m when absent) and --keys-zone, with nginx semantics; and
                      --cache-valid, --min-uses, --ignore-headers from the locations with proxy_cache NAME
                      (refused where they differ); options given beside it win
  --key-from K        nginx: cache key: auto (logged key, else scheme+host+uri), key, uri, host-uri, scheme-host-uri
  --ignore-headers L  nginx: your proxy_ignore_headers (e.g. "Set-Cookie Cache-Control"): the headers NGINX does
                      not act on are not read (docs/logs.md)
  --cache-valid L     nginx: your proxy_cache_valid lines beyond --default-ttl's, ";" between them ("404 1m;
                      any 30s"): TTLs by status for responses whose headers give none (docs/logs.md)
  --strict            nginx: the first bad line is fatal (default: count, skip and summarise)
  --policy LIST       comma list of policies, or "all" (default: all)
  --cache-size LIST   comma list: 25m, 1g (powers of 1024), plain bytes, or 1% of unique bytes
  --semantics MODE    plain (default) or nginx (TTL, expiry, uncacheable responses; the default with a coldrl:
                      policy, which is trained in them, and with --inactive, --keys-zone, --min-uses or
                      --cache-zone, which plain refuses)
  --default-ttl TIME  nginx semantics: TTL of responses that carry none (seconds, or 10m, 1h; default: no expiry)
  --inactive TIME     nginx semantics: remove objects idle this long (proxy_cache_path inactive=; 600, 10m, 1d)
  --keys-zone SIZE    nginx semantics: the keys_zone= size (10m); the nodes it holds (about 8,000 per MB)
                      cap the cached objects as in NGINX (docs/logs.md). Default: no cap
  --min-uses N        nginx semantics: proxy_cache_min_uses, the requests a key needs before its response is
                      stored (default 1)
  --warm-up N         replay the first N requests without counting them (the counts start on a warm cache;
                      \`coldrl train --holdout\` checks its model this way, N = its held-out "from")
  --model-from N      a learned policy (coldrl:FILE) evicts in LRU order before request N and decides from it
                      on (\`coldrl train\`'s check does so from holdout.modelFrom; default 0: from the first)
  --windows N         also the hit ratio of every N counted requests, window by window: how each policy fares
                      over time (a table after the main one; "windows" in --json)
  --skip-bad          count and skip malformed lines instead of failing
  --threads N         worker threads for several runs (default: cores, at most 2)
  --spool-dir DIR     where a streamed trace that more runs than threads read is parsed once, for them all
                      to read (33 bytes per request, at most half the folder's free space, freed at exit;
                      default: the system's temporary folder; none: each run parses the file)
  --seed N            seed for randomised policies (default 1)
  --json              one JSON object per (trace, policy, cache size) per line

Memory: online policies stream the trace in constant memory, with a spool on disk when a thread has several
runs or a size is a percentage (the spool's read counts the unique bytes). Offline policies (belady,
belady-size, ktail-oracle...), and percentage sizes with --spool-dir none or no room for the spool, load
the whole trace: about 40 bytes per request (next uses are O(requests)).

Policies:
${listPolicies().map((p) => `  ${p.name.padEnd(16)} ${p.summary}`).join('\n')}`;
}

interface Job { policy: string; size: CacheSizeSpec }

export interface ReplayJobSpec {
  trace: string;
  format?: string;
  skipBad: boolean;
  defaultTtl?: number;
  semantics: 'plain' | 'nginx';
  inactive?: number;
  /** The keys zone's node limit (keysZoneNodes of --keys-zone); absent: none. */
  keysLimit?: number;
  /** proxy_cache_min_uses (--min-uses); absent: 1. */
  minUses?: number;
  seed: number;
  /** Leading requests replayed without being counted (ReplayOptions.warmUp). */
  warmUp?: number;
  /** A learned policy decides from this request on, LRU before (ReplayOptions.modelFrom). */
  modelFrom?: number;
  /** Hit counts per this many counted requests (ReplayOptions.window). */
  window?: number;
  /** NGINX log reader options (replay/formats/nginx-source.ts). */
  log?: Omit<LogReadOptions, keyof ReadOptions>;
  /** The trace parsed once (replay/spool.ts): every run reads it instead of the file. */
  spool?: SharedSpool;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' }, format: { type: 'string' }, policy: { type: 'string', default: 'all' },
        'cache-size': { type: 'string' }, semantics: { type: 'string' }, 'keys-zone': { type: 'string' }, 'cache-zone': { type: 'string' },
        'default-ttl': { type: 'string' }, inactive: { type: 'string' }, 'warm-up': { type: 'string' }, 'model-from': { type: 'string' }, windows: { type: 'string' }, 'skip-bad': { type: 'boolean', default: false }, 'spool-dir': { type: 'string' },
        threads: { type: 'string' }, seed: { type: 'string', default: '1' }, json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false }, 'log-format': { type: 'string' }, 'nginx-conf': { type: 'string' },
        'log-format-name': { type: 'string' }, 'key-from': { type: 'string' }, 'ignore-headers': { type: 'string' }, 'cache-valid': { type: 'string' }, 'min-uses': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (e) {
    throw oneLineUsage(e);
  }
  const { values } = parsed;
  if (values.help) { console.log(help()); return 0; }
  if (!values.trace) throw new ColdrlError('COLDRL_ERR_USAGE', 'replay: --trace FILE is required');
  const conf = nginxConfOptions('replay', values.trace, values);
  if (conf.zoneLine) console.error(conf.zoneLine);
  const zoneOptions = ['inactive', 'keys-zone', 'min-uses', 'cache-zone'] as const;
  const zoneGiven = zoneOptions.find((o) => values[o] !== undefined);
  const policies = expandPolicies(values.policy!);
  // a learned policy is trained and checked in nginx semantics: plain would not reproduce its check
  const learned = policies.some((p) => findPolicy(p).info.name === 'coldrl');
  if (values.semantics === undefined && learned && !zoneGiven) {
    console.error('replay: nginx semantics (TTL, expiry), the ones a coldrl: model is trained and checked in; --semantics plain to replay without them');
  }
  values.semantics ??= zoneGiven || learned ? 'nginx' : 'plain';
  if (values.semantics === 'plain' && zoneGiven) throw new ColdrlError('COLDRL_ERR_USAGE', `replay: --${zoneGiven} is NGINX's: it needs --semantics nginx`);
  if (!values['cache-size']) throw new ColdrlError('COLDRL_ERR_USAGE', 'replay: --cache-size is required (e.g. 25m,1%)');
  if (values.semantics !== 'plain' && values.semantics !== 'nginx') throw new ColdrlError('COLDRL_ERR_USAGE', `replay: --semantics must be plain or nginx`);
  const sizes = values['cache-size'].split(',').map((s) => parseCacheSize(s));
  const spec: ReplayJobSpec = {
    trace: values.trace, format: values.format, skipBad: values['skip-bad']!,
    defaultTtl: values['default-ttl'] === undefined ? undefined : parseDuration(values['default-ttl'], 'replay: --default-ttl'),
    semantics: values.semantics, inactive: values.inactive === undefined ? undefined : parseDuration(values.inactive, 'replay: --inactive'),
    keysLimit: conf.keysLimit, minUses: optionalNumber('min-uses', values['min-uses'], 1, true),
    seed: optionalNumber('seed', values.seed, 0, true)!,
    warmUp: optionalNumber('warm-up', values['warm-up'], 0, true),
    modelFrom: optionalNumber('model-from', values['model-from'], 0, true),
    window: optionalNumber('windows', values.windows, 1, true),
    log: logReadOptions(values),
  };
  const jobs: Job[] = [];
  for (const size of sizes) for (const policy of policies) jobs.push({ policy, size });
  const wanted = optionalNumber('threads', values.threads, 1, true) ?? Math.min(2, availableParallelism());
  const threads = Math.max(1, Math.min(jobs.length, wanted));
  const results: ReplayResult[] = [];
  const emit = (r: ReplayResult) => {
    results.push(r);
    if (values.json) console.log(JSON.stringify(r));
  };
  // Streamed runs parse the file each: when a thread has several, it is parsed once into a spool they read.
  // A size in % of the unique bytes is resolved from the spool's object table, so that online policies
  // stream rather than load the whole trace to count them.
  let spool: Spool | null = null;
  const offline = jobs.some((j) => findPolicy(j.policy).info.offline);
  const relative = jobs.some((j) => Number.isNaN(j.size.bytes));
  const spooling = !offline && (relative || jobs.length > threads) && values['spool-dir'] !== 'none';
  if (spooling) {
    const dir = values['spool-dir'] ?? tmpdir();
    const src = openJobSource(spec);
    const made = await spoolInto(src, dir, true);
    reportReader(spec.trace, src.stats);
    if (made.length === 0) throw new ColdrlError('COLDRL_ERR_EMPTY_TRACE', `${spec.trace}: the trace holds no requests`);
    console.error(spoolLine(made, dir));
    if (made instanceof Spool) {
      spool = made;
      spec.spool = made.share();
      for (const j of jobs) j.size = { ...j.size, bytes: resolveCacheSize(j.size, made.interner.uniqueBytes) };
    }
  }
  try {
    if (threads <= 1) {
      await runJobsHere(spec, jobs, emit, true, !spooling);
    } else {
      await runJobsInWorkers(spec, jobs, threads, emit, !spooling);
    }
  } finally {
    spool?.close();
  }
  if (!values.json) printTable(results);
  if (!values.json && spec.window !== undefined) printWindows(results, spec.window, spec.warmUp ?? 0);
  const filled = results.filter((r) => r.zoneFull > 0).map((r) => `${r.policy} at ${r.cacheSize}`);
  if (filled.length) console.error(zoneFilledNote(filled.join(', ')));
  return 0;
}

/** parseArgs errors (several lines of text) as one-line usage errors; anything else unchanged. */
function oneLineUsage(e: unknown): unknown {
  if ((e as NodeJS.ErrnoException)?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    const message = (e as Error).message.split('\n').join(' ');
    return new ColdrlError('COLDRL_ERR_USAGE', `replay: ${message}${argumentHint(message)}`);
  }
  return e;
}

/** Parses a numeric option (undefined when absent); anything else than a number >= min is a usage error. */
function optionalNumber(name: string, text: string | undefined, min: number, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (text.trim() === '' || Number.isNaN(x) || x < min || (integer && !Number.isInteger(x))) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `replay: --${name} must be ${integer ? 'an integer' : 'a number'} >= ${min} (got "${text}")`);
  }
  return x;
}

const needsWholeTrace = (jobs: Job[]) => jobs.some((j) => findPolicy(j.policy).info.offline || Number.isNaN(j.size.bytes));

/** Runs jobs in this thread; loads the trace once when any job needs it in memory. */
/** `report` = print the reader's skipped-line summary on stderr (one thread only, so it appears once). */
export async function runJobsHere(spec: ReplayJobSpec, jobs: Job[], emit: (r: ReplayResult) => void, progress: boolean, report = true): Promise<void> {
  const spool = spec.spool ? Spool.attach(spec.spool) : null;
  const open = () => spool?.open() ?? openJobSource(spec);
  let trace: Trace | null = null;
  if (needsWholeTrace(jobs)) {
    const src = open();
    try {
      trace = await loadTrace(src);
    } finally {
      // also when nothing was read: the summary says why (lines that match no log_format, ...)
      if (report) reportReader(spec.trace, src.stats);
    }
  }
  const ropts = { semantics: spec.semantics, inactive: spec.inactive, keysLimit: spec.keysLimit, minUses: spec.minUses, seed: spec.seed, warmUp: spec.warmUp, modelFrom: spec.modelFrom, window: spec.window, progress };
  let reported = trace !== null || !report;
  for (const j of jobs) {
    let r: ReplayResult;
    if (trace) {
      r = await replayTrace(trace, j.policy, resolveCacheSize(j.size, trace.uniqueBytes), j.size.text, ropts);
    } else {
      const src = open();
      r = await replayStream(src, j.policy, resolveCacheSize(j.size, 0), j.size.text, ropts);
      // Every streamed job re-reads the file; its skipped lines are reported once (before an empty trace's error).
      if (!reported) reportReader(spec.trace, src.stats);
      reported = true;
    }
    if (r.requests === 0) throw new ColdrlError('COLDRL_ERR_EMPTY_TRACE', `${spec.trace}: the trace holds no requests${spec.warmUp ? ` after the ${spec.warmUp} of --warm-up` : ''}`);
    emit(r);
  }
}

/** The trace file of a job spec, with its reader options. */
function openJobSource(spec: ReplayJobSpec): TraceSource {
  return openSource(spec.trace, spec.format, { skipBad: spec.skipBad, defaultTtl: spec.defaultTtl, ...spec.log });
}

/** `report`: worker 0 prints the reader's summary. */
async function runJobsInWorkers(spec: ReplayJobSpec, jobs: Job[], threads: number, emit: (r: ReplayResult) => void, report: boolean): Promise<void> {
  // Deal the jobs round-robin so each worker loads the trace once; print results in job order.
  const parts: Job[][] = Array.from({ length: threads }, () => []);
  jobs.forEach((j, i) => parts[i % threads]!.push(j));
  const out: (ReplayResult | undefined)[] = new Array(jobs.length);
  let next = 0;
  const flush = () => { while (next < jobs.length && out[next]) emit(out[next++]!); };
  const url = new URL('./replay-worker.js', import.meta.url);
  await Promise.all(parts.map((part, w) => new Promise<void>((resolve, reject) => {
    const worker = new Worker(url, { workerData: { spec, jobs: part.map((j) => ({ policy: j.policy, size: j.size })), report: report && w === 0 } });
    let k = 0;
    worker.on('message', (m: { result?: ReplayResult; error?: { code: string; message: string } }) => {
      if (m.error) { reject(new ColdrlError(m.error.code as never, m.error.message)); return; }
      out[w + k * threads] = m.result!;
      k++;
      flush();
    });
    worker.on('error', reject);
    worker.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`replay worker exited with ${c}`))));
  })));
  flush();
}
