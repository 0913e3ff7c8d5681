/**
 * What one NGINX access-log line means for the simulator, shared by the text (log_format) and JSON readers.
 * A reader's LineParser only finds where each logged variable's value lies in the line ([start, end) per
 * ROLE, no copies); NginxSource turns those ranges into one request. The rules (docs/logs.md):
 *
 * - Time: $msec (seconds.milliseconds, kept to the millisecond), else $time_local or $time_iso8601 (seconds).
 * - Key (--key-from): auto = the logged cache key if any, else $scheme$host$request_uri with what is logged
 *   (nginx's default proxy_cache_key is $scheme$proxy_host$request_uri); key | uri | host-uri | scheme-host-uri.
 * - Size: $upstream_response_length (last entry of a retry list) when positive: this is the stored object, and
 *   the object remembers it. Lines without it (HIT, STALE, UPDATING, or a format that does not log it) keep
 *   the size of the object's last line that had it. An object never seen with one: a 200 line's
 *   $body_bytes_sent (remembered too, for its HEAD/304 lines), else the object's last such size, else
 *   $sent_http_content_length, else $bytes_sent. At least 1 byte.
 * - Origin RTT (ms): the SUM of the $upstream_response_time list (commas: retries to several upstreams,
 *   colons: internal redirects; "-" entries skipped), i.e. what the miss cost in total; else the sum of
 *   $upstream_header_time. Lines without upstream times keep the object's last RTT (0 if none yet).
 * - Cacheable only if: method GET or HEAD (proxy_cache_methods default); $upstream_cache_status not BYPASS;
 *   and, unless the line was served from the cache (HIT, STALE, UPDATING, REVALIDATED: then only its TTL is
 *   read), no Set-Cookie from the upstream (logged as a flag) and no `Vary: *`; then the upstream's
 *   X-Accel-Expires (accelExpires), when it is a number, decides alone: 0 is not cached (a past @time is
 *   stored already stale);
 *   otherwise Cache-Control (the upstream's header, else the one sent) passes nginx's own test
 *   (cacheControlTtl: no no-store, no-cache, private, and an s-maxage/max-age, if any, that is a plain
 *   positive number); an Expires header (used only without s-maxage/max-age) parses and lies after the
 *   line's time. A TTL from these headers caches any status, as NGINX does; without one, the status must be
 *   200, 301 or 302 (proxy_cache_valid's default codes): the upstream's ($upstream_status) when logged, else
 *   the client's, a 206 or 304 read as the 200 behind it (validByStatus).
 *   Uncacheable requests are kept, flagged FLAG_UNCACHEABLE with TTL 0, and counted by reason.
 * - TTL (s): X-Accel-Expires (seconds, or @epoch minus the line's time), else s-maxage, else max-age
 *   (nginx's order), else Expires minus the line's time, else ReadOptions.defaultTtl (proxy_cache_valid;
 *   +Infinity when not given). A line served from the cache whose headers give none (text formats log only
 *   the upstream's, which a HIT has not) takes the TTL of the object's last stored response, when it had
 *   one: what a refetch in the simulator, whose cache may not hold the copy, would store.
 * - LogReadOptions.ignoreHeaders (proxy_ignore_headers) turns off X-Accel-Expires, Cache-Control, Expires,
 *   Set-Cookie or Vary as NGINX does.
 * - Bad lines are counted by reason and the first few reported as file:line; with `strict` the first one is
 *   fatal (COLDRL_ERR_BAD_LINE).
 */
import { keyHash, KeyIndex, MAX_KEY_BYTES } from './key-index.js';
import { FLAG_NO_LOOKUP, FLAG_UNCACHEABLE, ReaderStats, readChunks, type ReadOptions, type RequestBatch, type TraceSource } from '../trace.js';

// Roles: the logged values the reader understands. Ranges live in an Int32Array at [2*role, 2*role+1].
export const R_MSEC = 0, R_TIME_LOCAL = 1, R_TIME_ISO = 2, R_KEY = 3, R_REQUEST = 4, R_METHOD = 5, R_URI = 6,
  R_SCHEME = 7, R_HOST = 8, R_STATUS = 9, R_BODY = 10, R_BYTES = 11, R_UP_LEN = 12, R_CACHE = 13, R_UP_RT = 14,
  R_UP_HT = 15, R_UP_CC = 16, R_UP_EXPIRES = 17, R_CC = 18, R_EXPIRES = 19, R_CLEN = 20, R_UP_XAE = 21,
  R_UP_COOKIE = 22, R_UP_VARY = 23, R_UP_STATUS = 24, ROLE_COUNT = 25;

