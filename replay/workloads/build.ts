/**
 * Shared pieces of the seeded workloads: a direct fill of an in-memory Trace (no per-request objects), the
 * clock (epoch 1700000000 s, millisecond ticks, so every time survives $msec and CSV exactly) and a
 * plausible origin RTT model. Sizes are whole bytes, TTLs whole seconds, RTTs whole milliseconds: the units
 * NGINX logs, so a workload written as a log reads back unchanged.
 */
import { FLAG_UNCACHEABLE, Interner, Trace } from '../trace.js';
import type { Rng } from '../rng.js';

/** Workload clocks start here (2023-11-14T22:13:20Z), in seconds. */
export const EPOCH_S = 1_700_000_000;

export class TraceBuilder {
  private readonly t: Trace;
  private readonly interner = new Interner();
  private n = 0;
  /** Current time in ms since EPOCH_S. */
  clockMs = 0;

  constructor(private readonly name: string, capacity: number) {
    this.t = new Trace(Math.max(1, capacity));
  }

  /** Advances the clock by an exponential gap with the given mean (ms), at least 1 ms. */
  tick(rng: Rng, meanMs: number): void {
    this.clockMs += Math.max(1, Math.round(rng.exp(meanMs)));
  }

  /** Appends one request at the current time. ttl in s (0 with uncacheable), rtt in ms. */
  push(key: string, size: number, ttl: number, rtt: number, uncacheable = false): void {
    const t = this.t, i = this.n++;
    const s = Math.max(1, Math.round(size));
    t.time[i] = (EPOCH_S * 1000 + this.clockMs) / 1000;
    t.id[i] = this.interner.intern(key, s);
    t.size[i] = s;
    t.ttl[i] = uncacheable ? 0 : Math.round(ttl);
    t.rtt[i] = Math.round(rtt);
    t.flags[i] = uncacheable ? FLAG_UNCACHEABLE : 0;
  }

  finish(): Trace {
    const t = this.t;
    t.length = this.n;
    t.name = this.name;
    t.objects = this.interner.count;
    t.uniqueBytes = this.interner.uniqueBytes;
    t.keys = this.interner;
    return t;
  }
}

/**
 * Origin RTT of a miss in ms: the object's own base latency (its origin's distance and load, drawn once per
 * object) plus transfer at ~40 MB/s plus an exponential jitter of mean 5 ms.
 */
export function originRtt(rng: Rng, baseMs: number, size: number): number {
  return baseMs + size / 40_000 + rng.exp(5);
}

/** Base latency per object: uniform 10-120 ms. */
export function baseLatency(rng: Rng): number {
  return rng.uniform(10, 120);
}

/** k distinct ids out of n (partial Fisher-Yates), as a membership mask. */
export function pickMask(rng: Rng, n: number, k: number): Uint8Array {
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  const mask = new Uint8Array(n);
  for (let j = 0; j < k; j++) {
    const r = j + rng.int(n - j);
    const tmp = ids[j]!; ids[j] = ids[r]!; ids[r] = tmp;
    mask[ids[j]!] = 1;
  }
  return mask;
}
