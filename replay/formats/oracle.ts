/**
 * libCacheSim's oracleGeneral binary traces, the form its public trace collection ships in: no header, one
 * 24-byte little-endian record per request,
 *
 *   uint32 clock_time (s)   uint64 obj_id   uint32 obj_size (bytes)   int64 next_access_vtime
 *
 * next_access_vtime is not read: the simulator computes next uses itself (Trace.nextUse). No TTL, RTT or
 * cacheability. An id up to 2^53 is a number key, a larger one its decimal text. A record of size 0 is a
 * bad record (as a CSV line's), and so are bytes left over at the end, short of a whole record. Gzip and
 * zstd (`.zst`, through the zstd program) are read transparently by readChunks().
 */
import { Interner, ReaderStats, readChunks, type ReadOptions, type RequestBatch, type TraceSource } from '../trace.js';

export const ORACLE_RECORD_BYTES = 24;
const TWO_32 = 2 ** 32;
/** Ids whose high word is below this are exact doubles (< 2^53). */
const SAFE_HI = 2 ** 21;
const EMPTY = Buffer.alloc(0);

export class OracleGeneralSource implements TraceSource {
  readonly interner = new Interner();
  readonly stats = new ReaderStats();
  private readonly chunks: AsyncGenerator<Buffer>;
  private chunk: Buffer = EMPTY;
  private pos = 0;

  constructor(readonly path: string, private readonly opts: ReadOptions = {}) {
    this.chunks = readChunks(path);
  }

  get name(): string { return this.path; }

  async read(b: RequestBatch): Promise<number> {
    let n = 0;
    while (n < b.capacity) {
      if (this.chunk.length - this.pos < ORACLE_RECORD_BYTES && !(await this.refill())) break;
      if (this.parse(this.chunk, this.pos, b, n)) n++;
      this.pos += ORACLE_RECORD_BYTES;
    }
    return n;
  }

  /** Makes a whole record available at this.pos (a record split across chunks is put together); false at the end. */
  private async refill(): Promise<boolean> {
    for (;;) {
      const rest = this.chunk.subarray(this.pos);
      const r = await this.chunks.next();
      this.pos = 0;
      if (r.done) {
        this.chunk = EMPTY;
        if (rest.length > 0) this.bad(`${rest.length} bytes at the end, short of a ${ORACLE_RECORD_BYTES}-byte record`);
        return false;
      }
      this.chunk = rest.length > 0 ? Buffer.concat([rest, r.value]) : r.value;
      if (this.chunk.length >= ORACLE_RECORD_BYTES) return true;
    }
  }

  private bad(reason: string): false {
    return this.stats.bad(reason, `${this.path}: record ${this.stats.lines}`, this.opts.skipBad ? null : 'use --skip-bad to count and skip such records');
  }

  private parse(c: Buffer, at: number, b: RequestBatch, n: number): boolean {
    this.stats.lines++;
    const time = c.readUInt32LE(at);
    const lo = c.readUInt32LE(at + 4), hi = c.readUInt32LE(at + 8);
    const size = c.readUInt32LE(at + 12);
    if (size === 0) return this.bad('zero size');
    const key = hi < SAFE_HI ? hi * TWO_32 + lo : c.readBigUInt64LE(at + 4).toString();
    this.stats.time(time);
    b.time[n] = time;
    b.id[n] = this.interner.intern(key, size);
    b.size[n] = size;
    b.ttl[n] = this.opts.defaultTtl ?? Infinity;
    b.rtt[n] = 0;
    b.flags[n] = 0;
    this.stats.requests++;
    return true;
  }

  close(): void { void this.chunks.return(undefined); }
}
