/**
 * THE feature definition of coldrl: the one place that says what a candidate looks like to a policy.
 *
 * The simulator (replay/), the trainer (trainer/), the sidecar (sidecar/) and the NGINX module
 * (nginx/ngx_http_coldrl_module.c) must all produce the same float32 numbers for the same object state.
 * The C module copies this file's arithmetic; when either changes, FEATURE_SPEC_VERSION changes, and a
 * model whose metadata names another version is refused at load time.
 *
 * ## Object state (kept per resident object; units are exact)
 *   created   seconds   when the current copy was stored (insert, or refetch after expiry)
 *   last      seconds   time of the most recent request for the object (a hit, or the storing miss)
 *   prev      seconds   time of the request before `last` since it was stored; -1 when there was none
 *   hits      count     hits since the current copy was stored (0 right after storing)
 *   size      bytes     size of the stored copy
 *   expires   seconds   absolute time its TTL ends; +Infinity when the response had no TTL (plain traces)
 *   rtt       ms        origin response time of the miss that stored it (0 when unknown)
 *   requests  count     requests for the key over the whole history seen, including ones before an eviction
 *                       (the "lifetime" count; NGINX keeps it in the module's shared-memory side table)
 * `now` is the time of the request that triggered the eviction, in seconds.
 *
 * ## Features (float32, in this order). Every raw value v is first clamped below at 0, then
 *   f = min(1, log1p(v) / log1p(CAP))            (log1p = natural log of 1 + v)
 * so every feature lies in [0, 1], 0 meaning "none / just now / tiny".
 *   0 age            now - created                        seconds   CAP 604800 (7 days)
 *   1 size           size                                 bytes     CAP 1073741824 (1 GiB)
 *   2 hits           hits                                 count     CAP 1023 (NGINX's node->uses wraps at 1024)
 *   3 inter_arrival  last - prev if prev >= 0,            seconds   CAP 604800
 *                    else now - last (a lower bound of the first gap)
 *   4 ttl_left       expires - now (+Infinity -> CAP)     seconds   CAP 604800
 *   5 origin_rtt     rtt                                  ms        CAP 60000
 *   6 idle           now - last                           seconds   CAP 604800
 *   7 requests       requests                             count     CAP 1048575
 * 0-5 are the six features of the Cold-RL paper. 6 and 7 go beyond it (see docs/features.md): the LRU
 * order alone hides how long an object has been idle when candidates are not the LRU tail, and NGINX forgets
 * the hit count of an object it evicts, so a popular object that returns looks new without 7.
 * Infinite or NaN raw values: +Infinity -> 1, NaN -> 0.
 */

export const FEATURE_SPEC_VERSION = 1;

export const FEATURE_NAMES = [
  'age', 'size', 'hits', 'inter_arrival', 'ttl_left', 'origin_rtt', 'idle', 'requests',
] as const;

/** Number of float32 values per candidate. Never hard-code 8: use this. */
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Caps of the log scale, index-aligned with FEATURE_NAMES (raw units as documented above). */
export const FEATURE_CAPS: readonly number[] = [604800, 1073741824, 1023, 604800, 604800, 60000, 604800, 1048575];

/** Index of the size feature and log1p of its cap: log1p(size) = f_size x LOG_SIZE_CAP below the cap. */
export const SIZE_FEATURE = FEATURE_NAMES.indexOf('size');
export const LOG_SIZE_CAP = Math.log1p(FEATURE_CAPS[SIZE_FEATURE]!);

/** Largest number of candidates any decision may carry (the wire format's bitmask is 64 bits). */
export const MAX_CANDIDATES = 64;

const INV_LOG_CAP = new Float64Array(FEATURE_CAPS.map((c) => 1 / Math.log1p(c)));

/** f = min(1, log1p(max(0, v)) / log1p(CAP[i])); +Inf -> 1; NaN -> 0. */
export function scaleFeature(i: number, v: number): number {
  if (!(v > 0)) return 0; // also catches NaN
  if (v === Infinity) return 1;
  const f = Math.log1p(v) * INV_LOG_CAP[i]!;
  return f < 1 ? f : 1;
}

/** One object's state in the units above; used by the sidecar, tests and anything outside the simulator. */
export interface ObjectState {
  created: number;
  last: number;
  prev: number;
  hits: number;
  size: number;
  expires: number;
  rtt: number;
  requests: number;
}

/** Writes the FEATURE_COUNT features of one object into out[offset ..]. No allocation. */
export function writeFeatures(
  now: number, created: number, last: number, prev: number, hits: number, size: number,
  expires: number, rtt: number, requests: number, out: Float32Array, offset: number,
): void {
  out[offset] = scaleFeature(0, now - created);
  out[offset + 1] = scaleFeature(1, size);
  out[offset + 2] = scaleFeature(2, hits);
  out[offset + 3] = scaleFeature(3, prev >= 0 ? last - prev : now - last);
  out[offset + 4] = scaleFeature(4, expires - now);
  out[offset + 5] = scaleFeature(5, rtt);
  out[offset + 6] = scaleFeature(6, now - last);
  out[offset + 7] = scaleFeature(7, requests);
}

export function featuresOf(now: number, s: ObjectState, out = new Float32Array(FEATURE_COUNT), offset = 0): Float32Array {
  writeFeatures(now, s.created, s.last, s.prev, s.hits, s.size, s.expires, s.rtt, s.requests, out, offset);
  return out;
}

/** Inverse of scaleFeature for a value below the cap (for reports and tests). */
export function unscaleFeature(i: number, f: number): number {
  return Math.expm1(f * Math.log1p(FEATURE_CAPS[i]!));
}
