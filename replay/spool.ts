/**
 * A trace source's requests parsed once and kept on disk in their columns, to be read again at disk speed.
 * `coldrl train` reads a streamed log several times (its length, the training stretch, the training
 * passes, one replay per policy in the held-out check, each source tried by --candidates auto), and
 * `coldrl replay` once per run: with a spool the log is parsed once and every later pass reads the spool
 * (33 bytes per request), in this thread or in a worker (share, attach).
 *
 * Layout: chunks of one source batch each: a u32 count n, then time (f64 x n), id (i32 x n), size (f64 x n),
 * ttl (f64 x n), rtt (f32 x n), flags (u8 x n), in the machine's byte order. A reader with a smaller batch
 * reads a chunk in parts (positioned reads, straight into the batch's columns). The file is unlinked as
 * soon as it is created: its space comes back when the spool is closed or the process ends, however it ends.
 */
import { closeSync, openSync, readSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ColdrlError } from './errors.js';
import { Progress } from './progress.js';
import { formatBytes } from './size.js';
import { ReaderStats, RequestBatch, type KeyTable, type TraceSource } from './trace.js';

type Column = 'time' | 'id' | 'size' | 'ttl' | 'rtt' | 'flags';
/** The columns in file order, with their element sizes in bytes. */
const COLUMNS: readonly [Column, number][] = [['time', 8], ['id', 4], ['size', 8], ['ttl', 8], ['rtt', 4], ['flags', 1]];
/** Bytes per request in a spool (each chunk adds 4). */
export const SPOOL_BYTES_PER_REQUEST = COLUMNS.reduce((a, [, w]) => a + w, 0);

const bytesOf = (a: ArrayBufferView, n: number, w: number) => new Uint8Array(a.buffer, a.byteOffset, n * w);

/** The object table of a shared spool: how many objects and their unique bytes, without their keys. */
class SharedObjects implements KeyTable {
  constructor(readonly count: number, readonly uniqueBytes: number) {}
  key(): never { throw new ColdrlError('COLDRL_ERR_INVARIANT', 'a spool shared by another thread holds no keys'); }
}

/** What a worker thread needs to read a spool of this process (Spool.share, Spool.attach): plain data. */
export interface SharedSpool { fd: number; name: string; length: number; bytes: number; objects: number; uniqueBytes: number; chunks: { at: number; n: number }[] }

/** A finished spool: the requests of one full read of a source, with that read's object table and counts. */
export class Spool {
  private fd: number | null;

  private constructor(fd: number, readonly name: string, readonly length: number, readonly bytes: number, readonly interner: KeyTable,
    readonly stats: ReaderStats, private readonly chunks: readonly { at: number; n: number }[], private readonly owner = true) {
    this.fd = fd;
  }

  /** The spool as plain data for a worker thread of this process (threads share the process's files). */
  share(): SharedSpool {
    if (this.fd === null) throw new ColdrlError('COLDRL_ERR_USAGE', `the spool of ${this.name} was closed`);
    return { fd: this.fd, name: this.name, length: this.length, bytes: this.bytes, objects: this.interner.count, uniqueBytes: this.interner.uniqueBytes, chunks: [...this.chunks] };
  }

  /**
   * A spool shared by another thread of this process: its requests, its object count and unique bytes (no
   * keys), no reader counts; closing it leaves the file to the thread that wrote it.
   */
  static attach(s: SharedSpool): Spool {
    return new Spool(s.fd, s.name, s.length, s.bytes, new SharedObjects(s.objects, s.uniqueBytes), new ReaderStats(), s.chunks, false);
  }

  /**
   * Reads `src` to its end (closing it) into a spool created at `path`, calling `onBatch` with the requests
   * read so far. When the spool cannot be written (no such folder, a full disk) or would grow past
   * `maxBytes`, the read goes on to the end all the same: the answer is then the request count and the
   * error, and the caller reads `src`'s file again on every pass, as without a spool.
   */
  static async write(src: TraceSource, path: string, onBatch?: (requests: number) => void, maxBytes = Infinity): Promise<Spool | { length: number; error: Error }> {
    const b = new RequestBatch(1 << 15);
    const head = new Uint32Array(1);
    const chunks: { at: number; n: number }[] = [];
    let fd: number | null = null, at = 0, length = 0, error: Error | null = null;
    /** Gives up the spool (the file is already unlinked): the read goes on without it. */
    const drop = (e: unknown) => {
      error ??= e as Error;
      if (fd !== null) closeSync(fd);
      fd = null;
    };
    const put = (bytes: Uint8Array) => {
      if (writeSync(fd!, bytes) !== bytes.length) throw new Error(`short write at byte ${at}`);
      at += bytes.length;
    };
    try {
      try {
        fd = openSync(path, 'w+');
        rmSync(path);
      } catch (e) { drop(e); }
      for (let got = await src.read(b); got > 0; got = await src.read(b)) {
        if (fd !== null) {
          try {
            if (at + 4 + got * SPOOL_BYTES_PER_REQUEST > maxBytes) throw new Error(`it would take more than ${formatBytes(maxBytes)}, half the free space there`);
            head[0] = got;
            put(bytesOf(head, 1, 4));
            chunks.push({ at, n: got });
            for (const [c, w] of COLUMNS) put(bytesOf(b[c], got, w));
          } catch (e) { drop(e); }
        }
        length += got;
        onBatch?.(length);
      }
    } catch (e) {
      drop(e);
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
      length: this.length,
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

  /** Gives the spool's space back (the thread that wrote it); its sources read nothing more. */
  close(): void {
    if (this.fd !== null && this.owner) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Spool.write into a new file of folder `dir`, using at most half its free space, with a progress line
 * (`reading NAME`) when asked: the spool, or the request count and why it could not be written.
 */
export async function spoolInto(src: TraceSource, dir: string, progress: boolean): Promise<Spool | { length: number; error: Error }> {
  const bar = progress ? new Progress(`reading ${basename(src.name)}`, 0) : null;
  // at most half the free space of the folder: a spool must not fill the disk of the proxy it serves
  let free = Infinity;
  try {
    const fs = statfsSync(dir);
    free = fs.bavail * fs.bsize;
  } catch { /* no such folder: Spool.write says so */ }
  try {
    return await Spool.write(src, join(dir, `coldrl-spool-${process.pid}-${Date.now()}`), bar ? (n) => bar.update(n) : undefined, free / 2);
  } finally {
    bar?.done();
  }
}

/** The line that says a spool was made, or why it was not. */
export function spoolLine(spool: Spool | { length: number; error: Error }, dir: string): string {
  return spool instanceof Spool
    ? `${spool.length} requests parsed once, spooled in ${dir} (${formatBytes(spool.bytes)}, freed at exit) for the passes that follow`
    : `note: the parsed requests could not be spooled in ${dir} (${spool.error.message}); the file is parsed again on every pass (--spool-dir DIR: another place)`;
}
