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
 * - Cacheable only if: method GET or HEAD (proxy_cache_methods default); status 200, 301 or 302
 *   (proxy_cache_valid defaults); $upstream_cache_status not BYPASS; Cache-Control (the upstream's header,
 *   else the one sent) passes nginx's own test (cacheControlTtl: no no-store, no-cache, private, and an
 *   s-maxage/max-age, if any, that is a plain positive number); an Expires header (used only without
 *   s-maxage/max-age) parses and lies after the line's time. Uncacheable requests are kept, flagged
 *   FLAG_UNCACHEABLE with TTL 0, and counted by reason.
 * - TTL (s): s-maxage, else max-age (nginx's order), else Expires minus the line's time, else
 *   ReadOptions.defaultTtl (proxy_cache_valid; +Infinity when not given).
 * - Bad lines are counted by reason and the first few reported as file:line; with `strict` the first one is
 *   fatal (COLDRL_ERR_BAD_LINE).
 */
import { ColdrlError } from '../errors.js';
import { FLAG_UNCACHEABLE, Interner, ReaderStats, readLines, type ReadOptions, type RequestBatch, type TraceSource } from '../trace.js';

// Roles: the logged values the reader understands. Ranges live in an Int32Array at [2*role, 2*role+1].
export const R_MSEC = 0, R_TIME_LOCAL = 1, R_TIME_ISO = 2, R_KEY = 3, R_REQUEST = 4, R_METHOD = 5, R_URI = 6,
  R_SCHEME = 7, R_HOST = 8, R_STATUS = 9, R_BODY = 10, R_BYTES = 11, R_UP_LEN = 12, R_CACHE = 13, R_UP_RT = 14,
  R_UP_HT = 15, R_UP_CC = 16, R_UP_EXPIRES = 17, R_CC = 18, R_EXPIRES = 19, R_CLEN = 20, ROLE_COUNT = 21;

/** nginx variable names -> role. */
export const VARIABLE_ROLES: Record<string, number> = {
  msec: R_MSEC, time_local: R_TIME_LOCAL, time_iso8601: R_TIME_ISO, request: R_REQUEST,
  request_method: R_METHOD, request_uri: R_URI, uri: R_URI, scheme: R_SCHEME, host: R_HOST, http_host: R_HOST,
  proxy_host: R_HOST, server_name: R_HOST, status: R_STATUS, body_bytes_sent: R_BODY, bytes_sent: R_BYTES,
  upstream_response_length: R_UP_LEN, upstream_cache_status: R_CACHE, upstream_response_time: R_UP_RT,
  upstream_header_time: R_UP_HT, upstream_http_cache_control: R_UP_CC, upstream_http_expires: R_UP_EXPIRES,
  sent_http_cache_control: R_CC, sent_http_expires: R_EXPIRES, sent_http_content_length: R_CLEN,
};

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
}

/** Finds the value ranges of one line. */
export interface LineParser {
  /** Fills r with [start, end) per role (-1 = not logged); returns null, or why the line does not parse. */
  parse(line: string, r: Int32Array): string | null;
  /** Values use JSON escapes (\" \\ \uXXXX) rather than nginx's default \xHH. */
  readonly jsonEscapes: boolean;
}

/** Chooses the parser for a file from its first non-empty line (auto-detection), or throws. */
export type ParserPicker = (firstLine: string, file: string) => LineParser;

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
export function present(line: string, s: number, e: number): boolean {
  return s >= 0 && e > s && !(e === s + 1 && line.charCodeAt(s) === 45);
}

/** True when the character at i is preceded by an odd number of backslashes (an escaped quote). */
export function escapedAt(line: string, i: number): boolean {
  let k = i - 1;
  while (k >= 0 && line.charCodeAt(k) === 92) k--;
  return ((i - 1 - k) & 1) === 1;
}

