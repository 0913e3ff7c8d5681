/**
 * Trace formats by name. `--format NAME`, or a `NAME:path` prefix, picks one; otherwise it is guessed from
 * the file name (*oracleGeneral* -> oracle-general, *.csv[.gz|.zst] -> csv, anything else that looks like
 * a log -> nginx, the rest csv). Gzip and zstd are transparent in every format, and every format reads a
 * file, a directory or a glob of rotated logs (replay/archive.ts), oldest first, one file at a time.
 */
import { ChainSource, expandTracePath } from '../archive.js';
import { ColdrlError } from '../errors.js';
import { cacheZoneOptions, keysZoneNodes, parseZoneSize, type PlaceRules } from '../nginx-conf.js';
import { parseDuration } from '../size.js';
import type { ReaderStats, TraceSource } from '../trace.js';
import { CsvSource } from './csv.js';
import { OracleGeneralSource } from './oracle.js';
import { accessLogFormatName, CACHETRAIN_TEXT, CACHETRAIN_TEXT_V1, COMBINED, LogFormatParser, logFormatFromConf, loggedKey, resolveLogFormat, type Escape } from './nginx-format.js';
import { JsonLineParser } from './nginx-json.js';
import { IGNORABLE_HEADERS, KEY_FROM, LogStats, NginxSource, type CacheValid, type IgnorableHeader, type KeyFrom, type LineParser, type LogReadOptions, type ParserPicker } from './nginx-source.js';

export type FormatName = 'csv' | 'oracle-general' | 'nginx' | 'nginx-json' | 'nginx-combined';

export const FORMATS: Record<FormatName, { summary: string; open: (name: string, files: string[], opts: LogReadOptions) => TraceSource }> = {
  csv: {
    summary: 'timestamp,obj_id,size[,ttl,rtt] (libCacheSim csv; commas, tabs or spaces), header optional',
    open: (name, files, o) => (files.length === 1 ? new CsvSource(files[0]!, o) : new ChainSource(name, files, (f) => new CsvSource(f, o))),
  },
  'oracle-general': {
    summary: 'libCacheSim oracleGeneral binary (24-byte records), e.g. its public traces; zstd or gzip read transparently',
    open: (name, files, o) => (files.length === 1 ? new OracleGeneralSource(files[0]!, o) : new ChainSource(name, files, (f) => new OracleGeneralSource(f, o))),
  },
  nginx: { summary: 'NGINX access logs, JSON lines or text, detected per file', open: (n, f, o) => new NginxSource(n, f, picker('auto', o), o) },
  'nginx-json': { summary: 'NGINX JSON-lines logs (escape=json), e.g. the cachetrain format', open: (n, f, o) => new NginxSource(n, f, picker('json', o), o) },
  'nginx-combined': { summary: 'NGINX text logs: combined, cachetrain_text or --log-format', open: (n, f, o) => new NginxSource(n, f, picker('text', o), o) },
};

/** The parser the options ask for (--log-format / --nginx-conf), or null for the format's own. */
function configuredParser(o: LogReadOptions): LogFormatParser | null {
  if (o.nginxConf || o.logFormatName) {
    if (!o.nginxConf || !o.logFormatName) throw new ColdrlError('COLDRL_ERR_USAGE', '--nginx-conf and --log-format-name go together');
    const { format, escape } = logFormatFromConf(o.nginxConf, o.logFormatName);
    return new LogFormatParser(format, escape);
  }
  if (o.logFormat) {
    const format = resolveLogFormat(o.logFormat);
    const escape: Escape = format.trimStart().startsWith('{') ? 'json' : 'default';
    return new LogFormatParser(format, escape);
  }
  return null;
}

function picker(kind: 'auto' | 'json' | 'text', o: LogReadOptions): ParserPicker {
  const fixed = configuredParser(o);
  if (fixed) return () => fixed;
  const scratch = new Int32Array(64);
  const text: LineParser[] = [new LogFormatParser(CACHETRAIN_TEXT), new LogFormatParser(CACHETRAIN_TEXT_V1), new LogFormatParser(COMBINED)];
  return (line, _file, final) => {
    if (kind === 'json' || (kind === 'auto' && line.toString('latin1').trimStart().startsWith('{'))) return new JsonLineParser();
    return text.find((p) => p.parse(line, 0, line.length, scratch) === null) ?? (final ? text[text.length - 1]! : null);
  };
}

const looksCsv = (path: string) => /\.csv(\.gz|\.zst)?$/i.test(path);
const looksLog = (path: string) => /(^|\/)[^/]*(\.log|access)[^/]*$/i.test(path);
const looksOracle = (path: string) => /(^|\/)[^/]*oracleGeneral[^/]*$/i.test(path);

/**
 * The format a path's name suggests (a name with `oracleGeneral` in it, as libCacheSim names its binary
 * traces: oracle-general); for a directory, its files' names (any log among them: nginx).
 */
