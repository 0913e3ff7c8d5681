/**
 * A CDN's day: a Zipf(0.9) catalogue of 300,000 objects whose ranking turns slowly through the catalogue
 * (rank r is served by object (r + shift) mod N, the shift growing by 30,000 over the day), so yesterday's
 * hits cool off gradually instead of all at once (`drift` swaps them in steps). Sizes log-normal (median
 * 20 KB, sigma 1.5, 200 B-5 MB): a few large objects hold most of the bytes, so hit ratio and byte hit ratio
 * part ways. TTLs: 85% log-uniform 1 h-1 d, 10% none, 5% 5-60 min. Arrivals Poisson with a daily cycle
 * (+-60% around 500,000 requests a day, thinned from the peak rate). Made on 2026-11-29 for an audit of the
 * learned policy on workloads it was not tuned on (docs/training.md, "The goal").
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const CDN_REQUESTS = 500_000;
const CATALOGUE = 300_000, SHIFT_PER_DAY = 30_000, DAY_MS = 86_400_000, PER_DAY = 500_000, SWING = 0.6;

export function cdn(seed: number, requests = CDN_REQUESTS): Trace {
  const rng = new Rng(seed);
  const size = new Float64Array(CATALOGUE), ttl = new Float64Array(CATALOGUE), base = new Float64Array(CATALOGUE);
  for (let o = 0; o < CATALOGUE; o++) {
    size[o] = Math.min(5e6, Math.max(200, rng.logNormal(20_000, 1.5)));
    const p = rng.next();
    ttl[o] = p < 0.85 ? Math.exp(rng.uniform(Math.log(3_600), Math.log(86_400))) : p < 0.95 ? Infinity : rng.uniform(300, 3_600);
    base[o] = baseLatency(rng);
  }
  const zipf = new Zipf(CATALOGUE, 0.9);
  const keys = Array.from({ length: CATALOGUE }, (_, o) => `/c/${o}`);
  const b = new TraceBuilder(`cdn(seed=${seed})`, requests);
  const meanGapMs = DAY_MS / PER_DAY, peakGapMs = meanGapMs / (1 + SWING);
  for (let i = 0; i < requests;) {
    b.tick(rng, peakGapMs);
    // thinning: keep an arrival at the peak rate with probability rate(now) / peak (lowest at 6:00)
    const rate = 1 + SWING * Math.sin(2 * Math.PI * (b.clockMs / DAY_MS - 0.25));
    if (rng.next() * (1 + SWING) > rate) continue;
    const shift = Math.floor((b.clockMs / DAY_MS) * SHIFT_PER_DAY);
    const o = (zipf.draw(rng) + shift) % CATALOGUE;
    b.push(keys[o]!, size[o]!, ttl[o]!, originRtt(rng, base[o]!, size[o]!));
    i++;
  }
  return b.finish();
}