/** Non-negative integer in [s, e), or -1. */
export function parseUint(line: string, s: number, e: number): number {
  if (e <= s) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = line.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Decimal seconds in [s, e) as milliseconds (exact to 3 decimals), or -1. */
export function parseSecondsMs(line: string, s: number, e: number): number {
  let m = 0, dec = -1, digits = 0;
  for (let i = s; i < e; i++) {
    const c = line.charCodeAt(i);
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
export function parseUpstreamList(line: string, s: number, e: number, sum: boolean, seconds: boolean): number {
  let total = -1;
  let i = s;
  while (i < e) {
    while (i < e && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 44 || line.charCodeAt(i) === 58)) i++;
    const a = i;
    while (i < e && line.charCodeAt(i) !== 44 && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 58) i++;
    if (i === a || !present(line, a, i)) continue;
    const v = seconds ? parseSecondsMs(line, a, i) : parseUint(line, a, i);
    if (v < 0) continue;
    total = sum && total >= 0 ? total + v : v;
  }
  return total;
}

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
function two(line: string, i: number): number { return (line.charCodeAt(i) - 48) * 10 + line.charCodeAt(i + 1) - 48; }

/** $time_local "10/Oct/2000:13:55:36 -0700" -> epoch seconds, or NaN. */
export function parseTimeLocal(line: string, s: number, e: number): number {
  if (e - s < 26 || line.charCodeAt(s + 2) !== 47 || line.charCodeAt(s + 11) !== 58) return NaN;
  const mon = MONTHS.indexOf(line.substr(s + 3, 3)) / 3;
  if (!(mon >= 0) || mon % 1 !== 0) return NaN;
  const year = two(line, s + 7) * 100 + two(line, s + 9);
  const sign = line.charCodeAt(s + 21) === 45 ? -1 : 1;
  const off = sign * (two(line, s + 22) * 3600 + two(line, s + 24) * 60);
  const t = Date.UTC(year, mon, two(line, s), two(line, s + 12), two(line, s + 15), two(line, s + 18)) / 1000 - off;
  return t;
}

/** $time_iso8601 "2000-10-10T13:55:36+00:00" -> epoch seconds, or NaN. */
export function parseTimeIso(line: string, s: number, e: number): number {
  if (e - s < 20 || line.charCodeAt(s + 10) !== 84) return NaN;
  const year = two(line, s) * 100 + two(line, s + 2);
  let off = 0;
  if (e - s >= 25) {
    const sign = line.charCodeAt(s + 19) === 45 ? -1 : 1;
    off = sign * (two(line, s + 20) * 3600 + two(line, s + 23) * 60);
  }
  return Date.UTC(year, two(line, s + 5) - 1, two(line, s + 8), two(line, s + 11), two(line, s + 14), two(line, s + 17)) / 1000 - off;
}

/** First index of lowercase `word` in [s, e), case-insensitive (nginx's ngx_strlcasestrn), or -1. */
function indexCI(line: string, s: number, e: number, word: string): number {
  const w0 = word.charCodeAt(0), n = word.length;
  for (let i = s; i + n <= e; i++) {
    if ((line.charCodeAt(i) | 0x20) !== w0) continue;
    let k = 1;
    while (k < n && (line.charCodeAt(i + k) | 0x20) === word.charCodeAt(k)) k++;
    if (k === n) return i;
  }
  return -1;
}

/**
 * Cache-Control in [s, e), as nginx 1.22 reads an upstream's header (ngx_http_upstream_process_cache_control):
 * "no-cache", "no-store" or "private" anywhere -> 0 (not cached); else "s-maxage=" or, without it,
 * "max-age=": digits up to ',' ';' ' ' or the end; any other character or a value of 0 -> 0; otherwise
 * the TTL in seconds. -1 when neither appears (the header says nothing about the TTL).
 */
export function cacheControlTtl(line: string, s: number, e: number): number {
  if (indexCI(line, s, e, 'no-cache') >= 0 || indexCI(line, s, e, 'no-store') >= 0 || indexCI(line, s, e, 'private') >= 0) return 0;
  let p = indexCI(line, s, e, 's-maxage=');
  let off = 9;
  if (p < 0) { p = indexCI(line, s, e, 'max-age='); off = 8; }
  if (p < 0) return -1;
  let n = 0;
  for (let i = p + off; i < e; i++) {
    const c = line.charCodeAt(i);
    if (c === 44 || c === 59 || c === 32) break;
    if (c < 48 || c > 57) return 0;
    n = n * 10 + c - 48;
  }
  return n;
}

/** Undoes nginx's escaping of a value: \xHH (default) or JSON escapes (escape=json). */
export function unescapeValue(v: string, json: boolean): string {
  if (v.indexOf('\\') < 0) return v;
  if (json) {
    try { return JSON.parse(`"${v}"`) as string; } catch { return v; }
  }
  return v.replace(/\\x([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const UNC_METHOD = 'method', UNC_STATUS = 'status', UNC_BYPASS = 'bypass', UNC_CC = 'cache-control', UNC_EXPIRES = 'expires';

/** Streams one or more log files (oldest first) as requests; see the module comment for the rules. */
export class NginxSource implements TraceSource {
  readonly interner = new Interner();
  readonly stats = new LogStats();
  private readonly r = new Int32Array(ROLE_COUNT * 2);
  private readonly defaultTtl: number;
  private readonly strict: boolean;
  private readonly keyFrom: KeyFrom;
  private objSize = new Float64Array(1024);
  private objRtt = new Float32Array(1024);
  /** Body size of the object's last full (200) response, for logs without upstream sizes. */
  private objBody = new Float64Array(1024);
  private fileIndex = -1;
  private file = '';
  private lines: AsyncGenerator<string[]> | null = null;
  private pending: string[] = [];
  private pos = 0;
  private lineNo = 0;
  private parser: LineParser | null = null;
  private lastExpiresText = '';
  private lastExpires = NaN;

  constructor(readonly name: string, private readonly files: string[], private readonly pick: ParserPicker, opts: LogReadOptions = {}) {
    this.defaultTtl = opts.defaultTtl ?? Infinity;
    this.strict = opts.strict ?? false;
    this.keyFrom = opts.keyFrom ?? 'auto';
  }

  async read(b: RequestBatch): Promise<number> {
    let n = 0;
    const cap = b.capacity;
    while (n < cap) {
      if (this.pos >= this.pending.length) {
        if (!this.lines) {
          if (++this.fileIndex >= this.files.length) break;
          this.file = this.files[this.fileIndex]!;
          this.lines = readLines(this.file);
          this.lineNo = 0;
          this.parser = null;
        }
        const next = await this.lines.next();
        if (next.done) { this.lines = null; continue; }
        this.pending = next.value;
        this.pos = 0;
        continue;
      }
      let line = this.pending[this.pos++]!;
      this.lineNo++;
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      if (line.length === 0) continue;
      this.stats.lines++;
      if (this.parser === null) this.parser = this.pick(line, this.file);
      const why = this.parser.parse(line, this.r) ?? this.fill(line, b, n);
      if (why === null) n++;
      else this.bad(why);
    }
    return n;
  }

  private bad(reason: string): void {
    const where = `${this.file}:${this.lineNo}`;
    if (this.strict) throw new ColdrlError('COLDRL_ERR_BAD_LINE', `${where}: ${reason} (--strict)`);
    this.stats.skip(reason, where);
  }

  private slice(line: string, role: number): string {
    const r = this.r;
    return unescapeValue(line.slice(r[2 * role]!, r[2 * role + 1]!), this.parser!.jsonEscapes);
  }

  private has(line: string, role: number): boolean { return present(line, this.r[2 * role]!, this.r[2 * role + 1]!); }

  /** The cache key, or null when the parts --key-from asks for are not logged. */
  private key(line: string, uriS: number, uriE: number): string | null {
    const k = this.keyFrom;
    if (k === 'auto' || k === 'key') {
      if (this.has(line, R_KEY)) return this.slice(line, R_KEY);
      if (k === 'key') return null;
    }
    if (uriS < 0) return null;
    const uri = unescapeValue(line.slice(uriS, uriE), this.parser!.jsonEscapes);
    if (k === 'uri') return uri;
    const host = this.has(line, R_HOST) ? this.slice(line, R_HOST) : null;
    if (k !== 'auto' && host === null) return null;
    const scheme = this.has(line, R_SCHEME) ? this.slice(line, R_SCHEME) : null;
    if (k === 'scheme-host-uri' && scheme === null) return null;
    if (k === 'host-uri') return host + uri;
    return (scheme ?? '') + (host ?? '') + uri;
  }

  /** Turns the parsed ranges of `line` into request n of b; returns null, or why the line is bad. */
  private fill(line: string, b: RequestBatch, n: number): string | null {
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
      const sp1 = line.indexOf(' ', rs);
      if (sp1 < 0 || sp1 >= re) return 'malformed $request';
      let sp2 = line.lastIndexOf(' ', re - 1);
      if (sp2 <= sp1) sp2 = re;
      if (mS < 0) { mS = rs; mE = sp1; }
      if (uS < 0) { uS = sp1 + 1; uE = sp2; }
    }
    if (!present(line, uS, uE)) uS = uE = -1;
    const status = parseUint(line, r[2 * R_STATUS]!, r[2 * R_STATUS + 1]!);
    if (status < 100 || status > 999) return r[2 * R_STATUS]! < 0 ? 'no $status' : 'bad $status';
    const key = this.key(line, uS, uE);
    if (key === null) return this.keyFrom === 'auto' ? 'no cache key or uri' : `no value for --key-from ${this.keyFrom}`;
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
    const id = this.interner.intern(key, size > 0 ? size : Math.max(1, fallback));
    if (id >= this.objSize.length) this.growObjects(id + 1);
    if (size > 0) this.objSize[id] = size;
    else if (this.objSize[id]! > 0) size = this.objSize[id]!;
    else if (status === 200 && fallback > 0 && r[2 * R_BODY]! >= 0) { size = fallback; this.objBody[id] = fallback; }
    else size = this.objBody[id]! > 0 ? this.objBody[id]! : Math.max(1, fallback);
    if (rtt >= 0) this.objRtt[id] = rtt;
    else rtt = this.objRtt[id]!;
    // Cacheability and TTL.
    let why: string | null = null;
    let ttl = this.defaultTtl;
    const m0 = mS >= 0 ? line.charCodeAt(mS) : 0;
    const isGet = mE - mS === 3 && m0 === 71 && line.charCodeAt(mS + 1) === 69 && line.charCodeAt(mS + 2) === 84;
    const isHead = mE - mS === 4 && m0 === 72 && line.startsWith('HEAD', mS);
    if (!isGet && !isHead) why = UNC_METHOD;
    else if (status !== 200 && status !== 301 && status !== 302) why = UNC_STATUS;
    else if (r[2 * R_CACHE + 1]! - r[2 * R_CACHE]! === 6 && line.startsWith('BYPASS', r[2 * R_CACHE]!)) why = UNC_BYPASS;
    else {
      let cs = r[2 * R_UP_CC]!, ce = r[2 * R_UP_CC + 1]!;
      if (!present(line, cs, ce)) { cs = r[2 * R_CC]!; ce = r[2 * R_CC + 1]!; }
      const cc = present(line, cs, ce) ? cacheControlTtl(line, cs, ce) : -1;
      if (cc === 0) why = UNC_CC;
      else if (cc > 0) ttl = cc;
      else {
        const ex = this.expires(line, time);
        if (ex === 0) why = UNC_EXPIRES;
        else if (ex > 0) ttl = ex;
      }
    }
    b.time[n] = time;
    b.id[n] = id;
    b.size[n] = size;
    b.rtt[n] = rtt;
    if (why === null) {
      b.ttl[n] = ttl;
      b.flags[n] = 0;
    } else {
      b.ttl[n] = 0;
      b.flags[n] = FLAG_UNCACHEABLE;
      this.stats.uncacheable++;
      this.stats.uncacheableBy[why] = (this.stats.uncacheableBy[why] ?? 0) + 1;
    }
    this.stats.requests++;
    return null;
  }

  /** TTL from Expires relative to the line's time: seconds > 0, 0 = already expired or invalid, -1 = none. */
  private expires(line: string, time: number): number {
    const r = this.r;
    let s = r[2 * R_UP_EXPIRES]!, e = r[2 * R_UP_EXPIRES + 1]!;
    if (!present(line, s, e)) { s = r[2 * R_EXPIRES]!; e = r[2 * R_EXPIRES + 1]!; }
    if (!present(line, s, e)) return -1;
    if (!(e - s === this.lastExpiresText.length && line.startsWith(this.lastExpiresText, s))) {
      this.lastExpiresText = line.slice(s, e);
      this.lastExpires = Date.parse(this.lastExpiresText) / 1000;
    }
    const t = this.lastExpires - time;
    return t > 0 ? t : 0;
  }

  private growObjects(n: number): void {
    let c = this.objSize.length;
    while (c < n) c *= 2;
    const s = new Float64Array(c); s.set(this.objSize); this.objSize = s;
    const t = new Float32Array(c); t.set(this.objRtt); this.objRtt = t;
    const u = new Float64Array(c); u.set(this.objBody); this.objBody = u;
  }

  close(): void {
    if (this.lines) void this.lines.return(undefined);
    this.lines = null;
    this.fileIndex = this.files.length;
  }
}
