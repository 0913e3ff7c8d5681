/**
 * LFU: evict the object with the fewest requests since its insertion (it enters with frequency 1, so this
 * is the paper's "in-cache hit count" + 1); among equal frequencies the one that reached that frequency
 * earliest goes first. Reference: libCacheSim cache/eviction/LFU.c, rules in ../shared/traces/README.md.
 * Invariant: the heap holds exactly the resident objects keyed (frequency, stamp of reaching it). O(log n).
 */
import type { SimContext } from '../policy.js';
import { HeapPolicy } from './heap-policy.js';

export class LfuPolicy extends HeapPolicy {
  readonly name = 'lfu';
  private stamp = 0;
  constructor(ctx: SimContext) { super(ctx); }
  onHit(id: number): void { this.heap.update(id, this.heap.keyOf(id) + 1, this.stamp++); }
  onInsert(id: number): void { this.heap.push(id, 1, this.stamp++); }
}
