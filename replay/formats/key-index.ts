/**
 * Cache keys -> dense object ids for the log readers, without a JavaScript string per key: a log archive
 * can name tens of millions of distinct URLs, which as strings in a Map fill the V8 heap (its limit is
 * about 4 GiB) and spend most of the reading time in the Map. The keys live as UTF-8 bytes in pages of
 * an arena (typed arrays, outside the heap), found through an open-addressing table over FNV-1a hashes; a
 * known key is found from the line's own bytes, and the string of a key is made only when asked for
 * (KeyTable.key: tests, workload files).
 */
import { ColdrlError } from '../errors.js';
import type { KeyTable } from '../trace.js';

/** Bytes per arena page (a key never spans two). */
const PAGE = 1 << 26;
/** A key's length takes the low LEN_BITS of its `where` word, its page the bits above. */
const LEN_BITS = 20;
/** The longest key indexed (1 MiB - 1): a line with a longer one is a bad line. */
export const MAX_KEY_BYTES = (1 << LEN_BITS) - 1;
const MAX_PAGES = 1 << (31 - LEN_BITS);

/** FNV-1a of bytes [s, e) as a non-negative int; -1 when `escapes` and they hold a backslash. */
export function keyHash(line: Uint8Array, s: number, e: number, escapes: boolean): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) {
    const c = line[i]!;
    if (c === 92 && escapes) return -1;
    h = Math.imul(h ^ c, 16777619);
  }
  return h & 0x7fffffff;
}

export class KeyIndex implements KeyTable {
  /**
   * Open-addressing slots, four ints each: [id, hash, offset in its page, length | page << LEN_BITS]
   * (id -1 = empty). The hash rejects without a comparison; the key's place beside it spares another
   * cache miss.
   */
  private slots = new Int32Array(4 << 14).fill(-1);
  private readonly pages: Uint8Array[] = [new Uint8Array(1 << 10)];
  /** Bytes used in the last page. */
  private used = 0;
  /** Per id: [offset in its page, length | page << LEN_BITS] (key()). */
  private where = new Int32Array(2 << 12);
  private keys = 0;
  private unique = 0;
  get count(): number { return this.keys; }
  get uniqueBytes(): number { return this.unique; }

  /** pageBytes: the arena's page size (tests make it small). */
  constructor(private readonly pageBytes = PAGE) {
    if (!(pageBytes > MAX_KEY_BYTES && pageBytes <= PAGE)) throw new ColdrlError('COLDRL_ERR_USAGE', `KeyIndex: a page of ${pageBytes} bytes`);
  }

  /**
   * The id of the key held in bytes [s, e) of `line` (h: keyHash of them), a new one (counting `size`
   * into uniqueBytes) when it was not known. The caller keeps keys to MAX_KEY_BYTES.
   */
  internBytes(line: Uint8Array, s: number, e: number, h: number, size: number): number {
    const slots = this.slots, mask = (slots.length >> 2) - 1, n = e - s;
    let p = h & mask;
    for (; ; p = (p + 1) & mask) {
      const q = 4 * p, id = slots[q]!;
      if (id < 0) break;
      if (slots[q + 1] !== h || (slots[q + 3]! & MAX_KEY_BYTES) !== n) continue;
      const a = this.pages[slots[q + 3]! >>> LEN_BITS]!, off = slots[q + 2]!;
      let k = 0;
      while (k < n && a[off + k] === line[s + k]) k++;
      if (k === n) return id;
    }
    return this.add(line, s, e, h, size);
  }

  /** The id of a key given as text (a key made of several logged values, or unescaped), as internBytes; -1 past MAX_KEY_BYTES. */
  intern(key: string, size: number): number {
    const b = Buffer.from(key, 'utf8');
    if (b.length > MAX_KEY_BYTES) return -1;
    return this.internBytes(b, 0, b.length, keyHash(b, 0, b.length, false), size);
  }

  key(id: number): string {
    if (!(id >= 0 && id < this.keys)) throw new ColdrlError('COLDRL_ERR_INVARIANT', `no key has id ${id}`);
    const w = this.where[2 * id + 1]!;
    const off = this.where[2 * id]!;
    return Buffer.from(this.pages[w >>> LEN_BITS]!.buffer, off, w & MAX_KEY_BYTES).toString('utf8');
  }

  private add(line: Uint8Array, s: number, e: number, h: number, size: number): number {
    const n = e - s;
    let page = this.pages.length - 1;
    let a = this.pages[page]!;
    if (this.used + n > a.length) {
      if (this.used + n <= this.pageBytes) {
        // the last page grows (doubling) up to pageBytes
        let c = a.length;
        while (c < this.used + n) c *= 2;
        c = Math.min(c, this.pageBytes);
        const bigger = new Uint8Array(c); bigger.set(a.subarray(0, this.used)); a = this.pages[page] = bigger;
      } else {
        if (++page >= MAX_PAGES) throw new ColdrlError('COLDRL_ERR_BAD_SIZE', `more than ${MAX_PAGES} x ${this.pageBytes} bytes of distinct cache keys`);
        a = new Uint8Array(this.pageBytes);
        this.pages.push(a);
        this.used = 0;
      }
    }
    const off = this.used, w = n | (page << LEN_BITS);
    // a loop, not set(subarray()): no object made per key
    for (let k = 0; k < n; k++) a[off + k] = line[s + k]!;
    const id = this.keys++;
    this.used += n;
    this.unique += size;
    if (2 * id + 1 >= this.where.length) {
      const bigger = new Int32Array(this.where.length * 2); bigger.set(this.where); this.where = bigger;
    }
    this.where[2 * id] = off;
    this.where[2 * id + 1] = w;
    if (this.keys * 2 > this.slots.length >> 2) this.rehash(this.slots.length >> 1);
    place(this.slots, id, h, off, w);
    return id;
  }

  /** Moves every key into a table of `size` slots. */
  private rehash(size: number): void {
    const old = this.slots, slots = new Int32Array(4 * size).fill(-1);
    for (let q = 0; q < old.length; q += 4) if (old[q]! >= 0) place(slots, old[q]!, old[q + 1]!, old[q + 2]!, old[q + 3]!);
    this.slots = slots;
  }
}

function place(slots: Int32Array, id: number, h: number, off: number, w: number): void {
  const mask = (slots.length >> 2) - 1;
  let p = h & mask;
  while (slots[4 * p]! >= 0) p = (p + 1) & mask;
  const q = 4 * p;
  slots[q] = id;
  slots[q + 1] = h;
  slots[q + 2] = off;
  slots[q + 3] = w;
}
