/**
 * An indexed binary min-heap over dense ids, in typed arrays (no allocation per operation).
 * Order: smaller `key` first; equal keys -> smaller `tie` first. For a max-heap, push negated keys.
 * `pos[id]` is the id's slot in the heap (-1 when absent), so update/remove of any member is O(log n).
 * Keys live in heap order (hKey/hTie beside hId) so sifting touches contiguous memory.
 */
export class IndexedHeap {
  /** Number of members. */
  length = 0;
  pos = new Int32Array(0);
  private hId = new Int32Array(0);
  private hKey = new Float64Array(0);
  private hTie = new Float64Array(0);

  /** Ids < c may be used. */
  reserve(c: number): void {
    if (c <= this.pos.length) return;
    const p = new Int32Array(c).fill(-1); p.set(this.pos); this.pos = p;
    const i = new Int32Array(c); i.set(this.hId); this.hId = i;
    const k = new Float64Array(c); k.set(this.hKey); this.hKey = k;
    const t = new Float64Array(c); t.set(this.hTie); this.hTie = t;
  }

  has(id: number): boolean { return this.pos[id]! >= 0; }
  /** Id with the smallest (key, tie); -1 when empty. */
  peek(): number { return this.length > 0 ? this.hId[0]! : -1; }
  /** Key of the top member (NaN when empty). */
  peekKey(): number { return this.length > 0 ? this.hKey[0]! : NaN; }
  keyOf(id: number): number { return this.hKey[this.pos[id]!]!; }
  tieOf(id: number): number { return this.hTie[this.pos[id]!]!; }

  push(id: number, key: number, tie: number): void {
    const i = this.length++;
    this.hId[i] = id; this.hKey[i] = key; this.hTie[i] = tie; this.pos[id] = i;
    this.up(i);
  }

  /** Changes a member's key and tie. */
  update(id: number, key: number, tie: number): void {
    const i = this.pos[id]!;
    const hk = this.hKey;
    const old = hk[i]!;
    const oldTie = this.hTie[i]!;
    hk[i] = key; this.hTie[i] = tie;
    if (key < old || (key === old && tie < oldTie)) this.up(i); else this.down(i);
  }

  /** Removes and returns the top id (-1 when empty). */
  pop(): number {
    if (this.length === 0) return -1;
    const id = this.hId[0]!;
    this.removeAt(0);
    return id;
  }

  remove(id: number): void {
    const i = this.pos[id]!;
    if (i >= 0) this.removeAt(i);
  }

  private removeAt(i: number): void {
    const id = this.hId[i]!;
    const last = --this.length;
    this.pos[id] = -1;
    if (i === last) return;
    const hId = this.hId;
    const m = hId[last]!;
    hId[i] = m; this.hKey[i] = this.hKey[last]!; this.hTie[i] = this.hTie[last]!; this.pos[m] = i;
    this.up(i);
    this.down(this.pos[m]!);
  }

  private up(i: number): void {
    const hId = this.hId, hKey = this.hKey, hTie = this.hTie, pos = this.pos;
    const id = hId[i]!, k = hKey[i]!, t = hTie[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pk = hKey[p]!;
      if (pk < k || (pk === k && hTie[p]! <= t)) break;
      hId[i] = hId[p]!; hKey[i] = pk; hTie[i] = hTie[p]!; pos[hId[i]!] = i;
      i = p;
    }
    hId[i] = id; hKey[i] = k; hTie[i] = t; pos[id] = i;
  }

  private down(i: number): void {
    const hId = this.hId, hKey = this.hKey, hTie = this.hTie, pos = this.pos;
    const n = this.length;
    const id = hId[i]!, k = hKey[i]!, t = hTie[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let ck = hKey[c]!, ct = hTie[c]!;
      const r = c + 1;
      if (r < n) {
        const rk = hKey[r]!, rt = hTie[r]!;
        if (rk < ck || (rk === ck && rt < ct)) { c = r; ck = rk; ct = rt; }
      }
      if (k < ck || (k === ck && t <= ct)) break;
      hId[i] = hId[c]!; hKey[i] = ck; hTie[i] = ct; pos[hId[i]!] = i;
      i = c;
    }
    hId[i] = id; hKey[i] = k; hTie[i] = t; pos[id] = i;
  }

  /** Verifies the heap order and the position index; returns a description of the first fault, or ''. */
  verify(): string {
    for (let i = 0; i < this.length; i++) {
      if (this.pos[this.hId[i]!] !== i) return `heap slot ${i} holds ${this.hId[i]} whose position is ${this.pos[this.hId[i]!]}`;
      if (i > 0) {
        const p = (i - 1) >> 1;
        if (this.hKey[p]! > this.hKey[i]! || (this.hKey[p] === this.hKey[i] && this.hTie[p]! > this.hTie[i]!)) return `heap order broken at slot ${i}`;
      }
    }
    return '';
  }

  /** Visits every member id (any order). */
  forEach(fn: (id: number) => void): void {
    for (let i = 0; i < this.length; i++) fn(this.hId[i]!);
  }
}
