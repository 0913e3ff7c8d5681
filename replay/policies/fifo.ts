/**
 * FIFO: evict the object inserted earliest; hits change nothing. Reference: libCacheSim cache/eviction/FIFO.c.
 * Invariant: the queue holds exactly the resident objects, newest at the head. O(1) per request.
 */
import { DList } from '../dlist.js';
import type { Policy, SimContext } from '../policy.js';
import { checkCovers, checkList } from './check.js';

export class FifoPolicy implements Policy {
  readonly name = 'fifo';
  readonly queue = new DList();
  constructor(private readonly ctx: SimContext) {}
  reserve(c: number): void { this.queue.reserve(c); }
  onHit(_id: number): void {}
  onInsert(id: number): void { this.queue.pushHead(id); }
  evict(_need: number): void { this.ctx.evict(this.queue.popTail()); }
  onRemove(id: number): void { this.queue.unlink(id); }
  check(): void { checkCovers(this.ctx, this.name, checkList(this.ctx, this.name, 'queue', this.queue, true)); }
}
