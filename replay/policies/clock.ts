/**
 * CLOCK (second chance, FIFO-reinsertion) with a 1-bit reference counter. Reference: libCacheSim
 * cache/eviction/Clock.c with its default n-bit-counter=1: insert at the head with the bit clear; a hit sets
 * it; eviction looks at the tail: bit set -> clear it and move the object to the head; bit clear -> evict.
 * Invariant: the queue holds exactly the resident objects; bits are 0 or 1. O(1) amortised per request.
 */
import { DList } from '../dlist.js';
import type { Policy, SimContext } from '../policy.js';
import { grow } from './grow.js';
import { checkCovers, checkList, fail } from './check.js';

export class ClockPolicy implements Policy {
  readonly name = 'clock';
  readonly queue = new DList();
  private ref = new Uint8Array(0);
  constructor(private readonly ctx: SimContext) {}
  reserve(c: number): void {
    this.queue.reserve(c);
    this.ref = grow(this.ref, c);
  }
  onHit(id: number): void { this.ref[id] = 1; }
  onInsert(id: number): void { this.ref[id] = 0; this.queue.pushHead(id); }
  evict(_need: number): void {
    const q = this.queue;
    const ref = this.ref;
    let id = q.tail;
    while (ref[id] === 1) {
      ref[id] = 0;
      q.moveToHead(id);
      id = q.tail;
    }
    q.unlink(id);
    this.ctx.evict(id);
  }
  onRemove(id: number): void { this.queue.unlink(id); }
  check(): void {
    checkCovers(this.ctx, this.name, checkList(this.ctx, this.name, 'queue', this.queue, true));
    for (let id = this.queue.head; id >= 0; id = this.queue.next[id]!) if (this.ref[id]! > 1) fail(this.name, `reference bit of ${id} is ${this.ref[id]}`);
  }
}
