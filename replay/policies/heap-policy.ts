/**
 * Base for policies that evict the minimum of a priority over the resident objects (LFU, GDSF, Size,
 * Belady): one IndexedHeap (replay/heap.ts) holding exactly the resident objects; subclasses set each
 * object's (key, tie) on insert and hit. O(log n) per request, no allocation.
 */
import { IndexedHeap } from '../heap.js';
import type { Policy, SimContext } from '../policy.js';
import { checkHeap } from './check.js';

export abstract class HeapPolicy implements Policy {
  abstract readonly name: string;
  readonly heap = new IndexedHeap();
  constructor(protected readonly ctx: SimContext) {}
  reserve(c: number): void { this.heap.reserve(c); }
  abstract onHit(id: number): void;
  abstract onInsert(id: number): void;
  evict(_need: number): void { this.ctx.evict(this.heap.pop()); }
  onRemove(id: number): void { this.heap.remove(id); }
  check(): void { checkHeap(this.ctx, this.name, this.heap); }
}
