/**
 * Size (the paper's size-based baseline): evict the largest object first. Reference: libCacheSim
 * cache/eviction/Size.c. Equal sizes are left in whatever order the binary heap's sifts leave them, the
 * same sift rules as libCacheSim's pqueue (move only on strict inequality, left child first), which is
 * what reproduces its numbers (insertion order among equals lands 0.013 off on tragen's byte miss).
 * Invariant: the heap holds exactly the resident objects. O(log n).
 */
import type { SimContext } from '../policy.js';
import { HeapPolicy } from './heap-policy.js';

export class SizePolicy extends HeapPolicy {
  readonly name = 'size';
  constructor(ctx: SimContext) { super(ctx); }
  onHit(_id: number): void {}
  onInsert(id: number): void { this.heap.push(id, -this.ctx.objects.size[id]!, 0); }
}
