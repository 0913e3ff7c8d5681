/**
 * S3-FIFO (Yang et al., SOSP '23), libCacheSim's "S3FIFO-0.1000-2". Reference: libCacheSim
 * cache/eviction/S3FIFO.c and the rules in ../shared/traces/README.md:
 *  - small FIFO of floor(0.10 x capacity) bytes, main FIFO of the rest, ghost FIFO (ids only; sizes are
 *    the objects' last sizes, kept by the object table) of floor(0.90 x capacity) bytes;
 *  - admission (Policy.admit): only objects no larger than the small FIFO; a miss whose id is in the ghost
 *    leaves the ghost and goes to main, any other miss to small (newer libCacheSim sends misses to main
 *    while small is full before the first eviction; the published numbers follow the README, as here);
 *  - a hit adds 1 to the object's count (0 at insertion and on the move to main);
 *  - to make room: if main holds more than its share, or small is empty, main's oldest with count >= 1 is
 *    reinserted with min(count, 3) - 1, count 0 is evicted; otherwise small's oldest with count >= 2 moves
 *    to main, else it is evicted and its id enters the ghost.
 * Invariants: small and main partition the resident objects, their byte counts match, the ghost holds no
 * resident object and stays within its size. O(1) amortised per request.
 */
import { DList } from '../dlist.js';
import type { Policy, PolicyOptions, SimContext } from '../policy.js';
import { grow } from './grow.js';
import { checkCovers, checkList, fail } from './check.js';

export class S3FifoPolicy implements Policy {
  readonly name = 's3fifo';
  readonly small = new DList();
  readonly main = new DList();
  readonly ghost = new DList();
  private count = new Uint8Array(0);
  readonly smallCap: number;
  readonly mainCap: number;
  readonly ghostCap: number;
  private readonly moveThreshold: number;
  private hitOnGhost = false;

  constructor(private readonly ctx: SimContext, opts: PolicyOptions = {}) {
    const ratio = opts.param ? Number(opts.param) : 0.1;
    this.smallCap = Math.floor(ctx.capacity * ratio);
    this.mainCap = ctx.capacity - this.smallCap;
    this.ghostCap = Math.floor(ctx.capacity * (1 - ratio));
    this.moveThreshold = 2;
  }

  reserve(c: number): void {
    this.small.reserve(c); this.main.reserve(c); this.ghost.reserve(c);
    this.count = grow(this.count, c);
  }

  admit(id: number, size: number): boolean {
    const ghost = this.ghost;
    let onGhost = false;
    if (ghost.member[id] === 1) { ghost.unlink(id, this.ctx.objects.size[id]!); onGhost = true; }
    const ok = size <= this.smallCap;
    this.hitOnGhost = onGhost && ok;
    return ok;
  }

  onHit(id: number): void { const c = this.count; if (c[id]! < 255) c[id]++; }

  onInsert(id: number): void {
    const size = this.ctx.objects.size[id]!;
    this.count[id] = 0;
    if (this.hitOnGhost) this.main.pushHead(id, size);
    else this.small.pushHead(id, size);
    this.hitOnGhost = false;
  }

  evict(_need: number): void {
    if (this.main.bytes > this.mainCap || this.small.length === 0 || !this.evictSmall()) this.evictMain();
  }

  /** Returns false when small emptied without evicting (everything moved to main). */
  private evictSmall(): boolean {
    const small = this.small, main = this.main, count = this.count, size = this.ctx.objects.size;
    while (small.length > 0) {
      const id = small.tail;
      const s = size[id]!;
      small.unlink(id, s);
      if (count[id]! >= this.moveThreshold) {
        count[id] = 0;
        main.pushHead(id, s);
      } else {
        this.ctx.evict(id);
        this.toGhost(id, s);
        return true;
      }
    }
    return false;
  }

  private evictMain(): void {
    const main = this.main, count = this.count;
    for (;;) {
      const id = main.tail;
      const c = count[id]!;
      if (c >= 1) {
        count[id] = (c < 3 ? c : 3) - 1;
        main.moveToHead(id);
      } else {
        main.unlink(id, this.ctx.objects.size[id]!);
        this.ctx.evict(id);
        return;
      }
    }
  }

  private toGhost(id: number, s: number): void {
    const ghost = this.ghost;
    if (s > this.ghostCap) return;
    const size = this.ctx.objects.size;
    while (ghost.bytes + s > this.ghostCap) ghost.popTail(size[ghost.tail]!);
    ghost.pushHead(id, s);
  }

  onRemove(id: number): void {
    const s = this.ctx.objects.size[id]!;
    if (this.small.member[id] === 1) this.small.unlink(id, s); else this.main.unlink(id, s);
  }

  check(): void {
    const sizeOf = (id: number) => this.ctx.objects.size[id]!;
    const n = checkList(this.ctx, this.name, 'small', this.small, true, sizeOf) + checkList(this.ctx, this.name, 'main', this.main, true, sizeOf);
    checkCovers(this.ctx, this.name, n);
    checkList(this.ctx, this.name, 'ghost', this.ghost, false, sizeOf);
    if (this.ghost.bytes > this.ghostCap) fail(this.name, `ghost holds ${this.ghost.bytes} B, above its ${this.ghostCap} B`);
    if (this.small.bytes + this.main.bytes !== this.ctx.used) fail(this.name, `small + main = ${this.small.bytes + this.main.bytes} B, cache uses ${this.ctx.used} B`);
  }
}
