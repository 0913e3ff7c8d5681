/**
 * JSON-lines access logs (log_format ... escape=json), such as the `cachetrain` format of
 * nginx/cachetrain.conf. A byte-level scanner instead of JSON.parse per line: it walks one flat object,
 * records where each value lies, and copies nothing but the cache key. Field names map to roles by the
 * cachetrain names (ts, key, method, status, cache, body_bytes, up_len, up_rt, ...) or by the nginx variable
 * names (msec, request_uri, upstream_response_time, ...); other fields are skipped. Every line of a log has
 * the same fields in the same order, so the scanner remembers the previous line's field names and checks
 * them in place (startsWith) before falling back to reading the name. Nested objects and arrays are bad lines.
 */
import { escapedAt, R_BODY, R_CACHE, R_CC, R_CLEN, R_EXPIRES, R_KEY, R_METHOD, R_MSEC, R_UP_CC, R_UP_EXPIRES, R_UP_COOKIE, R_UP_HT, R_UP_LEN, R_UP_RT, R_UP_STATUS, R_UP_VARY, R_UP_XAE, R_URI, ROLE_COUNT, VARIABLE_ROLES, type LineParser } from './nginx-source.js';

/** JSON field name -> role: the cachetrain names and the nginx variable names. */
export const JSON_FIELD_ROLES: Record<string, number> = {
  ...VARIABLE_ROLES,
  ts: R_MSEC, key: R_KEY, cache_key: R_KEY, method: R_METHOD, cache: R_CACHE, body_bytes: R_BODY,
  up_len: R_UP_LEN, up_rt: R_UP_RT, up_ht: R_UP_HT, up_cc: R_UP_CC, up_expires: R_UP_EXPIRES, cc: R_CC,
  expires: R_EXPIRES, clen: R_CLEN, request_uri: R_URI, up_xae: R_UP_XAE,
  up_cookie: R_UP_COOKIE, up_vary: R_UP_VARY, up_status: R_UP_STATUS,
};

const BAD = 'malformed JSON line';
/** Ints per field in the fast path's plan: [`"name":` length, its bytes 1, length-3 and length/2, role, quoted]. */
const PLAN = 6;

/**
 * Whether the field name at line[i..] is the remembered `"name":` (quote, colon and the name's first,
 * middle and last bytes): every line of one log_format has the same names in the same order, so this
 * cheap check tells a line of the remembered shape from a different one; a miss reads the name in full.
 */
function sameKey(line: Buffer, i: number, e: number, k: Uint8Array): boolean {
  const n = k.length;
  return i + n <= e && line[i + n - 1] === 58 && line[i + n - 2] === 34 && line[i + 1] === k[1] &&
    line[i + n - 3] === k[n - 3] && line[i + (n >> 1)] === k[n >> 1];
}

export class JsonLineParser implements LineParser {
  readonly jsonEscapes = true;
  /** The previous line's fields: the bytes of `"name":` and its role. */
  private shape: Buffer[] = [];
  private shapeRoles: number[] = [];
  private shapeQuoted: boolean[] = [];
  /** Whether the last line read by the general path had blanks between tokens. */
  private blanks = false;
  /**
   * The fast path's plan: the last general line's fields when it had no blanks (nginx writes none), PLAN
   * ints per field (the `"name":` length, the bytes sameKey checks, role, quoted) in one flat array.
   */
  private plan: Int32Array | null = null;
  /** r holds values of a line read by the general path: clear it before the fast path writes its roles. */
  private dirty = true;

  parse(line: Buffer, s: number, e: number, r: Int32Array): string | null {
    if (this.plan !== null && this.fast(line, s, e, r)) return null;
    this.dirty = true;
    const why = this.general(line, s, e, r);
    if (why === null && !this.blanks) this.makePlan();
    return why;
  }

