/**
 * JSON-lines access logs (log_format ... escape=json), such as the `cachetrain` format of
 * nginx/cachetrain.conf. A byte-level scanner instead of JSON.parse per line: it walks one flat object,
 * records where each value lies, and copies nothing but the cache key. Field names map to roles by the
 * cachetrain names (ts, key, method, status, cache, body_bytes, up_len, up_rt, ...) or by the nginx variable
 * names (msec, request_uri, upstream_response_time, ...); other fields are skipped. Every line of a log has
 * the same fields in the same order, so the scanner remembers the previous line's field names and checks
 * them in place (startsWith) before falling back to reading the name. Nested objects and arrays are bad lines.
 */
import { escapedAt, R_BODY, R_CACHE, R_CC, R_CLEN, R_EXPIRES, R_KEY, R_METHOD, R_MSEC, R_UP_CC, R_UP_EXPIRES, R_UP_HT, R_UP_LEN, R_UP_RT, R_URI, ROLE_COUNT, VARIABLE_ROLES, type LineParser } from './nginx-source.js';

/** JSON field name -> role: the cachetrain names and the nginx variable names. */
export const JSON_FIELD_ROLES: Record<string, number> = {
  ...VARIABLE_ROLES,
  ts: R_MSEC, key: R_KEY, cache_key: R_KEY, method: R_METHOD, cache: R_CACHE, body_bytes: R_BODY,
  up_len: R_UP_LEN, up_rt: R_UP_RT, up_ht: R_UP_HT, up_cc: R_UP_CC, up_expires: R_UP_EXPIRES, cc: R_CC,
  expires: R_EXPIRES, clen: R_CLEN, request_uri: R_URI,
};

const BAD = 'malformed JSON line';

function ws(line: string, i: number): number {
  let c = line.charCodeAt(i);
  while (c === 32 || c === 9) c = line.charCodeAt(++i);
  return i;
}

export class JsonLineParser implements LineParser {
  readonly jsonEscapes = true;
  /** The previous line's fields: `"name":` and its role. */
  private shape: string[] = [];
  private shapeRoles: number[] = [];

  parse(line: string, r: Int32Array): string | null {
    r.fill(-1, 0, ROLE_COUNT * 2);
    let i = ws(line, 0);
    if (line.charCodeAt(i) !== 123) return BAD;
    i = ws(line, i + 1);
    if (line.charCodeAt(i) === 125) return ws(line, i + 1) === line.length ? null : BAD;
    const shape = this.shape;
    for (let k = 0; ; k++) {
      if (line.charCodeAt(i) !== 34) return BAD;
      let role: number;
      const expect = shape[k];
      if (expect !== undefined && line.startsWith(expect, i)) {
        role = this.shapeRoles[k]!;
        i += expect.length;
      } else {
        const ke = line.indexOf('"', i + 1);
        if (ke < 0) return BAD;
        const name = line.slice(i + 1, ke);
        i = ws(line, ke + 1);
        if (line.charCodeAt(i) !== 58) return BAD;
        i++;
        role = JSON_FIELD_ROLES[name] ?? -1;
        shape[k] = `"${name}":`;
        this.shapeRoles[k] = role;
      }
      i = ws(line, i);
      const c = line.charCodeAt(i);
      let vs: number, ve: number;
      if (c === 34) {
        vs = i + 1;
        let q = line.indexOf('"', vs);
        while (q > 0 && escapedAt(line, q)) q = line.indexOf('"', q + 1);
        if (q < 0) return BAD;
        ve = q;
        i = q + 1;
      } else if (c === 123 || c === 91) {
        return 'nested JSON value';
      } else {
        vs = i;
        let d = c;
        while (i < line.length && d !== 44 && d !== 125 && d !== 32 && d !== 9) d = line.charCodeAt(++i);
        ve = i;
        if (ve === vs) return BAD;
      }
      if (role >= 0 && r[2 * role]! < 0) { r[2 * role] = vs; r[2 * role + 1] = ve; }
      i = ws(line, i);
      const sep = line.charCodeAt(i);
      if (sep === 44) { i = ws(line, i + 1); continue; }
      if (sep === 125) {
        if (shape.length > k + 1) shape.length = k + 1;
        return ws(line, i + 1) === line.length ? null : BAD;
      }
      return BAD;
    }
  }
}
