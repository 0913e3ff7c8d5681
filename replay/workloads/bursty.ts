/**
 * Periodic bursts of large returning objects over a Zipf core of small ones, with mixed sizes: the pattern
 * the Cold-RL paper says size-agnostic LRU handles badly. Every PERIOD requests a burst of BURST requests
 * starts; during it, 60% of requests go to one group of 24 large objects (0.3-4 MB); the groups take turns
 * (4 groups), so each group returns every 4 periods after its objects have gone cold. Outside bursts and
 * for the other 40%: a Zipf(0.9) core of 20,000 objects of mixed sizes (70% small 1-32 KB, 25% medium
 * 32-256 KB, 5% large 256 KB-2 MB). TTL: 1-24 h per object; 1% of core objects are uncacheable (no-store).
 * Inter-arrival gaps Exp(mean 50 ms).
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const BURSTY_REQUESTS = 200_000;
const CORE = 20_000, GROUPS = 4, GROUP_SIZE = 24, PERIOD = 10_000, BURST = 2_000;

export function bursty(seed: number, requests = BURSTY_REQUESTS): Trace {
  const rng = new Rng(seed);
  const n = CORE + GROUPS * GROUP_SIZE;
  const size = new Float64Array(n), ttl = new Float64Array(n), base = new Float64Array(n);
  const noStore = new Uint8Array(n);
  for (let o = 0; o < n; o++) {
    if (o < CORE) {
      const u = rng.next();
      size[o] = u < 0.7 ? rng.uniform(1_024, 32_768) : u < 0.95 ? rng.uniform(32_768, 262_144) : rng.uniform(262_144, 2_097_152);
      noStore[o] = rng.chance(0.01) ? 1 : 0;
    } else size[o] = rng.uniform(300_000, 4_000_000);
    ttl[o] = rng.uniform(3_600, 86_400);
    base[o] = baseLatency(rng);
  }
  // Zipf ranks map to objects through a shuffle, so popularity and size are independent.
  const rank = Int32Array.from({ length: CORE }, (_, i) => i);
  for (let i = CORE - 1; i > 0; i--) { const j = rng.int(i + 1); const t = rank[i]!; rank[i] = rank[j]!; rank[j] = t; }
  const zipf = new Zipf(CORE, 0.9);
  const keys = Array.from({ length: n }, (_, o) => (o < CORE ? `/core/${o}` : `/burst/${o - CORE}`));
  const b = new TraceBuilder(`bursty(seed=${seed})`, requests);
  for (let i = 0; i < requests; i++) {
    const phase = i % PERIOD;
    let o: number;
    if (phase < BURST && rng.chance(0.6)) {
      const group = Math.floor(i / PERIOD) % GROUPS;
      o = CORE + group * GROUP_SIZE + rng.int(GROUP_SIZE);
    } else o = rank[zipf.draw(rng)]!;
    b.tick(rng, 50);
    b.push(keys[o]!, size[o]!, ttl[o]!, originRtt(rng, base[o]!, size[o]!), noStore[o] === 1);
  }
  return b.finish();
}
