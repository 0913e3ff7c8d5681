/**
 * Scans and one-hit wonders over a Zipf core: what pollutes an LRU cache. A Zipf(0.8) core of 10,000
 * objects (1-64 KB) gets 70% of requests; 15% are one-hit wonders (a new object each, 1-64 KB, never asked
 * again); and every 20,000 requests a sequential scan of 3,000 new objects (8-128 KB, each requested once)
 * replaces the mix. TTL: 1-24 h per object; 2% of requests are uncacheable API calls (no-store, 200 B-4 KB)
 * spread over 500 URLs. Inter-arrival gaps Exp(mean 20 ms).
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const SCAN_REQUESTS = 200_000;
const CORE = 10_000, SCAN_EVERY = 20_000, SCAN_LENGTH = 3_000, API = 500;

export function scan(seed: number, requests = SCAN_REQUESTS): Trace {
  const rng = new Rng(seed);
  const size = new Float64Array(CORE), ttl = new Float64Array(CORE), base = new Float64Array(CORE);
  for (let o = 0; o < CORE; o++) {
    size[o] = rng.uniform(1_024, 65_536);
    ttl[o] = rng.uniform(3_600, 86_400);
    base[o] = baseLatency(rng);
  }
  const zipf = new Zipf(CORE, 0.8);
  const keys = Array.from({ length: CORE }, (_, o) => `/core/${o}`);
  const apiKeys = Array.from({ length: API }, (_, o) => `/api/${o}`);
  const b = new TraceBuilder(`scan(seed=${seed})`, requests);
  let fresh = 0;
  for (let i = 0; i < requests; i++) {
    b.tick(rng, 20);
    const phase = i % SCAN_EVERY;
    if (i >= SCAN_EVERY && phase < SCAN_LENGTH) {
      const s = rng.uniform(8_192, 131_072);
      b.push(`/scan/${fresh++}`, s, rng.uniform(3_600, 86_400), originRtt(rng, baseLatency(rng), s));
      continue;
    }
    const u = rng.next();
    if (u < 0.02) {
      const s = rng.uniform(200, 4_096);
      b.push(apiKeys[rng.int(API)]!, s, 0, originRtt(rng, 30, s), true);
    } else if (u < 0.17) {
      const s = rng.uniform(1_024, 65_536);
      b.push(`/once/${fresh++}`, s, rng.uniform(3_600, 86_400), originRtt(rng, baseLatency(rng), s));
    } else {
      const o = zipf.draw(rng);
      b.push(keys[o]!, size[o]!, ttl[o]!, originRtt(rng, base[o]!, size[o]!));
    }
  }
  return b.finish();
}
