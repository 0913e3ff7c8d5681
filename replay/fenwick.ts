/**
 * A Fenwick (binary indexed) tree of non-negative weights over ids 0..n-1: add and weighted draw in
 * O(log n), no allocation after construction or growth. The `weighted` and `blend` candidate sources
 * draw resident objects with probability proportional to their size through it (replay/candidates.ts).
 */
export class Fenwick {
  private tree = new Float64Array(1);
  private weights = new Float64Array(0);
  private top = 1;
  total = 0;

  /** Makes room for ids 0..n-1, keeping the weights (O(n) when it grows). */
  reserve(n: number): void {
    if (n <= this.weights.length) return;
    const w = new Float64Array(Math.max(n, this.weights.length * 2));
    w.set(this.weights);
    this.weights = w;
    this.tree = new Float64Array(w.length + 1);
    for (let i = 0; i < w.length; i++) {
      const j = i + 1;
      this.tree[j] = this.tree[j]! + w[i]!;
      const parent = j + (j & -j);
      if (parent <= w.length) this.tree[parent] = this.tree[parent]! + this.tree[j]!;
    }
    this.top = 1;
    while (this.top * 2 <= w.length) this.top *= 2;
  }

  weight(id: number): number { return this.weights[id]!; }

  /** Adds delta to id's weight. */
  add(id: number, delta: number): void {
    this.weights[id] = this.weights[id]! + delta;
    this.total += delta;
    const n = this.weights.length;
    for (let j = id + 1; j <= n; j += j & -j) this.tree[j] = this.tree[j]! + delta;
  }

  /**
   * The id whose cumulative weight range holds u (0 <= u < total): drawn with u uniform, P(id) =
   * weight(id) / total. Float rounding may land on a zero-weight id next to the range: callers skip those.
   */
  find(u: number): number {
    const n = this.weights.length;
    let pos = 0;
    for (let step = this.top; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= n && this.tree[next]! <= u) { pos = next; u -= this.tree[next]!; }
    }
    return pos < n ? pos : n - 1;
  }
}
