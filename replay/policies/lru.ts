/**
 * LRU: evict the least recently used object. Reference: libCacheSim cache/eviction/LRU.c.
 * Invariant: the list holds exactly the resident objects, most recent at the head. O(1) per request.
 */
import { DList } from '../dlist.js';
import type { Policy, SimContext } from '../policy.js';

export class LruPolicy implements Policy {
  readonly name: string = 'lru';
  readonly list = new DList();
  constructor(protected readonly ctx: SimContext) {}
  reserve(c: number): void { this.list.reserve(c); }
  onHit(id: number): void { this.list.moveToHead(id); }
  onInsert(id: number): void { this.list.pushHead(id); }
  evict(_need: number): void { this.ctx.evict(this.list.popTail()); }
  onRemove(id: number): void { this.list.unlink(id); }
  check(): void {
    const o = this.ctx.objects;
    let n = 0;
    for (let id = this.list.head; id >= 0; id = this.list.next[id]!) { if (o.resident[id] !== 1) throw new Error(`lru: ${id} listed but not resident`); n++; }
    if (n !== this.list.length) throw new Error('lru: list length mismatch');
  }
}
