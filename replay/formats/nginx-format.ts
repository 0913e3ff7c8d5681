/**
 * NGINX `log_format` strings compiled once into a line parser (no regular expression per line): the format
 * is split into literals and variables; a line is walked left to right, each value ending where the next
 * literal starts (indexOf, native and allocation-free). nginx escapes `"` in values (\x22 by default, \" with
 * escape=json), so a quoted value never contains its closing literal; with escape=json a quote preceded by
 * an odd number of backslashes is skipped. Adjacent variables ($scheme$proxy_host$request_uri) form one
 * value, read as the cache key when they include $request_uri or $uri. Variables the reader does not use are
 * skipped. A line must match the whole format (its last literal ends the line). The upstream variables that
 * log one entry per upstream tried ("0, 5000", "0.010 : 0.004": UPSTREAM_LISTS) hold spaces: an unquoted one
 * followed by a space does not end at a space that belongs to a ", " or " : " separator.
 *
 * Built in: `combined` (NGINX's default) and `cachetrain_text` (combined plus the cache fields, the text
 * twin of nginx/cachetrain.conf's JSON format; `coldrl workload --format nginx-combined` writes it; its
 * shorter form before 2026-11-29 is `cachetrain_text_v1`, still detected).
 * `--nginx-conf FILE --log-format-name NAME` reads a log_format directive (several quoted strings,
 * escape=...) from a config file.
 */
import { ColdrlError } from '../errors.js';
import { keyExpression, readConf } from '../nginx-conf.js';
import { escapedAt, R_KEY, ROLE_COUNT, VARIABLE_ROLES, type LineParser } from './nginx-source.js';

export const COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
/** cachetrain_text as it was before 2026-11-29, without the headers that keep a response out: still read. */
export const CACHETRAIN_TEXT_V1 = `${COMBINED} $msec "$upstream_cache_status" $upstream_response_length $upstream_response_time "$upstream_http_cache_control" "$upstream_http_expires"`;
/**
 * combined + the fields a simulator needs: time in ms, the upstream's size, RTT and status, and the headers
 * NGINX reads to cache a response (TTL, X-Accel-Expires, whether there was a Set-Cookie, Vary).
 */
export const CACHETRAIN_TEXT = `${CACHETRAIN_TEXT_V1} $upstream_status "$upstream_http_x_accel_expires" "$coldrl_set_cookie" "$upstream_http_vary"`;

/** The JSON log format of ../shared/reference/nginx-cache-internals.md (also nginx/cachetrain.conf). */
export const CACHETRAIN_JSON = '{"ts":$msec,"key":"$scheme$proxy_host$request_uri",' +
  '"method":"$request_method","status":$status,"cache":"$upstream_cache_status",' +
  '"bytes_sent":$bytes_sent,"body_bytes":$body_bytes_sent,"up_status":"$upstream_status",' +
  '"up_len":"$upstream_response_length","up_ct":"$upstream_connect_time",' +
  '"up_ht":"$upstream_header_time","up_rt":"$upstream_response_time","req_time":$request_time,' +
  '"up_cc":"$upstream_http_cache_control","up_expires":"$upstream_http_expires",' +
  '"up_xae":"$upstream_http_x_accel_expires","up_cookie":"$coldrl_set_cookie","up_vary":"$upstream_http_vary",' +
  '"cc":"$sent_http_cache_control","expires":"$sent_http_expires",' +
  '"last_mod":"$sent_http_last_modified","clen":"$sent_http_content_length"}';

export const BUILTIN_FORMATS: Record<string, string> = { combined: COMBINED, cachetrain_text: CACHETRAIN_TEXT, cachetrain_text_v1: CACHETRAIN_TEXT_V1, cachetrain: CACHETRAIN_JSON };

export type Escape = 'default' | 'json' | 'none';

/** Variables nginx logs as a list, one entry per upstream tried, joined by ", " (and " : " across an internal redirect). */
const UPSTREAM_LISTS = new Set(['upstream_addr', 'upstream_status', 'upstream_response_length', 'upstream_response_time',
  'upstream_connect_time', 'upstream_header_time', 'upstream_queue_time', 'upstream_bytes_received', 'upstream_bytes_sent']);

