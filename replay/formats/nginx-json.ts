/**
 * JSON-lines access logs (log_format ... escape=json), such as the `cachetrain` format of
 * nginx/cachetrain.conf. A byte-level scanner instead of JSON.parse per line: it walks one flat object,
 * records where each value lies, and copies nothing but the cache key. Field names map to roles by the
 * cachetrain names (ts, key, method, status, cache, body_bytes, up_len, up_rt, ...) or by the nginx variable
 * names (msec, request_uri, upstream_response_time, ...); other fields are skipped. Every line of a log has
 * the same fields in the same order, so the scanner remembers the previous line's field names and checks
 * them in place (startsWith) before falling back to reading the name. Nested objects and arrays are bad lines.
 */
import { matchAt } from './nginx-format.js';
import { escapedAt, R_BODY, R_CACHE, R_CC, R_CLEN, R_EXPIRES, R_KEY, R_METHOD, R_MSEC, R_UP_CC, R_UP_EXPIRES, R_UP_HT, R_UP_LEN, R_UP_RT, R_URI, ROLE_COUNT, VARIABLE_ROLES, type LineParser } from './nginx-source.js';

/** JSON field name -> role: the cachetrain names and the nginx variable names. */
export const JSON_FIELD_ROLES: Record<string, number> = {
  ...VARIABLE_ROLES,
  ts: R_MSEC, key: R_KEY, cache_key: R_KEY, method: R_METHOD, cache: R_CACHE, body_bytes: R_BODY,
  up_len: R_UP_LEN, up_rt: R_UP_RT, up_ht: R_UP_HT, up_cc: R_UP_CC, up_expires: R_UP_EXPIRES, cc: R_CC,
  expires: R_EXPIRES, clen: R_CLEN, request_uri: R_URI,
};

const BAD = 'malformed JSON line';

export class JsonLineParser implements LineParser {
  readonly jsonEscapes = true;
  /** The previous line's fields: the bytes of `"name":` and its role. */
  private shape: Buffer[] = [];
  private shapeRoles: number[] = [];

  parse(line: Buffer, s: number, e: number, r: Int32Array): string | null {
    r.fill(-1, 0, ROLE_COUNT * 2);
    let i = s;
    while (i < e && (line[i] === 32 || line[i] === 9)) i++;
    if (line[i] !== 123) return BAD;
    i++;
    while (i < e && (line[i] === 32 || line[i] === 9)) i++;
    if (line[i] === 125) return this.end(line, i + 1, e, 0);
    const shape = this.shape;
    for (let k = 0; ; k++) {
      if (i >= e || line[i] !== 34) return BAD;
      let role: number;
      const expect = shape[k];
      if (expect !== undefined && matchAt(line, i, e, expect)) {
        role = this.shapeRoles[k]!;
        i += expect.length;
      } else {
        const ks = i;
        let ke = i + 1;
        while (ke < e && line[ke] !== 34) ke++;
        if (ke >= e) return BAD;
        const name = line.toString('utf8', i + 1, ke);
        i = ke + 1;
        while (i < e && (line[i] === 32 || line[i] === 9)) i++;
        if (line[i] !== 58) return BAD;
        i++;
        role = JSON_FIELD_ROLES[name] ?? -1;
        shape[k] = Buffer.from(line.subarray(ks, i));
        this.shapeRoles[k] = role;
      }
      while (i < e && (line[i] === 32 || line[i] === 9)) i++;
      const c = line[i];
      let vs: number, ve: number;
      if (c === 34) {
        vs = i + 1;
        let q = vs;
        while (q < e && (line[q] !== 34 || escapedAt(line, q))) q++;
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
      while (i < e && (line[i] === 32 || line[i] === 9)) i++;
      const sep = line[i];
      if (sep === 44) {
        i++;
        while (i < e && (line[i] === 32 || line[i] === 9)) i++;
        continue;
      }
      if (sep === 125) return this.end(line, i + 1, e, k + 1);
      return BAD;
    }
  }

  /** After the closing brace: only blanks may follow. Forgets remembered fields beyond this line's. */
  private end(line: Buffer, i: number, e: number, fields: number): string | null {
    if (this.shape.length > fields) this.shape.length = fields;
    while (i < e && (line[i] === 32 || line[i] === 9)) i++;
    return i === e ? null : BAD;
  }
}
