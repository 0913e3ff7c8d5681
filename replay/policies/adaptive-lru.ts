/**
 * Adaptive LRU (the paper's baseline): LRU that evicts objects larger than 50 KB (51,200 B; threshold
 * settable as `adaptive-lru:BYTES`) first, least recently used first among them, and falls back to plain
 * LRU over the rest when no large object is resident. Reference: the paper's description; no libCacheSim
 * counterpart. Invariants: the large and small lists partition the resident objects by size; each is in
 * recency order. O(1) per request.
 */
import { DList } from '../dlist.js';
import type { Policy, PolicyOptions, SimContext } from '../policy.js';
import { checkCovers, checkList, fail } from './check.js';

export const ADAPTIVE_LRU_THRESHOLD = 51200;

export class AdaptiveLruPolicy implements Policy {
  readonly name = 'adaptive-lru';
  readonly large = new DList();
  readonly small = new DList();
  readonly threshold: number;
  constructor(private readonly ctx: SimContext, opts: PolicyOptions = {}) {
    this.threshold = opts.param ? Number(opts.param) : ADAPTIVE_LRU_THRESHOLD;
  }
  reserve(c: number): void { this.large.reserve(c); this.small.reserve(c); }
  onHit(id: number): void { (this.large.member[id] === 1 ? this.large : this.small).moveToHead(id); }
  onInsert(id: number): void { (this.ctx.objects.size[id]! > this.threshold ? this.large : this.small).pushHead(id); }
  evict(_need: number): void { this.ctx.evict(this.large.length > 0 ? this.large.popTail() : this.small.popTail()); }
  onRemove(id: number): void { (this.large.member[id] === 1 ? this.large : this.small).unlink(id); }
  check(): void {
    const n = checkList(this.ctx, this.name, 'large', this.large, true) + checkList(this.ctx, this.name, 'small', this.small, true);
    checkCovers(this.ctx, this.name, n);
    const size = this.ctx.objects.size;
    for (let id = this.large.head; id >= 0; id = this.large.next[id]!) if (size[id]! <= this.threshold) fail(this.name, `${id} (${size[id]} B) in the large list`);
    for (let id = this.small.head; id >= 0; id = this.small.next[id]!) if (size[id]! > this.threshold) fail(this.name, `${id} (${size[id]} B) in the small list`);
  }
}