/** True when the space at `i` belongs to an upstream list's separator (", " or " : ") rather than ending the value. */
function inListSeparator(line: Buffer, i: number, e: number): boolean {
  const before = i > 0 ? line[i - 1] : -1;
  return before === 44 || before === 58 || (i + 2 < e && line[i + 1] === 58 && line[i + 2] === 32);
}

/** A compiled log_format. */
export class LogFormatParser implements LineParser {
  readonly jsonEscapes: boolean;
  /** Literal before the first value ('' when the format starts with a variable). */
  private readonly head: Buffer;
  /** Per value: its role (-1 = unused) and the literal that follows it ('' = runs to the end of the line). */
  private readonly roles: Int32Array;
  private readonly after: Buffer[];
  /** Per value: 1 when it is an upstream list followed by a literal that starts with a space. */
  private readonly lists: Uint8Array;
  /** Roles this format can fill (the others are reset to -1 once per line). */
  readonly logged: Set<number>;

  constructor(readonly format: string, escape: Escape = 'default') {
    this.jsonEscapes = escape === 'json';
    const parts: (string | string[])[] = [];
    let lit = '';
    let vars: string[] | null = null;
    for (let i = 0; i < format.length;) {
      const c = format[i]!;
      if (c === '$') {
        let name: string;
        let j: number;
        if (format[i + 1] === '{') {
          j = format.indexOf('}', i + 2);
          if (j < 0) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `log_format: unclosed \${ in "${format}"`);
          name = format.slice(i + 2, j);
          j++;
        } else {
          j = i + 1;
          while (j < format.length && /[A-Za-z0-9_]/.test(format[j]!)) j++;
          name = format.slice(i + 1, j);
        }
        if (!name) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `log_format: "$" without a variable name in "${format}"`);
        if (lit || !vars) { parts.push(lit); lit = ''; vars = []; parts.push(vars); }
        vars.push(name.toLowerCase());
        i = j;
      } else {
        lit += c;
        vars = null;
        i++;
      }
    }
    parts.push(lit);
    // parts = [literal, vars, literal, vars, ..., literal]
    this.head = Buffer.from(parts[0] as string);
    const n = (parts.length - 1) / 2;
    this.roles = new Int32Array(n);
    this.lists = new Uint8Array(n);
    this.after = [];
    this.logged = new Set();
    for (let k = 0; k < n; k++) {
      const v = parts[1 + 2 * k] as string[];
      const next = parts[2 + 2 * k] as string;
      if (k < n - 1 && next === '') throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', 'log_format: internal error');
      let role = -1;
      if (v.length === 1) role = VARIABLE_ROLES[v[0]!] ?? -1;
      else if (v.includes('request_uri') || v.includes('uri')) role = R_KEY;
      if (role >= 0 && this.logged.has(role)) role = -1;
      if (role >= 0) this.logged.add(role);
      this.roles[k] = role;
      this.lists[k] = v.length === 1 && UPSTREAM_LISTS.has(v[0]!) && next.startsWith(' ') ? 1 : 0;
      this.after.push(Buffer.from(next));
    }
    if (n === 0) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `log_format "${format}" has no variables`);
  }

  parse(line: Buffer, s: number, e: number, r: Int32Array): string | null {
    r.fill(-1, 0, ROLE_COUNT * 2);
    const head = this.head;
    if (!matchAt(line, s, e, head)) return MISMATCH;
    let pos = s + head.length;
    const roles = this.roles, after = this.after, lists = this.lists, n = roles.length, json = this.jsonEscapes;
    for (let k = 0; k < n; k++) {
      const lit = after[k]!;
      let end: number;
      if (lit.length === 0) end = e;
      else {
        end = find(line, pos, e, lit);
        if (json && lit[0] === 34) while (end > 0 && escapedAt(line, end)) end = find(line, end + 1, e, lit);
        if (lists[k]) while (end > 0 && inListSeparator(line, end, e)) end = find(line, end + 1, e, lit);
        if (end < 0) return MISMATCH;
      }
      const role = roles[k]!;
      if (role >= 0) { r[2 * role] = pos; r[2 * role + 1] = end; }
      pos = end + lit.length;
    }
    return pos === e ? null : MISMATCH;
  }
}

