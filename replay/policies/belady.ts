/**
 * Belady's MIN (offline): evict the resident object whose next request is farthest away (never = first).
 * Reference: libCacheSim cache/eviction/Belady.c (every miss is inserted; no bypass). Next uses come from
 * one backward pass over the trace (Trace.nextUse(), O(requests) memory) via SimContext.nextUseOf.
 * Invariant: the heap holds exactly the resident objects keyed by -(next use). O(log n) per request.
 * Ties only arise among objects never requested again, which cannot change any hit.
 */
import type { SimContext } from '../policy.js';
import { HeapPolicy } from './heap-policy.js';

export class BeladyPolicy extends HeapPolicy {
  readonly name = 'belady';
  constructor(ctx: SimContext) { super(ctx); }
  onHit(id: number): void { this.heap.update(id, -this.ctx.nextUse, 0); }
  onInsert(id: number): void { this.heap.push(id, -this.ctx.nextUse, 0); }
}
