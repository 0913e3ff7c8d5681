/**
 * Popularity drift: a Zipf(0.9) catalogue of 40,000 objects whose ranking changes while the cache runs, as
 * a news or video CDN's does. Every 20,000 requests 600 swaps each move one of the 2,000 most popular
 * ranks to a random object (and that object's rank to the old one): yesterday's hits go cold and keep the
 * request counts they earned. Sizes log-normal (median 20 KB, sigma 1.5, 100 B-50 MB), TTL one day,
 * inter-arrival gaps Exp(mean 50 ms). Lifetime request counts mislead here, which GDSF's clock handles.
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const DRIFT_REQUESTS = 300_000;
const CATALOGUE = 40_000, SHIFT_EVERY = 20_000, SWAPS = 600, HOT = 2_000;

export function drift(seed: number, requests = DRIFT_REQUESTS): Trace {
  const rng = new Rng(seed);
  const size = new Float64Array(CATALOGUE), base = new Float64Array(CATALOGUE);
  for (let o = 0; o < CATALOGUE; o++) {
    size[o] = Math.min(50e6, Math.max(100, rng.logNormal(20_000, 1.5)));
    base[o] = baseLatency(rng);
  }
  const rank = Int32Array.from({ length: CATALOGUE }, (_, i) => i); // rank -> object
  const zipf = new Zipf(CATALOGUE, 0.9);
  const keys = Array.from({ length: CATALOGUE }, (_, o) => `/d/${o}`);
  const b = new TraceBuilder(`drift(seed=${seed})`, requests);
  for (let i = 0; i < requests; i++) {
    if (i > 0 && i % SHIFT_EVERY === 0) {
      for (let s = 0; s < SWAPS; s++) {
        const a = rng.int(HOT), c = rng.int(CATALOGUE);
        const t = rank[a]!; rank[a] = rank[c]!; rank[c] = t;
      }
    }
    b.tick(rng, 50);
    const o = rank[zipf.draw(rng)]!;
    b.push(keys[o]!, size[o]!, 86_400, originRtt(rng, base[o]!, size[o]!));
  }
  return b.finish();
}
