/**
 * LRU's worst case beside a hot set: each request is, by a coin flip, either one of 5,000 hot objects
 * (Zipf 0.9) or the next of 40,000 other objects requested in a fixed cycle. A cycle longer than the cache
 * makes LRU evict every loop object just before its turn comes again. All objects 16 KiB, no TTL, gaps
 * Exp(mean 50 ms). Made on 2026-11-29 for the audit of docs/training.md ("Workloads it was not tuned on").
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const LOOP_REQUESTS = 400_000;
const HOT = 5_000, CYCLE = 40_000, SIZE = 16 * 1024;

export function loop(seed: number, requests = LOOP_REQUESTS): Trace {
  const rng = new Rng(seed);
  const base = Float64Array.from({ length: HOT + CYCLE }, () => baseLatency(rng));
  const z = new Zipf(HOT, 0.9);
  const keys = Array.from({ length: HOT + CYCLE }, (_, o) => (o < HOT ? `/hot/${o}` : `/loop/${o - HOT}`));
  const b = new TraceBuilder(`loop(seed=${seed})`, requests);
  let next = 0;
  for (let i = 0; i < requests; i++) {
    b.tick(rng, 50);
    let o: number;
    if (rng.chance(0.5)) o = z.draw(rng);
    else { o = HOT + next; next = (next + 1) % CYCLE; }
    b.push(keys[o]!, SIZE, Infinity, originRtt(rng, base[o]!, SIZE));
  }
  return b.finish();
}
