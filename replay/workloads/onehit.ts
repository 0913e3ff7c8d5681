/**
 * One-hit wonders: 70% of requests go to objects never requested again, 30% to a Zipf(0.9) set of 50,000.
 * Sizes log-normal (median 20 KiB, sigma 1.3, 200 B-5 MiB), no TTL, gaps Exp(mean 33 ms). A policy that
 * admits every object must push the new ones out fast without losing the returning set. Made on
 * 2026-11-29 for the audit of docs/training.md ("Workloads it was not tuned on").
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const ONEHIT_REQUESTS = 500_000;
const RETURNING = 50_000;

function objectSize(rng: Rng): number {
  return Math.min(5 * 1024 * 1024, Math.max(200, rng.logNormal(20 * 1024, 1.3)));
}

export function onehit(seed: number, requests = ONEHIT_REQUESTS): Trace {
  const rng = new Rng(seed);
  const size = new Float64Array(RETURNING), base = new Float64Array(RETURNING);
  for (let o = 0; o < RETURNING; o++) { size[o] = objectSize(rng); base[o] = baseLatency(rng); }
  const z = new Zipf(RETURNING, 0.9);
  const keys = Array.from({ length: RETURNING }, (_, o) => `/p/${o}`);
  const b = new TraceBuilder(`onehit(seed=${seed})`, requests);
  let fresh = 0;
  for (let i = 0; i < requests; i++) {
    b.tick(rng, 33);
    if (rng.chance(0.7)) {
      const s = objectSize(rng);
      b.push(`/u/${fresh++}`, s, Infinity, originRtt(rng, baseLatency(rng), s));
    } else {
      const o = z.draw(rng);
      b.push(keys[o]!, size[o]!, Infinity, originRtt(rng, base[o]!, size[o]!));
    }
  }
  return b.finish();
}
