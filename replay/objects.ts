import { writeFeatures } from './features.js';

/**
 * Per-object state of the simulated cache, column-wise in typed arrays indexed by the dense object id that
 * the trace reader's interner assigns (0, 1, 2, ... in order of first appearance). Grows by doubling; the
 * cache tells its policy to reserve the same capacity, so policies can keep their own per-id arrays.
 * Fields and units are those of replay/features.ts.
 */
export class ObjectTable {
  capacity = 0;
  resident = new Uint8Array(0);
  size = new Float64Array(0);
  created = new Float64Array(0);
  last = new Float64Array(0);
  prev = new Float64Array(0);
  hits = new Float64Array(0);
  expires = new Float64Array(0);
  rtt = new Float64Array(0);
  /** Lifetime request count (survives eviction). */
  requests = new Float64Array(0);
  /** Time of the key's first request (seconds; survives eviction, as `requests`), for `overdue`. */
  first = new Float64Array(0);

  constructor(initial = 1024) {
    this.grow(initial);
  }

  /** Ensures ids < n are addressable; returns true when arrays were reallocated. */
  ensure(n: number): boolean {
    if (n <= this.capacity) return false;
    let c = this.capacity || 1024;
    while (c < n) c *= 2;
    this.grow(c);
    return true;
  }

  private grow(c: number): void {
    const g = <T extends Float64Array | Uint8Array>(a: T, ctor: new (n: number) => T): T => {
      const b = new ctor(c);
      b.set(a);
      return b;
    };
    this.resident = g(this.resident, Uint8Array);
    this.size = g(this.size, Float64Array);
    this.created = g(this.created, Float64Array);
    this.last = g(this.last, Float64Array);
    this.prev = g(this.prev, Float64Array);
    this.hits = g(this.hits, Float64Array);
    this.expires = g(this.expires, Float64Array);
    this.rtt = g(this.rtt, Float64Array);
    this.requests = g(this.requests, Float64Array);
    this.first = g(this.first, Float64Array);
    this.capacity = c;
  }

  /** Writes the features (replay/features.ts) of object `id` at time `now` into out[offset ..]. */
  features(id: number, now: number, out: Float32Array, offset: number): void {
    writeFeatures(now, this.created[id]!, this.last[id]!, this.prev[id]!, this.hits[id]!, this.size[id]!,
      this.expires[id]!, this.rtt[id]!, this.requests[id]!, out, offset);
  }
}