/** nginx variable names -> role. */
export const VARIABLE_ROLES: Record<string, number> = {
  msec: R_MSEC, time_local: R_TIME_LOCAL, time_iso8601: R_TIME_ISO, request: R_REQUEST,
  request_method: R_METHOD, request_uri: R_URI, uri: R_URI, scheme: R_SCHEME, host: R_HOST, http_host: R_HOST,
  proxy_host: R_HOST, server_name: R_HOST, status: R_STATUS, body_bytes_sent: R_BODY, bytes_sent: R_BYTES,
  upstream_response_length: R_UP_LEN, upstream_cache_status: R_CACHE, upstream_response_time: R_UP_RT,
  upstream_header_time: R_UP_HT, upstream_http_cache_control: R_UP_CC, upstream_http_expires: R_UP_EXPIRES,
  sent_http_cache_control: R_CC, sent_http_expires: R_EXPIRES, sent_http_content_length: R_CLEN,
  upstream_http_x_accel_expires: R_UP_XAE, upstream_http_vary: R_UP_VARY, upstream_status: R_UP_STATUS,
  // Set-Cookie's value is private: nginx/cachetrain.conf logs whether there was one ($coldrl_set_cookie, a map)
  coldrl_set_cookie: R_UP_COOKIE, upstream_http_set_cookie: R_UP_COOKIE,
};

/**
 * The upstream headers proxy_ignore_headers can name. Those that bear on caching are obeyed by the reader
 * when ignored (LogReadOptions.ignoreHeaders); the others are accepted, so that a config's list can be
 * copied as it is.
 */
export const IGNORABLE_HEADERS = ['x-accel-expires', 'expires', 'cache-control', 'set-cookie', 'vary',
  'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset'] as const;
export type IgnorableHeader = typeof IGNORABLE_HEADERS[number];

export type KeyFrom = 'auto' | 'key' | 'uri' | 'host-uri' | 'scheme-host-uri';
export const KEY_FROM: readonly KeyFrom[] = ['auto', 'key', 'uri', 'host-uri', 'scheme-host-uri'];

/** Reader options for NGINX logs (ReadOptions.skipBad is not used: logs skip bad lines unless strict). */
export interface LogReadOptions extends ReadOptions {
  /** The first bad line is fatal. */
  strict?: boolean;
  /** A log_format string (text or JSON-shaped); default: the format's own. */
  logFormat?: string;
  /** Take the log_format from this nginx config ... */
  nginxConf?: string;
  /** ... by this name. */
  logFormatName?: string;
  keyFrom?: KeyFrom;
  /** proxy_ignore_headers: upstream headers NGINX does not act on (lower case). */
  ignoreHeaders?: readonly IgnorableHeader[];
  /**
   * proxy_cache_valid beyond ReadOptions.defaultTtl (which stands for `proxy_cache_valid TIME`: 200, 301 and
   * 302): TTLs by status, in the config's order, the first match wins (status 0: `any`). Given, these and
   * defaultTtl's codes are the only statuses cached without a TTL in the headers.
   */
  cacheValid?: readonly CacheValid[];
}

/** The NGINX configuration the reader applies to the headers: proxy_ignore_headers and proxy_cache_valid. */
export type Reading = Pick<LogReadOptions, 'ignoreHeaders' | 'cacheValid'>;

/** One status of a proxy_cache_valid line and its TTL in seconds (status 0: any). */
export interface CacheValid { status: number; ttl: number }

/** Finds the value ranges of one line: bytes [s, e) of a buffer (no newline). */
export interface LineParser {
  /** Fills r with [start, end) per role (-1 = not logged); returns null, or why the line does not parse. */
  parse(line: Buffer, s: number, e: number, r: Int32Array): string | null;
  /** Values use JSON escapes (\" \\ \uXXXX) rather than nginx's default \xHH. */
  readonly jsonEscapes: boolean;
}

/**
 * Chooses the parser for a file from a line (auto-detection): null when the line matches none of the
 * formats it knows (a stray line at a file's head), to be asked again on the next line; on the last line
 * it is asked about (`final`), it must choose.
 */
export type ParserPicker = (line: Buffer, file: string, final: boolean) => LineParser | null;

/** Lines of a file at most that may match no known format before the picker must choose. */
const PICK_LINES = 64;

