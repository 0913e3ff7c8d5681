/**
 * ARC (Megiddo & Modha, FAST '03) in bytes. Reference: libCacheSim cache/eviction/ARC.c, followed step by
 * step: T1/T2 hold resident objects (seen once / more than once), B1/B2 are their ghosts (ids; sizes from
 * the object table); p is T1's target in bytes. A miss found in B1 (B2) raises (lowers) p by
 * max(|B2|/|B1|, 1) (integer division of byte counts) and immediately runs REPLACE, as libCacheSim does in
 * its check step: that happens in admit(), before the loop's evictions. Hits move to T2's head; misses
 * from a ghost enter T2, others T1.
 * Invariants: T1 and T2 partition the resident objects and their bytes equal the cache's used bytes; ghosts
 * hold no resident object; 0 <= p <= capacity. O(1) per request.
 */
import { DList } from '../dlist.js';
import type { Policy, SimContext } from '../policy.js';
import { checkCovers, checkList, fail } from './check.js';

export class ArcPolicy implements Policy {
  readonly name = 'arc';
  readonly t1 = new DList();
  readonly t2 = new DList();
  readonly b1 = new DList();
  readonly b2 = new DList();
  private p = 0;
  private inB1 = false;
  private inB2 = false;
  private incoming = 0;

  constructor(private readonly ctx: SimContext) {}

  reserve(c: number): void { this.t1.reserve(c); this.t2.reserve(c); this.b1.reserve(c); this.b2.reserve(c); }

  admit(id: number, size: number): boolean {
    const sz = this.ctx.objects.size;
    const { b1, b2 } = this;
    this.incoming = size;
    this.inB1 = b1.member[id] === 1;
    this.inB2 = b2.member[id] === 1;
    if (this.inB1) {
      const delta = Math.max(Math.trunc(b2.bytes / b1.bytes), 1);
      this.p = Math.min(this.p + delta, this.ctx.capacity);
      this.replace();
      b1.unlink(id, sz[id]!);
    } else if (this.inB2) {
      const delta = Math.max(Math.trunc(b1.bytes / b2.bytes), 1);
      this.p = Math.max(this.p - delta, 0);
      this.replace();
      b2.unlink(id, sz[id]!);
    }
    return true;
  }

  onHit(id: number): void {
    if (this.t1.member[id] === 1) {
      const s = this.ctx.objects.size[id]!;
      this.t1.unlink(id, s);
      this.t2.pushHead(id, s);
    } else {
      this.t2.moveToHead(id);
    }
  }

  onInsert(id: number): void {
    const s = this.ctx.objects.size[id]!;
    if (this.inB1 || this.inB2) this.t2.pushHead(id, s); else this.t1.pushHead(id, s);
    this.inB1 = false;
    this.inB2 = false;
  }

  /** REPLACE: T1's LRU goes to B1 when T1 is above p (or at p on a B2 hit), else T2's LRU goes to B2. */
  private replace(): void {
    const { t1, t2 } = this;
    const sz = this.ctx.objects.size;
    let id: number;
    if (t1.bytes > 0 && (t1.bytes > this.p || (t1.bytes === this.p && this.inB2)) || t2.length === 0) {
      id = t1.tail;
      if (id < 0) return;
      t1.unlink(id, sz[id]!);
      this.b1.pushHead(id, sz[id]!);
    } else {
      id = t2.tail;
      t2.unlink(id, sz[id]!);
      this.b2.pushHead(id, sz[id]!);
    }
    this.ctx.evict(id);
  }

  evict(_need: number): void {
    const { t1, t2, b1, b2 } = this;
    const c = this.ctx.capacity;
    const sz = this.ctx.objects.size;
    if (t1.bytes + b1.bytes + this.incoming > c) {
      if (t1.bytes < c && b1.length > 0) {
        b1.popTail(sz[b1.tail]!);
        this.replace();
      } else if (t1.bytes < c) {
        this.replace();
      } else {
        const id = t1.tail;
        t1.unlink(id, sz[id]!);
        this.ctx.evict(id);
      }
    } else {
      if (t1.bytes + b1.bytes + t2.bytes + b2.bytes >= 2 * c && b2.length > 0) b2.popTail(sz[b2.tail]!);
      this.replace();
    }
  }

  onRemove(id: number): void {
    const s = this.ctx.objects.size[id]!;
    if (this.t1.member[id] === 1) this.t1.unlink(id, s); else this.t2.unlink(id, s);
  }

  check(): void {
    const sizeOf = (id: number) => this.ctx.objects.size[id]!;
    const n = checkList(this.ctx, this.name, 'T1', this.t1, true, sizeOf) + checkList(this.ctx, this.name, 'T2', this.t2, true, sizeOf);
    checkCovers(this.ctx, this.name, n);
    checkList(this.ctx, this.name, 'B1', this.b1, false, sizeOf);
    checkList(this.ctx, this.name, 'B2', this.b2, false, sizeOf);
    if (this.t1.bytes + this.t2.bytes !== this.ctx.used) fail(this.name, `T1 + T2 = ${this.t1.bytes + this.t2.bytes} B, cache uses ${this.ctx.used} B`);
    if (this.p < 0 || this.p > this.ctx.capacity) fail(this.name, `p = ${this.p} outside [0, ${this.ctx.capacity}]`);
  }
}
