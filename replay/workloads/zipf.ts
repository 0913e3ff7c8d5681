/**
 * The plainest cache workload: Zipf(0.8) over 200,000 objects of one size (32 KiB), no TTL, inter-arrival
 * gaps Exp(mean 50 ms). Size plays no part, so per-byte and per-object rankings agree and a policy is judged
 * on recency and frequency alone. Made on 2026-11-29 for an audit of the learned policy on workloads it was
 * not tuned on (docs/training.md, "Workloads it was not tuned on").
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const ZIPF_REQUESTS = 400_000;
const CATALOGUE = 200_000, SIZE = 32 * 1024;

export function zipf(seed: number, requests = ZIPF_REQUESTS): Trace {
  const rng = new Rng(seed);
  const base = Float64Array.from({ length: CATALOGUE }, () => baseLatency(rng));
  const z = new Zipf(CATALOGUE, 0.8);
  const keys = Array.from({ length: CATALOGUE }, (_, o) => `/z/${o}`);
  const b = new TraceBuilder(`zipf(seed=${seed})`, requests);
  for (let i = 0; i < requests; i++) {
    b.tick(rng, 50);
    const o = z.draw(rng);
    b.push(keys[o]!, SIZE, Infinity, originRtt(rng, base[o]!, SIZE));
  }
  return b.finish();
}