/** Reader counts plus uncacheable requests by reason. */
export class LogStats extends ReaderStats {
  readonly uncacheableBy: Record<string, number> = {};
  override summary(): string {
    const u = Object.entries(this.uncacheableBy).map(([r, n]) => `${r}: ${n}`).join(', ');
    return super.summary() + (u ? `; uncacheable by reason (${u})` : '');
  }
}

// ---- value scanning helpers (no allocation) ----

/** True when [s, e) holds a value: logged, non-empty and not nginx's "-". */
export function present(line: Buffer, s: number, e: number): boolean {
  return s >= 0 && e > s && !(e === s + 1 && line[s]! === 45);
}

/** True when the character at i is preceded by an odd number of backslashes (an escaped quote). */
export function escapedAt(line: Buffer, i: number): boolean {
  let k = i - 1;
  while (k >= 0 && line[k]! === 92) k--;
  return ((i - 1 - k) & 1) === 1;
}

/** Non-negative integer in [s, e), or -1. */
export function parseUint(line: Buffer, s: number, e: number): number {
  if (e <= s) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = line[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Decimal seconds in [s, e) as milliseconds (exact to 3 decimals), or -1. */
export function parseSecondsMs(line: Buffer, s: number, e: number): number {
  let m = 0, dec = -1, digits = 0;
  for (let i = s; i < e; i++) {
    const c = line[i]!;
    if (c === 46 && dec < 0) { dec = 0; continue; }
    const d = c - 48;
    if (d < 0 || d > 9) return -1;
    m = m * 10 + d;
    digits++;
    if (dec >= 0) dec++;
  }
  if (digits === 0) return -1;
  if (dec <= 0) return m * 1000;
  return dec <= 3 ? m * POW10[3 - dec]! : m / POW10[dec - 3]!;
}
const POW10 = [1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];

/** An upstream list ("0.010, 0.120 : 0.004", "-" entries skipped): sum, or last entry; -1 when none. */
export function parseUpstreamList(line: Buffer, s: number, e: number, sum: boolean, seconds: boolean): number {
  let total = -1;
  let i = s;
  while (i < e) {
    while (i < e && (line[i]! === 32 || line[i]! === 44 || line[i]! === 58)) i++;
    const a = i;
    while (i < e && line[i]! !== 44 && line[i]! !== 32 && line[i]! !== 58) i++;
    if (i === a || !present(line, a, i)) continue;
    const v = seconds ? parseSecondsMs(line, a, i) : parseUint(line, a, i);
    if (v < 0) continue;
    total = sum && total >= 0 ? total + v : v;
  }
  return total;
}

const MONTHS = Buffer.from('JanFebMarAprMayJunJulAugSepOctNovDec', 'latin1');
/** Two decimal digits at i, or NaN (which makes the whole time NaN: a bad line). */
function two(line: Buffer, i: number): number {
  const a = line[i]! - 48, b = line[i + 1]! - 48;
  return (a >>> 0) > 9 || (b >>> 0) > 9 ? NaN : a * 10 + b;
}

/** $time_local "10/Oct/2000:13:55:36 -0700" -> epoch seconds, or NaN. */
export function parseTimeLocal(line: Buffer, s: number, e: number): number {
  if (e - s < 26 || line[s + 2]! !== 47 || line[s + 11]! !== 58) return NaN;
  let mon = 0;
  while (mon < 12 && !(MONTHS[3 * mon] === line[s + 3] && MONTHS[3 * mon + 1] === line[s + 4] && MONTHS[3 * mon + 2] === line[s + 5])) mon++;
  if (mon === 12) return NaN;
  const year = two(line, s + 7) * 100 + two(line, s + 9);
  const sign = line[s + 21]! === 45 ? -1 : 1;
  const off = sign * (two(line, s + 22) * 3600 + two(line, s + 24) * 60);
  const t = Date.UTC(year, mon, two(line, s), two(line, s + 12), two(line, s + 15), two(line, s + 18)) / 1000 - off;
  return t;
}

/** $time_iso8601 "2000-10-10T13:55:36+00:00" -> epoch seconds, or NaN. */
export function parseTimeIso(line: Buffer, s: number, e: number): number {
  if (e - s < 20 || line[s + 10]! !== 84) return NaN;
  const year = two(line, s) * 100 + two(line, s + 2);
  let off = 0;
  if (e - s >= 25) {
    const sign = line[s + 19]! === 45 ? -1 : 1;
    off = sign * (two(line, s + 20) * 3600 + two(line, s + 23) * 60);
  }
  return Date.UTC(year, two(line, s + 5) - 1, two(line, s + 8), two(line, s + 11), two(line, s + 14), two(line, s + 17)) / 1000 - off;
}

/** True when bytes at s spell the ASCII `word`. */
function bytesAre(line: Buffer, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (line[s + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** True when the bytes at i spell lowercase `word`, compared case-insensitively, within [.., e). */
function isWordCI(line: Buffer, i: number, e: number, word: string): boolean {
  const n = word.length;
  if (i + n > e) return false;
  for (let k = 1; k < n; k++) if ((line[i + k]! | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * Cache-Control in [s, e), as nginx 1.22 reads an upstream's header (ngx_http_upstream_process_cache_control):
 * "no-cache", "no-store" or "private" anywhere -> 0 (not cached); else "s-maxage=" or, without it,
 * "max-age=": digits up to ',' ';' ' ' or the end; any other character or a value of 0 -> 0; otherwise
 * the TTL in seconds. -1 when neither appears (the header says nothing about the TTL). One pass.
 */
export function cacheControlTtl(line: Buffer, s: number, e: number): number {
  // The common header, exactly "max-age=" and digits: the same answer without the word search.
  if (e - s > 8 && line[s] === 109 && line[s + 3] === 45 && line[s + 7] === 61 && bytesAre(line, s, s + 8, 'max-age=')) {
    let n = 0, i = s + 8;
    for (; i < e; i++) {
      const d = line[i]! - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (i === e) return n;
  }
  let sMax = -1, max = -1;
  for (let i = s; i < e; i++) {
    const c = line[i]! | 0x20;
    if (c === 110) { if (isWordCI(line, i, e, 'no-cache') || isWordCI(line, i, e, 'no-store')) return 0; }
    else if (c === 112) { if (isWordCI(line, i, e, 'private')) return 0; }
    else if (c === 115) { if (sMax < 0 && isWordCI(line, i, e, 's-maxage=')) { sMax = i + 9; i += 8; } }
    else if (c === 109) { if (max < 0 && isWordCI(line, i, e, 'max-age=')) { max = i + 8; i += 7; } }
  }
  const p = sMax >= 0 ? sMax : max;
  if (p < 0) return -1;
  let n = 0;
  for (let i = p; i < e; i++) {
    const c = line[i]!;
    if (c === 44 || c === 59 || c === 32) break;
    if (c < 48 || c > 57) return 0;
    n = n * 10 + c - 48;
  }
  return n;
}

/**
 * X-Accel-Expires in [s, e), as nginx 1.22 reads an upstream's header (ngx_http_upstream_process_accel_expires):
 * digits -> that many seconds, 0 -> not cached; "@" and digits -> that epoch second, whose distance from
 * `time` is the TTL (STALE_TTL when it is not after `time`: nginx stores the copy already stale, and the
 * next request refetches it); anything else (ngx_atoi fails: empty, a sign, a space), and "@0" (it leaves
 * valid_sec unset) -> -1, the header is ignored.
 */
export function accelExpires(line: Buffer, s: number, e: number, time: number): number {
  const at = s < e && line[s] === 64;
  const n = parseUint(line, at ? s + 1 : s, e);
  if (n < 0 || (at && n === 0)) return -1;
  if (!at) return n;
  return n > time ? n - time : STALE_TTL;
}

/** Float64s per object in NginxSource's side table (size, RTT, 200 body size, TTL). */
const OBJ_STRIDE = 4;

/** The TTL of a copy stored already stale (X-Accel-Expires @epoch in the past): stored, expired by the next request. */
export const STALE_TTL = 0.001;

/** Undoes nginx's escaping of a value: \xHH (default) or JSON escapes (escape=json). */
export function unescapeValue(v: string, json: boolean): string {
  if (v.indexOf('\\') < 0) return v;
  if (json) {
    try { return JSON.parse(`"${v}"`) as string; } catch { return v; }
  }
  return v.replace(/\\x([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const UNC_METHOD = 'method', UNC_STATUS = 'status', UNC_BYPASS = 'bypass', UNC_CC = 'cache-control', UNC_EXPIRES = 'expires',
  UNC_XAE = 'x-accel-expires', UNC_COOKIE = 'set-cookie', UNC_VARY = 'vary';
/** NginxSource.headerTtl's answers other than a TTL. */
const HDR_NONE = -1, HDR_XAE = -2, HDR_CC = -3, HDR_EXPIRES = -4;

/** Streams one or more log files (oldest first) as requests; see the module comment for the rules. */
export class NginxSource implements TraceSource {
  readonly interner = new KeyIndex();
  readonly stats = new LogStats();
  private readonly r = new Int32Array(ROLE_COUNT * 2);
  private readonly defaultTtl: number;
  private readonly strict: boolean;
  private readonly keyFrom: KeyFrom;
  /** Which upstream headers are read (proxy_ignore_headers turns them off). */
  private readonly useXae: boolean;
  private readonly useCc: boolean;
  private readonly useExpires: boolean;
  private readonly useCookie: boolean;
  private readonly useVary: boolean;
  /** proxy_cache_valid: TTL by status, first match (LogReadOptions.cacheValid after defaultTtl's codes). */
  private readonly valid: readonly CacheValid[];
  /**
   * Per object, side by side (one cache line): [last upstream size, last RTT, body size of its last full
   * (200) response (for logs without upstream sizes), TTL of its last stored response (0: none yet)].
   */
  private obj = new Float64Array(OBJ_STRIDE * 1024);
  private fileIndex = -1;
  private file = '';
  private chunks: AsyncGenerator<Buffer> | null = null;
  /** The current chunk (with the carried-over start of a line) and the read position in it. */
  private buf: Buffer = Buffer.alloc(0);
  private bpos = 0;
  private lineNo = 0;
  private parser: LineParser | null = null;
  /** Lines of this file the picker could not place (PICK_LINES at most). */
  private unplaced = 0;
  private lastExpiresText = '';
  private lastExpires = NaN;

  constructor(readonly name: string, private readonly files: string[], private readonly pick: ParserPicker, opts: LogReadOptions = {}) {
    this.defaultTtl = opts.defaultTtl ?? Infinity;
    this.strict = opts.strict ?? false;
    this.keyFrom = opts.keyFrom ?? 'auto';
    const ignored = new Set(opts.ignoreHeaders ?? []);
    this.useXae = !ignored.has('x-accel-expires');
    this.useCc = !ignored.has('cache-control');
    this.useExpires = !ignored.has('expires');
    this.useCookie = !ignored.has('set-cookie');
    this.useVary = !ignored.has('vary');
    // without either option, 200, 301 and 302 are cached for ever (the simulator's default since before
    // --cache-valid); with --cache-valid alone, only the statuses it names, as NGINX would
    const byDefault = opts.defaultTtl !== undefined || opts.cacheValid === undefined;
    this.valid = [...(byDefault ? [200, 301, 302].map((status) => ({ status, ttl: this.defaultTtl })) : []), ...(opts.cacheValid ?? [])];
  }

  async read(b: RequestBatch): Promise<number> {
    let n = 0;
    const cap = b.capacity;
    while (n < cap) {
      if (!this.chunks) {
        if (++this.fileIndex >= this.files.length) break;
        this.file = this.files[this.fileIndex]!;
        this.chunks = readChunks(this.file);
        this.lineNo = 0;
        this.parser = null;
        this.unplaced = 0;
      }
      const buf = this.buf;
      const nl = buf.indexOf(10, this.bpos);
      if (nl >= 0) {
        const s = this.bpos;
        this.bpos = nl + 1;
        if (this.line(buf, s, nl, b, n)) n++;
        continue;
      }
      const next = await this.chunks.next();
      if (next.done) {
        // The file's last line may lack its newline.
        if (this.bpos < buf.length && this.line(buf, this.bpos, buf.length, b, n)) n++;
        this.chunks = null;
        this.buf = Buffer.alloc(0);
        this.bpos = 0;
        continue;
      }
      const c = next.value;
      const tail = buf.length - this.bpos;
      const nl2 = tail > 0 ? c.indexOf(10) : -1;
      if (tail > 0 && nl2 < 0) {
        // A line longer than a chunk: keep gathering.
        this.buf = Buffer.concat([buf.subarray(this.bpos), c]);
        this.bpos = 0;
        continue;
      }
      this.buf = c;
      this.bpos = 0;
      if (tail > 0) {
        // The line across the chunk boundary, copied alone (no copy of the whole chunk).
        const joined = Buffer.concat([buf.subarray(buf.length - tail), c.subarray(0, nl2)]);
        this.bpos = nl2 + 1;
        if (this.line(joined, 0, joined.length, b, n)) n++;
      }
    }
    return n;
  }

  /** Handles bytes [s, e) of one line; true when it became request n of b. */
  private line(buf: Buffer, s: number, e: number, b: RequestBatch, n: number): boolean {
    this.lineNo++;
    if (e > s && buf[e - 1] === 13) e--;
    if (e === s) return false;
    this.stats.lines++;
    if (this.parser === null) {
      this.parser = this.pick(buf.subarray(s, e), this.file, this.unplaced === PICK_LINES - 1);
      if (this.parser === null) {
        this.unplaced++;
        this.bad('line matches no known log format (before the first line that does)');
        return false;
      }
    }
    const why = this.parser.parse(buf, s, e, this.r) ?? this.fill(buf, b, n);
    if (why === null) return true;
    this.bad(why);
    return false;
  }

  private bad(reason: string): void {
    this.stats.bad(reason, `${this.file}:${this.lineNo}`, this.strict ? '--strict' : null);
  }

  private slice(line: Buffer, role: number): string {
    const r = this.r;
    return unescapeValue(line.toString('utf8', r[2 * role]!, r[2 * role + 1]!), this.parser!.jsonEscapes);
  }

  private has(line: Buffer, role: number): boolean { return present(line, this.r[2 * role]!, this.r[2 * role + 1]!); }

  /**
   * The object id of this line's cache key (interned with `size` when new); -1 when the parts --key-from
   * asks for are not logged, -2 when the key is longer than MAX_KEY_BYTES. A key that is one logged value
   * without escapes is looked up by its bytes (no string per line); composite or escaped keys go through a
   * string.
   */
  private keyId(line: Buffer, uriS: number, uriE: number, size: number): number {
    const k = this.keyFrom, r = this.r;
    let s = -1, e = -1;
    if ((k === 'auto' || k === 'key') && this.has(line, R_KEY)) { s = r[2 * R_KEY]!; e = r[2 * R_KEY + 1]!; }
    else if (k === 'key') return -1;
    else if (uriS < 0) return -1;
    else if (k === 'uri' || (k === 'auto' && !this.has(line, R_HOST) && !this.has(line, R_SCHEME))) { s = uriS; e = uriE; }
    let key: string;
    if (s >= 0) {
      if (e - s > MAX_KEY_BYTES) return -2;
      const h = keyHash(line, s, e, true);
      if (h !== -1) return this.interner.internBytes(line, s, e, h, size);
      key = unescapeValue(line.toString('utf8', s, e), this.parser!.jsonEscapes);
    } else {
      const uri = unescapeValue(line.toString('utf8', uriS, uriE), this.parser!.jsonEscapes);
      const host = this.has(line, R_HOST) ? this.slice(line, R_HOST) : null;
      if (k !== 'auto' && host === null) return -1;
      const scheme = this.has(line, R_SCHEME) ? this.slice(line, R_SCHEME) : null;
      if (k === 'scheme-host-uri' && scheme === null) return -1;
      key = k === 'host-uri' ? host + uri : (scheme ?? '') + (host ?? '') + uri;
    }
    const id = this.interner.intern(key, size);
    return id < 0 ? -2 : id;
  }

  /** Turns the parsed ranges of `line` into request n of b; returns null, or why the line is bad. */
  private fill(line: Buffer, b: RequestBatch, n: number): string | null {
    const r = this.r;
    // Time.
    let time: number;
    if (present(line, r[2 * R_MSEC]!, r[2 * R_MSEC + 1]!)) {
      const ms = parseSecondsMs(line, r[2 * R_MSEC]!, r[2 * R_MSEC + 1]!);
      if (ms < 0) return 'bad $msec';
      time = ms / 1000;
    } else if (present(line, r[2 * R_TIME_LOCAL]!, r[2 * R_TIME_LOCAL + 1]!)) {
      time = parseTimeLocal(line, r[2 * R_TIME_LOCAL]!, r[2 * R_TIME_LOCAL + 1]!);
      if (Number.isNaN(time)) return 'bad $time_local';
    } else if (present(line, r[2 * R_TIME_ISO]!, r[2 * R_TIME_ISO + 1]!)) {
      time = parseTimeIso(line, r[2 * R_TIME_ISO]!, r[2 * R_TIME_ISO + 1]!);
      if (Number.isNaN(time)) return 'bad $time_iso8601';
    } else return 'no timestamp';
    // Method and URI, from $request_method/$request_uri or from $request "GET /uri HTTP/1.1".
    let mS = r[2 * R_METHOD]!, mE = r[2 * R_METHOD + 1]!, uS = r[2 * R_URI]!, uE = r[2 * R_URI + 1]!;
    if ((mS < 0 || uS < 0) && present(line, r[2 * R_REQUEST]!, r[2 * R_REQUEST + 1]!)) {
      const rs = r[2 * R_REQUEST]!, re = r[2 * R_REQUEST + 1]!;
      let sp1 = rs;
      while (sp1 < re && line[sp1] !== 32) sp1++;
      if (sp1 >= re) return 'malformed $request';
      let sp2 = re - 1;
      while (sp2 > sp1 && line[sp2] !== 32) sp2--;
      if (sp2 <= sp1) sp2 = re;
      if (mS < 0) { mS = rs; mE = sp1; }
      if (uS < 0) { uS = sp1 + 1; uE = sp2; }
    }
    if (!present(line, uS, uE)) uS = uE = -1;
    const status = parseUint(line, r[2 * R_STATUS]!, r[2 * R_STATUS + 1]!);
    if (status < 100 || status > 999) return r[2 * R_STATUS]! < 0 ? 'no $status' : 'bad $status';
    // Size and RTT with the HIT-line rule.
    const upLen = parseUpstreamList(line, r[2 * R_UP_LEN]!, r[2 * R_UP_LEN + 1]!, false, false);
    let rtt = parseUpstreamList(line, r[2 * R_UP_RT]!, r[2 * R_UP_RT + 1]!, true, true);
    if (rtt < 0) rtt = parseUpstreamList(line, r[2 * R_UP_HT]!, r[2 * R_UP_HT + 1]!, true, true);
    let size = upLen > 0 ? upLen : -1;
    let fallback = -1;
    if (size < 0) {
      fallback = parseUint(line, r[2 * R_BODY]!, r[2 * R_BODY + 1]!);
      if (fallback <= 0) fallback = parseUint(line, r[2 * R_CLEN]!, r[2 * R_CLEN + 1]!);
      if (fallback <= 0) fallback = parseUint(line, r[2 * R_BYTES]!, r[2 * R_BYTES + 1]!);
    }
    const id = this.keyId(line, uS, uE, size > 0 ? size : Math.max(1, fallback));
    if (id === -2) return `cache key longer than ${MAX_KEY_BYTES} bytes`;
    if (id < 0) return this.keyFrom === 'auto' ? 'no cache key or uri' : `no value for --key-from ${this.keyFrom}`;
    if (OBJ_STRIDE * id + OBJ_STRIDE > this.obj.length) this.growObjects(id + 1);
    const obj = this.obj, o = OBJ_STRIDE * id;
    if (size > 0) obj[o] = size;
    else if (obj[o]! > 0) size = obj[o]!;
    else if (status === 200 && fallback > 0 && r[2 * R_BODY]! >= 0) { size = fallback; obj[o + 2] = fallback; }
    else size = obj[o + 2]! > 0 ? obj[o + 2]! : Math.max(1, fallback);
    if (rtt >= 0) obj[o + 1] = rtt;
    else rtt = obj[o + 1]!;
    // Cacheability and TTL.
    let why: string | null = null;
    let ttl = this.defaultTtl;
    const m0 = mS >= 0 ? line[mS]! : 0;
    const isGet = mE - mS === 3 && m0 === 71 && line[mS + 1]! === 69 && line[mS + 2]! === 84;
    const isHead = mE - mS === 4 && m0 === 72 && bytesAre(line, mS, mE, 'HEAD');
    // a line served from the cache (HIT, STALE, UPDATING, REVALIDATED): the object is cached, only its TTL is read
    const served = this.servedFromCache(line);
    if (!isGet && !isHead) why = UNC_METHOD;
    else if (bytesAre(line, r[2 * R_CACHE]!, r[2 * R_CACHE + 1]!, 'BYPASS')) why = UNC_BYPASS;
    else if (!served && this.useCookie && present(line, r[2 * R_UP_COOKIE]!, r[2 * R_UP_COOKIE + 1]!)) why = UNC_COOKIE;
    else if (!served && this.useVary && r[2 * R_UP_VARY + 1]! - r[2 * R_UP_VARY]! === 1 && line[r[2 * R_UP_VARY]!] === 42) why = UNC_VARY;
    else {
      const h = this.headerTtl(line, time);
      if (h > 0) ttl = h;
      else if (h !== HDR_NONE && !served) why = h === HDR_XAE ? UNC_XAE : h === HDR_CC ? UNC_CC : UNC_EXPIRES;
      else if (served && obj[o + 3]! > 0) ttl = obj[o + 3]!; // a copy refetched in its place would get the last one's TTL
      else {
        // the headers say nothing: proxy_cache_valid decides by the status
        const v = this.ttlByStatus(line, status);
        if (v > 0) ttl = v;
        else if (!served) why = UNC_STATUS;
      }
    }
    this.stats.time(time);
    b.time[n] = time;
    b.id[n] = id;
    b.size[n] = size;
    b.rtt[n] = rtt;
    if (why === null) {
      b.ttl[n] = ttl;
      b.flags[n] = 0;
      if (!served) obj[o + 3] = ttl;
    } else {
      b.ttl[n] = 0;
      b.flags[n] = why === UNC_METHOD || why === UNC_BYPASS ? FLAG_UNCACHEABLE | FLAG_NO_LOOKUP : FLAG_UNCACHEABLE;
      this.stats.uncacheable++;
      this.stats.uncacheableBy[why] = (this.stats.uncacheableBy[why] ?? 0) + 1;
    }
    this.stats.requests++;
    return null;
  }

  /**
   * The TTL the headers give, as nginx reads them: X-Accel-Expires (when a number, alone), else Cache-Control
   * (the upstream's, else the one sent), else Expires; each skipped when ignored (proxy_ignore_headers).
   * Seconds > 0; HDR_XAE, HDR_CC or HDR_EXPIRES when that header keeps the response out; HDR_NONE when
   * they say nothing.
   */
  private headerTtl(line: Buffer, time: number): number {
    const r = this.r;
    const xs = r[2 * R_UP_XAE]!, xe = r[2 * R_UP_XAE + 1]!;
    const xa = this.useXae && present(line, xs, xe) ? accelExpires(line, xs, xe, time) : -1;
    if (xa >= 0) return xa > 0 ? xa : HDR_XAE;
    let cs = r[2 * R_UP_CC]!, ce = r[2 * R_UP_CC + 1]!;
    if (!present(line, cs, ce)) { cs = r[2 * R_CC]!; ce = r[2 * R_CC + 1]!; }
    const cc = !this.useCc || !present(line, cs, ce) ? -1 : cacheControlTtl(line, cs, ce);
    if (cc >= 0) return cc > 0 ? cc : HDR_CC;
    const ex = this.expires(line, time);
    return ex > 0 ? ex : ex === 0 ? HDR_EXPIRES : HDR_NONE;
  }

  /** $upstream_cache_status says the response came from the cache: HIT, STALE, UPDATING or REVALIDATED. */
  private servedFromCache(line: Buffer): boolean {
    const cs = this.r[2 * R_CACHE]!, ce = this.r[2 * R_CACHE + 1]!;
    return ce - cs >= 3 && (bytesAre(line, cs, ce, 'HIT') || bytesAre(line, cs, ce, 'STALE') || bytesAre(line, cs, ce, 'UPDATING')
      || bytesAre(line, cs, ce, 'REVALIDATED'));
  }

  /**
   * The TTL proxy_cache_valid gives a response without one in its headers, by its status (the first
   * matching entry of this.valid), or -1: not cached. The status is the upstream's when logged (the last of
   * a retry list); else the client's, where a 206 (a range of the object) or a 304 (the client's copy is
   * current) stand for the 200 NGINX fetched and stored.
   */
  private ttlByStatus(line: Buffer, status: number): number {
    const r = this.r;
    let st = parseUpstreamList(line, r[2 * R_UP_STATUS]!, r[2 * R_UP_STATUS + 1]!, false, false);
    if (st < 0) st = status === 206 || status === 304 ? 200 : status;
    const valid = this.valid;
    for (let i = 0; i < valid.length; i++) if (valid[i]!.status === st || valid[i]!.status === 0) return valid[i]!.ttl;
    return -1;
  }

  /** TTL from Expires relative to the line's time: seconds > 0, 0 = already expired or invalid, -1 = none. */
  private expires(line: Buffer, time: number): number {
    if (!this.useExpires) return -1;
    const r = this.r;
    let s = r[2 * R_UP_EXPIRES]!, e = r[2 * R_UP_EXPIRES + 1]!;
    if (!present(line, s, e)) { s = r[2 * R_EXPIRES]!; e = r[2 * R_EXPIRES + 1]!; }
    if (!present(line, s, e)) return -1;
    if (!bytesAre(line, s, e, this.lastExpiresText)) {
      this.lastExpiresText = line.toString('latin1', s, e);
      this.lastExpires = Date.parse(this.lastExpiresText) / 1000;
    }
    const t = this.lastExpires - time;
    return t > 0 ? t : 0;
  }

  private growObjects(n: number): void {
    let c = this.obj.length;
    while (c < OBJ_STRIDE * n) c *= 2;
    const o = new Float64Array(c); o.set(this.obj); this.obj = o;
  }

  close(): void {
    if (this.chunks) void this.chunks.return(undefined);
    this.chunks = null;
    this.fileIndex = this.files.length;
  }
}