const MISMATCH = 'line does not match log_format';

/** True when `lit` lies at line[i..] within [.., e). */
export function matchAt(line: Buffer, i: number, e: number, lit: Uint8Array): boolean {
  const n = lit.length;
  if (i + n > e) return false;
  for (let k = 0; k < n; k++) if (line[i + k] !== lit[k]) return false;
  return true;
}

/** First index >= pos where `lit` starts and fits before e, or -1 (a byte loop: values are short). */
function find(line: Buffer, pos: number, e: number, lit: Uint8Array): number {
  const l0 = lit[0]!, last = e - lit.length;
  for (let i = pos; i <= last; i++) if (line[i] === l0 && matchAt(line, i, e, lit)) return i;
  return -1;
}

/** The log_format NAME directive of an nginx config: its format string and escape mode. */
export function logFormatFromConf(confPath: string, name: string): { format: string; escape: Escape } {
  const toks = readConf(confPath);
  const found: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    if (toks[i]!.quoted || toks[i]!.t !== 'log_format') continue;
    let j = i + 1;
    const fname = toks[j++]?.t ?? '';
    found.push(fname);
    let escape: Escape = 'default';
    if (toks[j] && !toks[j]!.quoted && toks[j]!.t.startsWith('escape=')) {
      const e = toks[j++]!.t.slice(7);
      if (e !== 'default' && e !== 'json' && e !== 'none') throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${confPath}: log_format ${fname}: unknown escape=${e}`);
      escape = e;
    }
    let format = '';
    while (j < toks.length && toks[j]!.t !== ';') format += toks[j++]!.t;
    if (fname === name) return { format, escape };
  }
  throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${confPath}: no log_format named "${name}"${found.length ? ` (found: ${found.join(', ')})` : ''}`);
}

/**
 * The log_format the config's access_log directives write with, when they all name one format the
 * config defines (includes followed); null when they name none (nginx's combined, which the readers
 * detect), several, or a format the config does not define.
 */
export function accessLogFormatName(confPath: string): string | null {
  const toks = readConf(confPath);
  const defined = new Set<string>();
  const used = new Set<string>();
  for (let i = 0; i < toks.length; i++) {
    if (toks[i]!.quoted) continue;
    if (toks[i]!.t === 'log_format' && toks[i + 1]) defined.add(toks[i + 1]!.t);
    if (toks[i]!.t !== 'access_log') continue;
    const args: string[] = [];
    for (let j = i + 1; j < toks.length && toks[j]!.t !== ';'; j++) args.push(toks[j]!.t);
    if (args[0] === 'off') continue;
    used.add(args[1] !== undefined && !args[1].includes('=') ? args[1] : 'combined');
  }
  const [only] = used;
  return used.size === 1 && defined.has(only!) ? only! : null;
}

/**
 * The cache key a log_format logs, as a key expression (nginx-conf.ts keyExpression): a JSON format's
 * `key` or `cache_key` field, or a text format's run of adjacent variables with $request_uri or $uri (the
 * value the parser reads as the key); null when it logs none (the reader then keys by the URI, --key-from).
 */
export function loggedKey(format: string): string | null {
  const json = /"(?:key|cache_key)"\s*:\s*"([^"]*)"/.exec(format);
  if (json) return keyExpression(json[1]!);
  for (const m of format.matchAll(/(?:\$(?:\{[A-Za-z0-9_]+\}|[A-Za-z0-9_]+)){2,}/g)) {
    const k = keyExpression(m[0]);
    if (/\$(?:request_uri|uri)(?![a-z0-9_])/.test(k)) return k;
  }
  return null;
}

/** A log_format given by name (built in), or as the format string itself. */
export function resolveLogFormat(text: string): string {
  return BUILTIN_FORMATS[text] ?? text;
}
