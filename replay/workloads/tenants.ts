/**
 * Two sites behind one cache: 80% of requests to site A's 100,000 small objects (1-10 KiB, Zipf 1.1), 20%
 * to site B's 20,000 large ones (200 KiB-5 MiB log-uniform, Zipf 0.7). No TTL, gaps Exp(mean 33 ms). Site
 * B holds almost all the bytes and few of the hits: hit ratio and byte hit ratio pull apart. Made on
 * 2026-11-29 for the audit of docs/training.md ("Workloads it was not tuned on").
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const TENANTS_REQUESTS = 500_000;
const SMALL = 100_000, LARGE = 20_000;

export function tenants(seed: number, requests = TENANTS_REQUESTS): Trace {
  const rng = new Rng(seed);
  const n = SMALL + LARGE;
  const size = new Float64Array(n), base = new Float64Array(n);
  for (let o = 0; o < SMALL; o++) { size[o] = rng.uniform(1024, 10 * 1024); base[o] = baseLatency(rng); }
  for (let o = SMALL; o < n; o++) { size[o] = Math.exp(rng.uniform(Math.log(200 * 1024), Math.log(5 * 1024 * 1024))); base[o] = baseLatency(rng); }
  const a = new Zipf(SMALL, 1.1), bz = new Zipf(LARGE, 0.7);
  const keys = Array.from({ length: n }, (_, o) => (o < SMALL ? `/a/${o}` : `/b/${o - SMALL}`));
  const b = new TraceBuilder(`tenants(seed=${seed})`, requests);
  for (let i = 0; i < requests; i++) {
    b.tick(rng, 33);
    const o = rng.chance(0.8) ? a.draw(rng) : SMALL + bz.draw(rng);
    b.push(keys[o]!, size[o]!, Infinity, originRtt(rng, base[o]!, size[o]!));
  }
  return b.finish();
}