  /**
   * A line of exactly the planned fields, values quoted as planned, no blanks: no whitespace skipping, no
   * type dispatch. False (and r in any state) when the line deviates; the general path then reads it.
   */
  private fast(line: Buffer, s: number, e: number, r: Int32Array): boolean {
    const p = this.plan!;
    if (this.dirty) { r.fill(-1, 0, ROLE_COUNT * 2); this.dirty = false; }
    if (line[s] !== 123) return false;
    let i = s + 1;
    const end = p.length - PLAN;
    for (let f = 0; f <= end; f += PLAN) {
      // sameKey(line, i, e, key), from the plan's ints.
      const n = p[f]!;
      if (i + n > e || line[i + n - 1] !== 58 || line[i + n - 2] !== 34 || line[i + 1] !== p[f + 1] ||
        line[i + n - 3] !== p[f + 2] || line[i + (n >> 1)] !== p[f + 3]) return false;
      i += n;
      let vs: number, ve: number;
      if (p[f + 5] === 1) {
        if (line[i] !== 34) return false;
        vs = ++i;
        while (i < e && (line[i] !== 34 || (line[i - 1] === 92 && escapedAt(line, i)))) i++;
        if (i >= e) return false;
        ve = i++;
      } else {
        vs = i;
        let d = line[i];
        while (i < e && d !== 44 && d !== 125) d = line[++i];
        ve = i;
        if (ve === vs) return false;
      }
      const role = p[f + 4]!;
      if (role >= 0) { r[2 * role] = vs; r[2 * role + 1] = ve; }
      if (line[i] !== (f === end ? 125 : 44)) return false;
      i++;
    }
    return i === e;
  }

  private makePlan(): void {
    const n = this.shape.length;
    const plan = new Int32Array(n * PLAN), seen = new Set<number>();
    for (let k = 0; k < n; k++) {
      const key = this.shape[k]!, m = key.length, role = this.shapeRoles[k]!, f = k * PLAN;
      plan[f] = m;
      plan[f + 1] = key[1]!;
      plan[f + 2] = key[m - 3]!;
      plan[f + 3] = key[m >> 1]!;
      plan[f + 4] = role >= 0 && !seen.has(role) ? role : -1;
      plan[f + 5] = this.shapeQuoted[k] ? 1 : 0;
      seen.add(role);
    }
    this.plan = n > 0 ? plan : null;
  }

  /** Skips blanks, noting that the line has some. */
  private skip(line: Buffer, i: number, e: number): number {
    const i0 = i;
    while (i < e && (line[i] === 32 || line[i] === 9)) i++;
    if (i !== i0) this.blanks = true;
    return i;
  }

  private general(line: Buffer, s: number, e: number, r: Int32Array): string | null {
    r.fill(-1, 0, ROLE_COUNT * 2);
    this.blanks = false;
    let i = s;
    i = this.skip(line, i, e);
    if (line[i] !== 123) return BAD;
    i++;
    i = this.skip(line, i, e);
    if (line[i] === 125) return this.end(line, i + 1, e, 0);
    const shape = this.shape;
    for (let k = 0; ; k++) {
      if (i >= e || line[i] !== 34) return BAD;
      let role: number;
      const expect = shape[k];
      if (expect !== undefined && sameKey(line, i, e, expect)) {
        role = this.shapeRoles[k]!;
        i += expect.length;
      } else {
        const ks = i;
        let ke = i + 1;
        while (ke < e && line[ke] !== 34) ke++;
        if (ke >= e) return BAD;
        const name = line.toString('utf8', i + 1, ke);
        i = ke + 1;
        i = this.skip(line, i, e);
        if (line[i] !== 58) return BAD;
        i++;
        role = JSON_FIELD_ROLES[name] ?? -1;
        shape[k] = Buffer.from(line.subarray(ks, i));
        this.shapeRoles[k] = role;
      }
      i = this.skip(line, i, e);
      const c = line[i];
      this.shapeQuoted[k] = c === 34;
      let vs: number, ve: number;
      if (c === 34) {
        vs = i + 1;
        let q = vs;
        while (q < e && (line[q] !== 34 || (line[q - 1] === 92 && escapedAt(line, q)))) q++;
        if (q >= e) return BAD;
        ve = q;
        i = q + 1;
      } else if (c === 123 || c === 91) {
        return 'nested JSON value';
      } else {
        vs = i;
        let d = c;
        while (i < e && d !== 44 && d !== 125 && d !== 32 && d !== 9) d = line[++i];
        ve = i;
        if (ve === vs) return BAD;
      }
      if (role >= 0 && r[2 * role]! < 0) { r[2 * role] = vs; r[2 * role + 1] = ve; }
      i = this.skip(line, i, e);
      const sep = line[i];
      if (sep === 44) {
        i++;
        i = this.skip(line, i, e);
        continue;
      }
      if (sep === 125) return this.end(line, i + 1, e, k + 1);
      return BAD;
    }
  }

  /** After the closing brace: only blanks may follow. Forgets remembered fields beyond this line's. */
  private end(line: Buffer, i: number, e: number, fields: number): string | null {
    if (this.shape.length > fields) this.shape.length = fields;
    i = this.skip(line, i, e);
    return i === e ? null : BAD;
  }
}
