/**
 * Hybrid (the paper's recency/size baseline), after size-adjusted LRU (Aggarwal, Wolf & Yu '99): evict the
 * object with the largest idle x size, where idle = requests since the object's last request (virtual
 * time: one-second timestamps would tie most objects) and size in bytes. Sample-free and O(1) per
 * request: resident objects sit in one LRU list per power-of-two size class (class = floor(log2 size));
 * an eviction compares only the LRU tail of each non-empty class (at most 64) and evicts the largest
 * score, ties to the smaller class. Within a class sizes differ by less than 2x, so this is the exact
 * maximum up to that factor.
 * Invariants: the class lists partition the resident objects, each in recency order and holding only its
 * class's sizes.
 */
import type { Policy, SimContext } from '../policy.js';
import { grow } from './grow.js';
import { checkCovers, fail } from './check.js';

const CLASSES = 64;

export function sizeClass(size: number): number {
  if (size < 4294967296) return 31 - Math.clz32(size);
  return Math.min(CLASSES - 1, 32 + 31 - Math.clz32(Math.floor(size / 4294967296)));
}

export class HybridPolicy implements Policy {
  readonly name = 'hybrid';
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private cls = new Uint8Array(0);
  private last = new Float64Array(0);
  private readonly head = new Int32Array(CLASSES).fill(-1);
  private readonly tail = new Int32Array(CLASSES).fill(-1);
  private readonly count = new Int32Array(CLASSES);
  constructor(private readonly ctx: SimContext) {}

  reserve(c: number): void {
    this.prev = grow(this.prev, c);
    this.next = grow(this.next, c);
    this.cls = grow(this.cls, c);
    this.last = grow(this.last, c);
  }

  private link(id: number, k: number): void {
    const h = this.head[k]!;
    this.prev[id] = -1;
    this.next[id] = h;
    if (h >= 0) this.prev[h] = id; else this.tail[k] = id;
    this.head[k] = id;
    this.count[k]++;
  }

  private unlink(id: number): void {
    const k = this.cls[id]!;
    const p = this.prev[id]!, n = this.next[id]!;
    if (p >= 0) this.next[p] = n; else this.head[k] = n;
    if (n >= 0) this.prev[n] = p; else this.tail[k] = p;
    this.count[k]--;
  }

  onHit(id: number): void {
    this.last[id] = this.ctx.index;
    if (this.head[this.cls[id]!] !== id) { this.unlink(id); this.link(id, this.cls[id]!); }
  }

  onInsert(id: number): void {
    const k = sizeClass(this.ctx.objects.size[id]!);
    this.cls[id] = k;
    this.last[id] = this.ctx.index;
    this.link(id, k);
  }

  evict(_need: number): void {
    const now = this.ctx.index;
    const size = this.ctx.objects.size;
    let best = -1;
    let bestScore = -1;
    for (let k = 0; k < CLASSES; k++) {
      const t = this.tail[k]!;
      if (t < 0) continue;
      const score = (now - this.last[t]!) * size[t]!;
      if (score > bestScore) { bestScore = score; best = t; }
    }
    this.unlink(best);
    this.ctx.evict(best);
  }

  onRemove(id: number): void { this.unlink(id); }

  check(): void {
    let total = 0;
    const size = this.ctx.objects.size;
    for (let k = 0; k < CLASSES; k++) {
      let n = 0;
      let prev = -1;
      for (let id = this.head[k]!; id >= 0; id = this.next[id]!) {
        if (this.prev[id] !== prev) fail(this.name, `class ${k}: broken back link at ${id}`);
        if (this.ctx.objects.resident[id] !== 1) fail(this.name, `class ${k}: ${id} not resident`);
        if (sizeClass(size[id]!) !== k || this.cls[id] !== k) fail(this.name, `${id} (${size[id]} B) listed in class ${k}`);
        if (prev >= 0 && this.last[prev]! < this.last[id]!) fail(this.name, `class ${k} out of recency order at ${id}`);
        prev = id;
        if (++n > this.count[k]!) fail(this.name, `class ${k} longer than its count`);
      }
      if (n !== this.count[k] || prev !== this.tail[k]) fail(this.name, `class ${k}: count or tail mismatch`);
      total += n;
    }
    checkCovers(this.ctx, this.name, total);
  }
}
