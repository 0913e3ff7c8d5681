/**
 * SIEVE (Zhang et al., NSDI '24). Reference: libCacheSim cache/eviction/Sieve.c. Insert at the head with the
 * visited bit clear; a hit sets it. The hand starts at the tail (and restarts there after passing the head):
 * visited objects get their bit cleared and the hand moves toward the head; the first unvisited object is
 * evicted and the hand stays at its newer neighbour.
 * Invariants: the queue holds exactly the resident objects; the hand is -1 or a queue member.
 * O(1) amortised per request.
 */
import { DList } from '../dlist.js';
import type { Policy, SimContext } from '../policy.js';
import { grow } from './grow.js';
import { checkCovers, checkList, fail } from './check.js';

export class SievePolicy implements Policy {
  readonly name = 'sieve';
  readonly queue = new DList();
  private visited = new Uint8Array(0);
  private hand = -1;
  constructor(private readonly ctx: SimContext) {}
  reserve(c: number): void {
    this.queue.reserve(c);
    this.visited = grow(this.visited, c);
  }
  onHit(id: number): void { this.visited[id] = 1; }
  onInsert(id: number): void { this.visited[id] = 0; this.queue.pushHead(id); }
  evict(_need: number): void {
    const q = this.queue;
    const v = this.visited;
    const prev = q.prev;
    let id = this.hand >= 0 ? this.hand : q.tail;
    while (v[id] === 1) {
      v[id] = 0;
      id = prev[id]!;
      if (id < 0) id = q.tail;
    }
    this.hand = prev[id]!;
    q.unlink(id);
    this.ctx.evict(id);
  }
  onRemove(id: number): void {
    if (id === this.hand) this.hand = this.queue.prev[id]!;
    this.queue.unlink(id);
  }
  check(): void {
    checkCovers(this.ctx, this.name, checkList(this.ctx, this.name, 'queue', this.queue, true));
    if (this.hand >= 0 && !this.queue.has(this.hand)) fail(this.name, `hand ${this.hand} is not in the queue`);
  }
}