function guessFormat(path: string): FormatName {
  if (looksOracle(path)) return 'oracle-general';
  if (looksCsv(path)) return 'csv';
  if (looksLog(path)) return 'nginx';
  let files: string[];
  try { files = expandTracePath(path); } catch { return 'csv'; /* the reader reports it */ }
  if (files.every(looksOracle)) return 'oracle-general';
  return files.some((f) => !looksCsv(f) && looksLog(f)) ? 'nginx' : 'csv';
}

/** The format a trace path reads with: `format`, else a `NAME:` prefix of the path, else guessed from its name. */
function resolveFormat(path: string, format: string | undefined): { fmt: string; p: string } {
  let fmt = format;
  let p = path;
  const m = /^([a-z-]+):(.+)$/.exec(path);
  if (!fmt && m && m[1]! in FORMATS) { fmt = m[1]; p = m[2]!; }
  return { fmt: fmt ?? guessFormat(p), p };
}

/** True when the trace is read as NGINX access logs (any nginx format), not as a CSV trace. */
export function readsNginxLogs(path: string, format: string | undefined): boolean {
  return resolveFormat(path, format).fmt.startsWith('nginx');
}

export function openSource(path: string, format: string | undefined, opts: LogReadOptions = {}): TraceSource {
  const { fmt, p } = resolveFormat(path, format);
  if (opts.keyFrom !== undefined && !KEY_FROM.includes(opts.keyFrom)) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `--key-from must be one of ${KEY_FROM.join(', ')} (got "${opts.keyFrom}")`);
  }
  const f = FORMATS[fmt as FormatName];
  if (!f) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `unknown trace format "${fmt}" (known: ${Object.keys(FORMATS).join(', ')})`);
  return f.open(p, expandTracePath(p), opts);
}

/**
 * The log_format name `command` (replay, train) reads NGINX logs with: --log-format-name, or with
 * --nginx-conf alone the one its access_log directives name (said on stderr); undefined when there is
 * none to take (--log-format given, or the config's access_log names none or several: the readers then
 * detect combined, cachetrain and JSON lines).
 */
export function logFormatName(command: string, trace: string, format: string | undefined,
  o: { nginxConf?: string; logFormatName?: string; logFormat?: string }): string | undefined {
  if (o.nginxConf === undefined || o.logFormatName !== undefined || o.logFormat !== undefined || !readsNginxLogs(trace, format)) return o.logFormatName;
  const name = accessLogFormatName(o.nginxConf);
  if (name !== null) process.stderr.write(`${command}: reading the logs in log_format ${name}, the one the access_log of ${o.nginxConf} names (--log-format-name to choose another)\n`);
  return name ?? undefined;
}

/**
 * The NGINX log reader's options from a command's parsed options (--strict, --log-format, --nginx-conf
 * with --log-format-name, --key-from). --nginx-conf serves the log_format only with --log-format-name
 * (given or taken from the config: nginxConfOptions); with --cache-zone alone it is the cache's only.
 */
export function logReadOptions(v: { strict?: boolean; 'log-format'?: string; 'nginx-conf'?: string; 'log-format-name'?: string; 'key-from'?: string; 'ignore-headers'?: string; 'cache-valid'?: string }):
  Omit<LogReadOptions, 'skipBad' | 'defaultTtl'> {
  return {
    strict: v.strict, logFormat: v['log-format'], nginxConf: v['log-format-name'] === undefined ? undefined : v['nginx-conf'],
    logFormatName: v['log-format-name'], keyFrom: v['key-from'] as KeyFrom | undefined,
    ...(v['ignore-headers'] !== undefined ? { ignoreHeaders: ignoredHeaders(v['ignore-headers']) } : {}),
    ...(v['cache-valid'] !== undefined ? { cacheValid: parseCacheValid(v['cache-valid']) } : {}),
  };
}

/**
 * --cache-valid: proxy_cache_valid lines, `;` between them ("200 302 10m; 404 1m; any 30s"): status codes
 * (or `any`) and a time (nginx's units); a time alone stands for 200, 301 and 302, as in NGINX.
 */
export function parseCacheValid(text: string): CacheValid[] {
  const out: CacheValid[] = [];
  for (const entry of text.split(';').map((e) => e.trim()).filter(Boolean)) {
    const words = entry.split(/\s+/);
    const ttl = parseDuration(words.pop()!, '--cache-valid');
    const codes = words.length ? words : ['200', '301', '302'];
    for (const c of codes) {
      const status = c.toLowerCase() === 'any' ? 0 : Number(c);
      if (!(status === 0 || (Number.isInteger(status) && status >= 100 && status <= 599))) {
        throw new ColdrlError('COLDRL_ERR_USAGE', `--cache-valid: "${entry}": ${c} is not a status code (100-599) or any`);
      }
      out.push({ status, ttl });
    }
  }
  if (!out.length) throw new ColdrlError('COLDRL_ERR_USAGE', `--cache-valid: no proxy_cache_valid line in "${text}"`);
  return out;
}

