/**
 * GDSF (Greedy-Dual-Size-Frequency, Cherkasova '98). Reference: libCacheSim cache/eviction/GDSF.c and the
 * rules in ../shared/traces/README.md: priority = L + frequency x 1e6 / size, frequency 1 at insertion and
 * +1 per hit, L = priority of the last evicted object (0 at start); the lowest priority goes; among equal
 * priorities the object whose last request is oldest goes (tie = request index of the last request).
 * Invariants: the heap holds exactly the resident objects; L never decreases. O(log n) per request.
 */
import type { SimContext } from '../policy.js';
import { fail } from './check.js';
import { grow } from './grow.js';
import { HeapPolicy } from './heap-policy.js';

export class GdsfPolicy extends HeapPolicy {
  readonly name = 'gdsf';
  private clock = 0;
  private freq = new Float64Array(0);
  constructor(ctx: SimContext) { super(ctx); }
  override reserve(c: number): void {
    super.reserve(c);
    this.freq = grow(this.freq, c);
  }
  onHit(id: number): void {
    const f = ++this.freq[id]!;
    this.heap.update(id, this.clock + f * 1e6 / this.ctx.objects.size[id]!, this.ctx.index);
  }
  onInsert(id: number): void {
    this.freq[id] = 1;
    this.heap.push(id, this.clock + 1e6 / this.ctx.objects.size[id]!, this.ctx.index);
  }
  override evict(_need: number): void {
    const p = this.heap.peekKey();
    if (p < this.clock) fail(this.name, `priority ${p} below L ${this.clock}`);
    this.clock = p;
    this.ctx.evict(this.heap.pop());
  }
}
