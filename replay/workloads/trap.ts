/**
 * The Cold-RL paper's adversarial "trap" workload (arXiv 2508.12485), exactly as described in
 * ../shared/reference/trap-workload.md, seeded: 2,000 objects (small 0-1199 with 5% "good" ones, medium
 * 1200-1699, large 1700-1999 with 70% "gems" that burst after a discovery time), 25,000 requests drawn by
 * time-varying weights, sizes jittered by 0.98-1.02 per request, TTL uniform in [7200, 86400) s, and
 * cumulative Exp(mean 2 s) inter-arrival gaps. Origin RTTs follow build.ts's model. The default request
 * count is the paper's; --requests changes it but keeps the schedule (in request indices).
 */
import { Rng } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, pickMask, TraceBuilder } from './build.js';

export const TRAP_OBJECTS = 2000;
export const TRAP_REQUESTS = 25_000;

export function trap(seed: number, requests = TRAP_REQUESTS): Trace {
  const rng = new Rng(seed);
  const n = TRAP_OBJECTS;
  const size = new Float64Array(n), pop = new Float64Array(n), ttl = new Float64Array(n);
  const disc = new Float64Array(n), burst = new Float64Array(n), base = new Float64Array(n);
  const good = pickMask(rng, 1200, 60);
  const gemsOfLarge = pickMask(rng, 300, 210);
  const kind = new Uint8Array(n); // 0 small, 1 small good, 2 medium, 3 large gem, 4 large other
  for (let o = 0; o < n; o++) {
    if (o < 1200) {
      size[o] = rng.uniform(1_000, 25_000);
      pop[o] = good[o] ? 8 : rng.exp(0.3);
      kind[o] = good[o] ? 1 : 0;
    } else if (o < 1700) {
      size[o] = rng.uniform(25_000, 150_000);
      pop[o] = rng.exp(2);
      kind[o] = 2;
    } else {
      size[o] = rng.uniform(150_000, 800_000);
      const gem = gemsOfLarge[o - 1700] === 1;
      pop[o] = gem ? rng.uniform(15, 50) : 0.5;
      kind[o] = gem ? 3 : 4;
    }
    ttl[o] = rng.uniform(7_200, 86_400);
    disc[o] = rng.uniform(0, 7_500);
    burst[o] = rng.uniform(1.5, 4);
    base[o] = baseLatency(rng);
  }
  const keys = Array.from({ length: n }, (_, o) => `/trap/${o}`);
  const w = new Float64Array(n);
  const b = new TraceBuilder(`trap(seed=${seed})`, requests);
  for (let i = 0; i < requests; i++) {
    let total = 0;
    for (let o = 0; o < n; o++) {
      const p = pop[o]!;
      let x: number;
      switch (kind[o]) {
        case 3:
          if (i >= disc[o]!) {
            x = p * (1 + Math.min((i - disc[o]!) / 5000, 1) * burst[o]!);
            if (Math.sin((2 * Math.PI * i) / 1000 + o) > 0.6) x *= 2.5;
          } else x = p * 0.1;
          break;
        case 0: x = i < disc[o]! ? 2 * p : p * Math.max(0.1, 1 - (i - disc[o]!) / 12_500); break;
        case 1: x = p * 1.2; break;
        default: x = p;
      }
      x = Math.max(x, 0.01);
      w[o] = x;
      total += x;
    }
    let u = rng.next() * total;
    let o = 0;
    while (o < n - 1 && (u -= w[o]!) >= 0) o++;
    b.tick(rng, 2000);
    const s = size[o]! * rng.uniform(0.98, 1.02);
    b.push(keys[o]!, s, ttl[o]!, originRtt(rng, base[o]!, s));
  }
  return b.finish();
}
