/**
 * External keys (numbers or text) -> dense object ids, for CSV and oracleGeneral traces, chained archives
 * and the seeded workloads. V8's Map holds at most 2^24 (16,777,216) entries, fewer than the objects of many
 * public traces, so no key kind rests on one Map:
 *   - number keys (CSV ids of up to 15 digits, oracleGeneral ids up to 2^53): an open-addressing table of
 *     ids, compared against each id's key in a Float64Array; typed arrays, outside the V8 heap (its limit
 *     is about 4 GiB), about 20 bytes per object;
 *   - text keys: Maps of at most `mapLimit` entries each, a new one started when the last is full (a new
 *     key is looked for in each).
 */
import { ColdrlError } from './errors.js';
import type { KeyTable } from './trace.js';

/** Ids of the number keys in a table of power-of-two slots (-1: empty), at most half full. */
const FIRST_SLOTS = 1 << 12;
/** Text keys per Map, well under V8's 2^24. */
const MAP_LIMIT = 1 << 23;

/** A number key's slot hash (integers up to 2^53 and any other double alike: its two 32-bit halves mixed). */
function numberHash(k: number): number {
  const lo = k >>> 0, hi = (k / 4294967296) | 0;
  const h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1);
  return (h ^ (h >>> 15)) & 0x7fffffff;
}

export class Interner implements KeyTable {
  private slots = new Int32Array(FIRST_SLOTS).fill(-1);
  /** Per id: its number key (when textOf[id] < 0). */
  private numbers = new Float64Array(FIRST_SLOTS >> 1);
  /** Per id: the index of its text key in `texts`, or -1 for a number key. */
  private textOf = new Int32Array(FIRST_SLOTS >> 1);
  private readonly texts: string[] = [];
  private readonly textMaps: Map<string, number>[] = [new Map()];
  private n = 0;
  /** Ids with a number key (in `slots`). */
  private numbered = 0;
  uniqueBytes = 0;

  /** mapLimit: text keys per Map (tests make it small). */
  constructor(private readonly mapLimit = MAP_LIMIT) {}

  get count(): number { return this.n; }

  /** The id of `key`, a new one (counting `size` into uniqueBytes) when it was not known. */
  intern(key: number | string, size: number): number {
    return typeof key === 'number' ? this.internNumber(key, size) : this.internText(key, size);
  }

  key(id: number): number | string {
    if (!(id >= 0 && id < this.n)) throw new ColdrlError('COLDRL_ERR_INVARIANT', `no key has id ${id}`);
    const t = this.textOf[id]!;
    return t < 0 ? this.numbers[id]! : this.texts[t]!;
  }

  private internNumber(k: number, size: number): number {
    const slots = this.slots, mask = slots.length - 1;
    let p = numberHash(k) & mask;
    for (let id = slots[p]!; id >= 0; p = (p + 1) & mask, id = slots[p]!) {
      if (this.numbers[id] === k) return id;
    }
    const id = this.add(size);
    this.numbers[id] = k;
    this.textOf[id] = -1;
    this.place(id, p);
    return id;
  }

  private internText(k: string, size: number): number {
    const maps = this.textMaps;
    for (let i = 0; i < maps.length; i++) {
      const id = maps[i]!.get(k);
      if (id !== undefined) return id;
    }
    let last = maps[maps.length - 1]!;
    if (last.size >= this.mapLimit) maps.push(last = new Map());
    const id = this.add(size);
    this.textOf[id] = this.texts.length;
    this.texts.push(k);
    last.set(k, id);
    return id;
  }

  /** A new id, its columns grown to hold it. */
  private add(size: number): number {
    const id = this.n++;
    this.uniqueBytes += size;
    if (id >= this.textOf.length) {
      this.numbers = grown(this.numbers, id + 1);
      this.textOf = grown(this.textOf, id + 1);
    }
    return id;
  }

  /** Puts a number key's id at free slot p, or rehashes into twice the slots when they would be over half full. */
  private place(id: number, p: number): void {
    if (2 * ++this.numbered <= this.slots.length) { this.slots[p] = id; return; }
    const slots = new Int32Array(this.slots.length * 2).fill(-1), mask = slots.length - 1;
    for (let i = 0; i < this.n; i++) {
      if (this.textOf[i]! >= 0) continue; // a text key: not in the table
      let q = numberHash(this.numbers[i]!) & mask;
      while (slots[q]! >= 0) q = (q + 1) & mask;
      slots[q] = i;
    }
    this.slots = slots;
  }
}

function grown<T extends Float64Array | Int32Array>(a: T, need: number): T {
  let c = Math.max(16, a.length * 2);
  while (c < need) c *= 2;
  const b = new (a.constructor as new (n: number) => T)(c);
  b.set(a);
  return b;
}
