/**
 * A trace source's requests parsed once and kept on disk in their columns, to be read again at disk speed.
 * `coldrl train` reads a streamed log several times (its length, the training stretch, the training
 * passes, one replay per policy in the held-out check, each source tried by --candidates auto): with a
 * spool the log is parsed once and every later pass reads the spool (33 bytes per request).
 *
 * Layout: chunks of one source batch each: a u32 count n, then time (f64 x n), id (i32 x n), size (f64 x n),
 * ttl (f64 x n), rtt (f32 x n), flags (u8 x n), in the machine's byte order. A reader with a smaller batch
 * reads a chunk in parts (positioned reads, straight into the batch's columns). The file is unlinked as
 * soon as it is created: its space comes back when the spool is closed or the process ends, however it ends.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { ColdrlError } from './errors.js';
import { RequestBatch, type Interner, type ReaderStats, type TraceSource } from './trace.js';

type Column = 'time' | 'id' | 'size' | 'ttl' | 'rtt' | 'flags';
/** The columns in file order, with their element sizes in bytes. */
const COLUMNS: readonly [Column, number][] = [['time', 8], ['id', 4], ['size', 8], ['ttl', 8], ['rtt', 4], ['flags', 1]];
/** Bytes per request in a spool (and 4 per chunk). */
export const SPOOL_BYTES_PER_REQUEST = COLUMNS.reduce((a, [, w]) => a + w, 0);

const bytesOf = (a: ArrayBufferView, n: number, w: number) => new Uint8Array(a.buffer, a.byteOffset, n * w);

/** A finished spool: the requests of one full read of a source, with that read's object table and counts. */
export class Spool {
  private fd: number | null;

  private constructor(fd: number, readonly name: string, readonly length: number, readonly bytes: number, readonly interner: Interner,
    readonly stats: ReaderStats, private readonly chunks: readonly { at: number; n: number }[]) {
    this.fd = fd;
  }

  /**
   * Reads `src` to its end (closing it) into a spool created at `path`, calling `onBatch` with the requests
   * read so far. When the spool cannot be written (no such folder, a full disk) the read goes on to the end
   * all the same: the answer is then the request count and the error, and the caller reads `src`'s file
   * again on every pass, as without a spool.
   */
  static async write(src: TraceSource, path: string, onBatch?: (requests: number) => void): Promise<Spool | { length: number; error: Error }> {
    const b = new RequestBatch(1 << 15);
    const head = new Uint32Array(1);
    const chunks: { at: number; n: number }[] = [];
    let fd: number | null = null, at = 0, length = 0, error: Error | null = null;
    try {
      try {
        fd = openSync(path, 'w+');
        rmSync(path);
      } catch (e) {
        error = e as Error;
        if (fd !== null) closeSync(fd);
        fd = null;
      }
      for (let got = await src.read(b); got > 0; got = await src.read(b)) {
        if (fd !== null) {
          try {
            head[0] = got;
            at += writeSync(fd, bytesOf(head, 1, 4));
            chunks.push({ at, n: got });
            for (const [c, w] of COLUMNS) at += writeSync(fd, bytesOf(b[c], got, w));
          } catch (e) {
            error = e as Error;
            closeSync(fd);
            fd = null;
          }
        }
        length += got;
        onBatch?.(length);
      }
    } catch (e) {
      if (fd !== null) closeSync(fd);
      throw e;
    } finally {
      src.close();
    }
    if (fd === null) return { length, error: error! };
    return new Spool(fd, src.name, length, at, src.interner, src.stats, chunks);
  }

  /** A source over the spooled requests, from the first; its interner and stats are those of the read spooled. */
  open(): TraceSource {
    const spool = this;
    const chunks = this.chunks;
    let chunk = 0, done = 0, open = true;
    return {
      name: this.name,
      interner: this.interner,
      stats: this.stats,
      async read(b: RequestBatch): Promise<number> {
        const fd = spool.fd;
        if (!open || chunk >= chunks.length) return 0;
        if (fd === null) throw new ColdrlError('COLDRL_ERR_USAGE', `the spool of ${spool.name} was closed`);
        const { at, n } = chunks[chunk]!;
        const take = Math.min(n - done, b.capacity);
        let col = at;
        for (const [c, w] of COLUMNS) {
          const want = take * w;
          if (readSync(fd, bytesOf(b[c], take, w), 0, want, col + done * w) !== want) {
            throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `the spool of ${spool.name} ends early`);
          }
          col += n * w;
        }
        done += take;
        if (done === n) { chunk++; done = 0; }
        b.length = take;
        return take;
      },
      close() { open = false; },
    };
  }

  /** Gives the spool's space back; its sources read nothing more. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
