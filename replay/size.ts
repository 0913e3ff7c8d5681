import { ColdrlError } from './errors.js';

/**
 * Parses a cache size the way nginx writes max_size, plus percentages of a trace's unique bytes.
 *   "25m", "1g", "512k" -> powers of 1024 (case-insensitive; an optional trailing "b"/"ib" is allowed: 25MiB)
 *   "1048576"           -> plain bytes
 *   "1%", "0.5%"        -> floor(uniqueBytes * p / 100), unique bytes summed over first-seen sizes
 * Returns bytes as a number (exact up to 2^53).
 */
export interface CacheSizeSpec {
  /** The text as the user wrote it. */
  text: string;
  /** Absolute bytes, or NaN when relative. */
  bytes: number;
  /** Fraction of unique bytes (0.01 for "1%"), or NaN when absolute. */
  fraction: number;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseCacheSize(text: string): CacheSizeSpec {
  const t = text.trim().toLowerCase();
  let m = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (m) {
    const pct = Number(m[1]);
    if (!(pct > 0) || pct > 100) throw new ColdrlError('COLDRL_ERR_BAD_CACHE_SIZE', `cache size ${text}: a percentage must be in (0, 100]`);
    return { text, bytes: NaN, fraction: pct / 100 };
  }
  m = /^(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?$/.exec(t);
  if (!m) throw new ColdrlError('COLDRL_ERR_BAD_CACHE_SIZE', `cannot parse cache size "${text}" (examples: 25m, 1g, 1048576, 1%)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!]!);
  if (!(bytes > 0)) throw new ColdrlError('COLDRL_ERR_BAD_CACHE_SIZE', `cache size ${text} must be positive`);
  return { text, bytes, fraction: NaN };
}

/** Resolves a spec against a trace's unique bytes (needed only for percentages). */
export function resolveCacheSize(spec: CacheSizeSpec, uniqueBytes: number): number {
  if (!Number.isNaN(spec.bytes)) return spec.bytes;
  const bytes = Math.floor(uniqueBytes * spec.fraction);
  if (!(bytes > 0)) throw new ColdrlError('COLDRL_ERR_BAD_CACHE_SIZE', `cache size ${spec.text} of ${uniqueBytes} unique bytes is zero`);
  return bytes;
}

const SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 30 * 86400, y: 365 * 86400 };

/**
 * Parses a time the way nginx writes it in its configuration (proxy_cache_path inactive=10m): plain
 * seconds ("600", "0.5"), or number-unit parts with ms, s, m, h, d, w, M (30 days) and y (365 days) summed
 * ("1h30m", "1h 30m", "1y"), as ngx_parse_time reads them. Returns seconds. `what` names the option in the error.
 */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  let total = 0;
  if (/^\d+(?:\.\d+)?$/.test(t)) total = Number(t);
  else {
    const part = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|M|y)\s*/gy;
    let end = 0;
    for (let m = part.exec(t); m; m = part.exec(t)) { total += Number(m[1]) * SECONDS[m[2]!]!; end = part.lastIndex; }
    if (t === '' || end !== t.length) throw new ColdrlError('COLDRL_ERR_USAGE', `${what}: cannot parse the time "${text}" (examples: 600, 10m, 1h30m, 7d)`);
  }
  return total;
}

/** Human form: 25 MiB, 1.2 GiB, 512 B. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}
