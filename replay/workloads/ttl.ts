/**
 * Short TTLs beside long ones: Zipf(1.0) over 100,000 objects, 40% of them with a TTL of 30-300 s, the rest
 * 6 h-7 d (log-uniform); log-normal sizes (median 16 KiB, sigma 1.2, 200 B-4 MiB); gaps Exp(mean 54 ms),
 * about 400,000 requests in 6 hours. A popular object with a short TTL misses on expiry whatever the policy,
 * so keeping it past its TTL gains nothing. Made on 2026-11-29 for the audit of docs/training.md
 * ("Workloads it was not tuned on").
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const TTL_REQUESTS = 400_000;
const CATALOGUE = 100_000;

export function ttl(seed: number, requests = TTL_REQUESTS): Trace {
  const rng = new Rng(seed);
  const size = new Float64Array(CATALOGUE), life = new Float64Array(CATALOGUE), base = new Float64Array(CATALOGUE);
  for (let o = 0; o < CATALOGUE; o++) {
    size[o] = Math.min(4 * 1024 * 1024, Math.max(200, rng.logNormal(16 * 1024, 1.2)));
    life[o] = rng.chance(0.4) ? rng.uniform(30, 300) : Math.exp(rng.uniform(Math.log(6 * 3_600), Math.log(7 * 86_400)));
    base[o] = baseLatency(rng);
  }
  const z = new Zipf(CATALOGUE, 1.0);
  const keys = Array.from({ length: CATALOGUE }, (_, o) => `/t/${o}`);
  const b = new TraceBuilder(`ttl(seed=${seed})`, requests);
  for (let i = 0; i < requests; i++) {
    b.tick(rng, 54);
    const o = z.draw(rng);
    b.push(keys[o]!, size[o]!, life[o]!, originRtt(rng, base[o]!, size[o]!));
  }
  return b.finish();
}