/** --ignore-headers: proxy_ignore_headers' list (commas or spaces, any case), checked against IGNORABLE_HEADERS. */
export function ignoredHeaders(text: string): IgnorableHeader[] {
  const names = text.split(/[\s,]+/).filter(Boolean).map((h) => h.toLowerCase());
  for (const h of names) {
    if (!(IGNORABLE_HEADERS as readonly string[]).includes(h)) {
      throw new ColdrlError('COLDRL_ERR_USAGE', `--ignore-headers: nginx's proxy_ignore_headers takes ${IGNORABLE_HEADERS.join(', ')} (got ${h})`);
    }
  }
  return names as IgnorableHeader[];
}

/** The options of a command (replay, train) that `--nginx-conf` feeds, as parseArgs gives them. */
export interface ConfValues {
  format?: string; 'nginx-conf'?: string; 'log-format-name'?: string; 'log-format'?: string;
  'cache-zone'?: string; 'cache-size'?: string; inactive?: string; 'keys-zone'?: string;
  'cache-valid'?: string; 'min-uses'?: string; 'ignore-headers'?: string;
}

/**
 * What `--nginx-conf FILE` gives `command` (replay, train) reading `trace`, filled into v in place: the log_format name
 * (logFormatName) and, with --cache-zone, --cache-size, --inactive and --keys-zone from its proxy_cache_path
 * and --cache-valid, --min-uses and --ignore-headers from the places that use it (options given beside it
 * win). Returns the line that says what the zone was read as (null without --cache-zone; with a note when
 * the log's cache key is not the proxy_cache_key of the places that use the zone) and the keys zone's node
 * limit (undefined without --keys-zone), and the options it filled from the config (fromConf).
 */
export function nginxConfOptions(command: string, trace: string, v: ConfValues): { zoneLine: string | null; keysLimit: number | undefined; fromConf: Set<string> } {
  const fromConf = new Set<string>();
  v['log-format-name'] = logFormatName(command, trace, v.format, { nginxConf: v['nginx-conf'], logFormatName: v['log-format-name'], logFormat: v['log-format'] });
  if (v['nginx-conf'] !== undefined && v['log-format-name'] === undefined && v['cache-zone'] === undefined) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `${command}: --nginx-conf needs --log-format-name (its log_format; its access_log names none or several) or --cache-zone (its proxy_cache_path)`);
  }
  let zoneLine: string | null = null;
  if (v['cache-zone'] !== undefined) {
    if (!v['nginx-conf']) throw new ColdrlError('COLDRL_ERR_USAGE', `${command}: --cache-zone needs --nginx-conf FILE`);
    const zone = cacheZoneOptions(v['nginx-conf'], v['cache-zone'], command,
      { cacheSize: v['cache-size'], cacheValid: v['cache-valid'], minUses: v['min-uses'], ignoreHeaders: v['ignore-headers'] });
    const fill = (key: 'cache-size' | 'inactive' | 'keys-zone' | 'cache-valid' | 'min-uses' | 'ignore-headers', value: string | undefined) => {
      if (v[key] !== undefined || value === undefined) return;
      v[key] = value;
      fromConf.add(key);
    };
    fill('cache-size', zone.cacheSize);
    fill('inactive', zone.inactive);
    fill('keys-zone', zone.keysZone);
    fill('cache-valid', zone.cacheValid);
    fill('min-uses', zone.minUses);
    fill('ignore-headers', zone.ignoreHeaders);
    const format = v['log-format'] !== undefined ? resolveLogFormat(v['log-format'])
      : v['log-format-name'] !== undefined ? logFormatFromConf(v['nginx-conf'], v['log-format-name']).format : null;
    const note = format === null ? null : cacheKeyNote(loggedKey(format), zone.places);
    zoneLine = note ? `${zone.line}\n${note}` : zone.line;
  }
  const keysLimit = v['keys-zone'] === undefined ? undefined : keysZoneNodes(parseZoneSize(v['keys-zone'], `${command}: --keys-zone`), v['cache-zone']);
  return { zoneLine, keysLimit, fromConf };
}

/** A note when the log's cache key is not the proxy_cache_key of the places that use the zone; null when it is, or none is logged. */
function cacheKeyNote(logged: string | null, places: readonly PlaceRules[]): string | null {
  const other = logged === null ? [] : places.filter((p) => p.cacheKey !== logged);
  if (!other.length) return null;
  return `note: the log's cache key is ${logged}, but proxy_cache_key is ${[...new Set(other.map((p) => p.cacheKey))].join(', ')} at `
    + `${other.map((p) => p.place).join(', ')}: the simulated objects are then not NGINX's (log the key NGINX uses; nginx/cachetrain.conf)`;
}

/**
 * Writes a reader's summary to stderr: always for NGINX logs (lines read, requests used, skipped by
 * reason), for other formats when lines were skipped or requests stepped back in time.
 */
export function reportReader(trace: string, stats: ReaderStats): void {
  if (stats.skippedTotal > 0 || stats.backwards > 0 || stats instanceof LogStats) process.stderr.write(`${trace}: ${stats.summary()}\n${stats.examples.map((e) => `${e}\n`).join('')}`);
}
