/**
 * BeladySize (offline): evict the object with the largest (next use - now) x size, following libCacheSim
 * cache/eviction/BeladySize.c: the score is compared over 128 objects drawn at random (with replacement)
 * from the resident set per eviction, seeded (--seed) so runs repeat; objects never requested again are
 * not admitted, and those whose last request has passed score +Infinity and go first (libCacheSim removes
 * them on that hit; the hits are the same). Now and next use are request indices.
 * Invariant: the dense resident array holds exactly the resident objects with a consistent slot index.
 * O(128) per eviction, O(1) per hit.
 */
import type { Policy, PolicyOptions, SimContext } from '../policy.js';
import { grow } from './grow.js';
import { checkCovers, fail } from './check.js';

const SAMPLES = 128;

export class BeladySizePolicy implements Policy {
  readonly name = 'belady-size';
  private slots = new Int32Array(0);
  private slotOf = new Int32Array(0);
  private n = 0;
  private rng: number;
  constructor(private readonly ctx: SimContext, opts: PolicyOptions = {}) {
    this.rng = ((opts.seed ?? 1) * 2654435761) >>> 0 || 1;
  }
  reserve(c: number): void {
    this.slots = grow(this.slots, c);
    this.slotOf = grow(this.slotOf, c, -1);
  }
  admit(_id: number, _size: number): boolean { return this.ctx.nextUse !== Infinity; }
  onHit(_id: number): void {}
  onInsert(id: number): void { this.slots[this.n] = id; this.slotOf[id] = this.n++; }
  private random(): number {
    let x = this.rng;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.rng = x;
    return x;
  }
  evict(_need: number): void {
    const nu = this.ctx.nextUseOf, size = this.ctx.objects.size, now = this.ctx.index;
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < SAMPLES; i++) {
      const id = this.slots[this.random() % this.n]!;
      const score = size[id]! * (nu[id]! - now);
      if (score > bestScore) { bestScore = score; best = id; if (score === Infinity) break; }
    }
    this.onRemove(best);
    this.ctx.evict(best);
  }
  onRemove(id: number): void {
    const i = this.slotOf[id]!;
    const last = this.slots[--this.n]!;
    this.slots[i] = last;
    this.slotOf[last] = i;
    this.slotOf[id] = -1;
  }
  check(): void {
    for (let i = 0; i < this.n; i++) {
      const id = this.slots[i]!;
      if (this.slotOf[id] !== i) fail(this.name, `slot ${i} holds ${id} whose slot index is ${this.slotOf[id]}`);
      if (this.ctx.objects.resident[id] !== 1) fail(this.name, `${id} listed but not resident`);
    }
    checkCovers(this.ctx, this.name, this.n);
  }
}
