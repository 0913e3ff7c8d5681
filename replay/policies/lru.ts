/**
 * LRU: evict the least recently used object. Reference: libCacheSim cache/eviction/LRU.c.
 * Invariant: the list holds exactly the resident objects, most recent at the head. O(1) per request.
 */
import { DList } from '../dlist.js';
import type { Policy, SimContext } from '../policy.js';
import { checkCovers, checkList } from './check.js';

export class LruPolicy implements Policy {
  readonly name: string = 'lru';
  readonly list = new DList();
  constructor(protected readonly ctx: SimContext) {}
  reserve(c: number): void { this.list.reserve(c); }
  onHit(id: number): void { this.list.moveToHead(id); }
  onInsert(id: number): void { this.list.pushHead(id); }
  evict(_need: number): void { this.ctx.evict(this.list.popTail()); }
  onRemove(id: number): void { this.list.unlink(id); }
  check(): void { checkCovers(this.ctx, this.name, checkList(this.ctx, this.name, 'list', this.list, true)); }
}
