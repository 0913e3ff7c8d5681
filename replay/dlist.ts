/**
 * An intrusive doubly linked list over dense ids, in typed arrays (no allocation per operation).
 * head = most recently pushed, tail = oldest. An id is in at most one list per DList instance; `has` is
 * O(1). Several lists can share one id space (S3-FIFO, ARC) by using one DList each.
 */
export class DList {
  prev = new Int32Array(0);
  next = new Int32Array(0);
  /** 1 when the id is linked in this list. */
  member = new Uint8Array(0);
  head = -1;
  tail = -1;
  length = 0;
  /** Sum of `weight` passed to push/unlink (bytes, for byte-sized queues). */
  bytes = 0;

  reserve(c: number): void {
    if (c <= this.prev.length) return;
    const p = new Int32Array(c); p.set(this.prev); this.prev = p;
    const n = new Int32Array(c); n.set(this.next); this.next = n;
    const m = new Uint8Array(c); m.set(this.member); this.member = m;
  }

  has(id: number): boolean { return this.member[id] === 1; }

  /** Links id at the head (most recent). */
  pushHead(id: number, weight = 0): void {
    this.prev[id] = -1;
    this.next[id] = this.head;
    if (this.head >= 0) this.prev[this.head] = id; else this.tail = id;
    this.head = id;
    this.member[id] = 1;
    this.length++;
    this.bytes += weight;
  }

  unlink(id: number, weight = 0): void {
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p >= 0) this.next[p] = n; else this.head = n;
    if (n >= 0) this.prev[n] = p; else this.tail = p;
    this.member[id] = 0;
    this.length--;
    this.bytes -= weight;
  }

  /** Moves a linked id to the head. */
  moveToHead(id: number): void {
    if (this.head === id) return;
    const p = this.prev[id]!;
    const n = this.next[id]!;
    // id is not head, so p >= 0
    this.next[p] = n;
    if (n >= 0) this.prev[n] = p; else this.tail = p;
    this.prev[id] = -1;
    this.next[id] = this.head;
    this.prev[this.head] = id;
    this.head = id;
  }

  /** Unlinks and returns the tail (oldest), or -1 when empty. */
  popTail(weight = 0): number {
    const id = this.tail;
    if (id >= 0) this.unlink(id, weight);
    return id;
  }
}
