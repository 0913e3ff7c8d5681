import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { ColdrlError, type ErrorCode } from './errors.js';
import { Interner } from './interner.js';

export { Interner };

/** Request flag bits (RequestBatch.flags). */
export const FLAG_UNCACHEABLE = 1;
/**
 * With FLAG_UNCACHEABLE: NGINX did not look the key up at all (a method it does not cache, or
 * proxy_cache_bypass), so no request was counted in the key's node. Without it, an uncacheable request is
 * one whose response NGINX did not store after a lookup that counted one (proxy_cache_min_uses).
 */
export const FLAG_NO_LOOKUP = 2;

/**
 * A column-wise block of requests. Readers fill a reused batch (no per-request objects); the whole trace in
 * memory is one big batch (Trace). Units: time in seconds, size in bytes, ttl in seconds (+Infinity = no
 * expiry), rtt in milliseconds (0 = unknown).
 */
export class RequestBatch {
  length = 0;
  time: Float64Array;
  id: Int32Array;
  size: Float64Array;
  ttl: Float64Array;
  rtt: Float32Array;
  flags: Uint8Array;
  constructor(readonly capacity: number) {
    this.time = new Float64Array(capacity);
    this.id = new Int32Array(capacity);
    this.size = new Float64Array(capacity);
    this.ttl = new Float64Array(capacity);
    this.rtt = new Float32Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  /** Copies requests [from, from + n) of `src` to [at, at + n) here; `src` may be this batch (a shift). */
  copy(src: RequestBatch, from: number, n: number, at = 0): void {
    for (const c of COLUMNS) {
      const to = this[c], of = src[c];
      if (to === of) to.copyWithin(at, from, from + n);
      else to.set(of.subarray(from, from + n), at);
    }
  }
}

/** RequestBatch's columns, for code that moves whole requests. */
const COLUMNS = ['time', 'id', 'size', 'ttl', 'rtt', 'flags'] as const;

/**
 * What a reader learned of the objects: their keys by dense id (0, 1, 2, ... in order of first appearance)
 * and the bytes of their first sizes (for cache sizes given in %).
 */
export interface KeyTable {
  readonly count: number;
  readonly uniqueBytes: number;
  /** The key of object `id` (0 <= id < count). */
  key(id: number): number | string;
}

/** The keys of some of another table's objects: id i here is parents[i] there (Trace.slice). */
class SubsetKeys implements KeyTable {
  constructor(private readonly of: KeyTable, private readonly parents: readonly number[], readonly uniqueBytes: number) {}
  get count(): number { return this.parents.length; }
  key(id: number): number | string { return this.of.key(this.parents[id]!); }
}

const NO_KEYS: KeyTable = new Interner();

/** What a reader saw: lines read, requests used, skipped lines by reason, and the first few bad lines. */
export class ReaderStats {
  lines = 0;
  requests = 0;
  uncacheable = 0;
  readonly skipped: Record<string, number> = {};
  readonly examples: string[] = [];
  /** Requests timed earlier than the latest before them, and the largest such step back (seconds). */
  backwards = 0;
  maxBackwards = 0;
  private latest = -Infinity;
  skip(reason: string, where: string, maxExamples = 5): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    if (this.examples.length < maxExamples) this.examples.push(`${where}: ${reason}`);
  }
  /**
   * A line or record a reader cannot use: fatal (COLDRL_ERR_BAD_LINE, `fatal` in brackets saying why or
   * how to go on), or counted and skipped when `fatal` is null.
   */
  bad(reason: string, where: string, fatal: string | null): false {
    if (fatal !== null) throw new ColdrlError('COLDRL_ERR_BAD_LINE', `${where}: ${reason} (${fatal})`);
    this.skip(reason, where);
    return false;
  }
  /** Notes a used request's time: replays take times as they are, but steps back are counted and reported. */
  time(t: number): void {
    if (t >= this.latest) { this.latest = t; return; }
    this.backwards++;
    if (this.latest - t > this.maxBackwards) this.maxBackwards = this.latest - t;
  }
  get skippedTotal(): number { return Object.values(this.skipped).reduce((a, b) => a + b, 0); }
  summary(): string {
    const parts = Object.entries(this.skipped).map(([r, n]) => `${r}: ${n}`);
    return `lines read ${this.lines}, requests used ${this.requests}` +
      (this.uncacheable ? ` (${this.uncacheable} uncacheable)` : '') +
      `, skipped ${this.skippedTotal}${parts.length ? ` (${parts.join(', ')})` : ''}` +
      (this.backwards ? `; ${this.backwards} timed earlier than a request before them (by ${+this.maxBackwards.toPrecision(3)} s at most;`
        + ' replayed in file order, with their own times)' : '');
  }
}

/** A streaming source of requests. read() fills `b` from index 0 and returns how many it wrote; 0 = end. */
export interface TraceSource {
  readonly name: string;
  readonly interner: KeyTable;
  readonly stats: ReaderStats;
  /** The requests it gives in all, when known before reading (a spool, a slice of one): progress shows a share and an ETA. */
  readonly length?: number;
  read(b: RequestBatch): Promise<number>;
  close(): void;
}

export interface ReadOptions {
  /** Count and report malformed lines instead of failing on the first. */
  skipBad?: boolean;
  /** TTL in seconds for requests that carry none (nginx semantics' proxy_cache_valid); default +Infinity. */
  defaultTtl?: number;
}

/** The whole trace in memory: one batch holding every request, plus what the interner learned. */
export class Trace extends RequestBatch {
  name = '';
  objects = 0;
  uniqueBytes = 0;
  keys: KeyTable = NO_KEYS;
  private nextUseCache: Float64Array | null = null;

  /** Index of the next request for the same object, +Infinity when none. One backward pass, cached. */
  nextUse(): Float64Array {
    if (this.nextUseCache) return this.nextUseCache;
    const n = this.length;
    const nu = new Float64Array(n);
    const seen = new Float64Array(this.objects).fill(Infinity);
    for (let i = n - 1; i >= 0; i--) {
      const id = this.id[i]!;
      nu[i] = seen[id]!;
      seen[id] = i;
    }
    this.nextUseCache = nu;
    return nu;
  }

  /**
   * The first and the second half of the requests (the tragen protocol: train on the first, evaluate on the
   * second); null when there are too few requests to split.
   */
  halves(): [Trace, Trace] | null {
    const half = Math.floor(this.length / 2);
    return half < 1 ? null : [this.slice(0, half), this.slice(half, this.length)];
  }

  /** The key of object `id`. */
  key(id: number): number | string { return this.keys.key(id); }

  /** Requests [from, to) as a trace over the same arrays, ids and keys (no copy). */
  view(from: number, to: number): Trace {
    const v = new Trace(0);
    const a = Math.max(0, Math.min(from, this.length)), b = Math.max(a, Math.min(to, this.length));
    v.time = this.time.subarray(a, b); v.id = this.id.subarray(a, b); v.size = this.size.subarray(a, b);
    v.ttl = this.ttl.subarray(a, b); v.rtt = this.rtt.subarray(a, b); v.flags = this.flags.subarray(a, b);
    v.length = b - a;
    v.name = `${this.name}[${a}:${b}]`;
    v.objects = this.objects;
    v.uniqueBytes = this.uniqueBytes;
    v.keys = this.keys;
    return v;
  }

  /** Requests [from, to) as a new trace with ids re-densified (e.g. "second half" evaluations). */
  slice(from: number, to: number): Trace {
    const n = Math.max(0, Math.min(to, this.length) - from);
    const t = new Trace(n);
    // ids[id here] = id in the slice (-1: not met yet); parents: the reverse
    const ids = new Int32Array(this.objects).fill(-1);
    const parents: number[] = [];
    let unique = 0;
    for (let j = 0; j < n; j++) {
      const i = from + j;
      t.time[j] = this.time[i]!;
      t.size[j] = this.size[i]!;
      t.ttl[j] = this.ttl[i]!;
      t.rtt[j] = this.rtt[i]!;
      t.flags[j] = this.flags[i]!;
      const old = this.id[i]!;
      let id = ids[old]!;
      if (id < 0) {
        id = ids[old] = parents.length;
        parents.push(old);
        unique += this.size[i]!;
      }
      t.id[j] = id;
    }
    t.length = n;
    t.name = `${this.name}[${from}:${from + n}]`;
    t.objects = parents.length;
    t.uniqueBytes = unique;
    t.keys = new SubsetKeys(this.keys, parents, unique);
    return t;
  }
}

/** Reads a whole source into memory. */
export async function loadTrace(src: TraceSource): Promise<Trace> {
  const chunk = new RequestBatch(1 << 16);
  let t = new Trace(1 << 16);
  let n = 0;
  for (;;) {
    const got = await src.read(chunk);
    if (got === 0) break;
    if (n + got > t.capacity) {
      let c = t.capacity * 2;
      while (c < n + got) c *= 2;
      const bigger = new Trace(c);
      bigger.copy(t, 0, n);
      t = bigger;
    }
    t.copy(chunk, 0, got, n);
    n += got;
  }
  src.close();
  if (n === 0) throw new ColdrlError('COLDRL_ERR_EMPTY_TRACE', `${src.name}: the trace holds no requests`);
  t.length = n;
  t.name = src.name;
  t.objects = src.interner.count;
  t.uniqueBytes = src.interner.uniqueBytes;
  t.keys = src.interner;
  return t;
}

/** Builds an in-memory trace from arrays (generators, tests). ttl/rtt optional; noLookup: uncacheable and FLAG_NO_LOOKUP. */
export function traceFromArrays(name: string, rows: { time: number; key: number | string; size: number; ttl?: number; rtt?: number; uncacheable?: boolean; noLookup?: boolean }[]): Trace {
  const t = new Trace(Math.max(1, rows.length));
  const interner = new Interner();
  rows.forEach((r, i) => {
    t.time[i] = r.time;
    t.id[i] = interner.intern(r.key, r.size);
    t.size[i] = r.size;
    t.ttl[i] = r.ttl ?? Infinity;
    t.rtt[i] = r.rtt ?? 0;
    t.flags[i] = r.noLookup ? FLAG_UNCACHEABLE | FLAG_NO_LOOKUP : r.uncacheable ? FLAG_UNCACHEABLE : 0;
  });
  t.length = rows.length;
  t.name = name;
  t.objects = interner.count;
  t.uniqueBytes = interner.uniqueBytes;
  t.keys = interner;
  return t;
}

/**
 * Async chunks of a file, decompressed transparently when it starts with the magic bytes of gzip (zlib),
 * or of zstd, xz or bzip2 (through their programs: DECOMPRESSORS).
 */
export async function* readChunks(path: string): AsyncGenerator<Buffer> {
  const magic = Buffer.alloc(MAGIC_BYTES);
  let got = 0;
  try {
    if (!statSync(path).isFile()) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${path}: not a file`);
    const fd = openSync(path, 'r');
    try { got = readSync(fd, magic, 0, MAGIC_BYTES, 0); } finally { closeSync(fd); }
  } catch (e) {
    if (e instanceof ColdrlError) throw e;
    throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${path}: no such file`);
  }
  const program = DECOMPRESSORS.find((d) => startsWith(magic, got, d));
  if (program) { yield* throughProgram(path, program); return; }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const gzipped = got >= 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const stream = gzipped ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  for await (const c of stream) yield c as Buffer;
}

/**
 * Compressions read through a program (Node 20's zlib has neither zstd nor xz, and no bzip2): the
 * magic bytes a file starts with, the program that writes it out (`-dcq`), and the Debian package that has
 * it. logrotate compresses with gzip unless its compresscmd says otherwise.
 */
interface Decompressor { readonly program: string; readonly magic: readonly (number | readonly number[])[]; readonly pkg: string; readonly code: ErrorCode }
const DECOMPRESSORS: readonly Decompressor[] = [
  { program: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], pkg: 'zstd', code: 'COLDRL_ERR_NO_ZSTD' },
  { program: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], pkg: 'xz-utils', code: 'COLDRL_ERR_NO_DECOMPRESSOR' },
  // "BZh", the block size '1'..'9', then a block's magic (0x314159...) or the end of an empty stream (0x177245...):
  // a text file that starts with "BZh" is still text
  { program: 'bzip2', magic: [0x42, 0x5a, 0x68, [0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39], [0x31, 0x17], [0x41, 0x72]], pkg: 'bzip2', code: 'COLDRL_ERR_NO_DECOMPRESSOR' },
];
const startsWith = (magic: Buffer, got: number, d: Decompressor): boolean =>
  got >= d.magic.length && d.magic.every((b, i) => (typeof b === 'number' ? magic[i] === b : b.includes(magic[i]!)));
const MAGIC_BYTES = 6;

/** A compressed file's decompressed chunks, from `PROGRAM -dcq`; the program is stopped if the reader stops early. */
async function* throughProgram(path: string, d: Decompressor): AsyncGenerator<Buffer> {
  const child = spawn(d.program, ['-dcq', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (data: string) => { stderr += data; });
  const exited = new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
  exited.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  try {
    for await (const c of child.stdout) yield c as Buffer;
    const code = await exited;
    if (code !== 0) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${path}: ${d.program} could not decompress it (${stderr.trim() || `exit code ${code}`})`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ColdrlError(d.code, `${path}: ${d.program}-compressed, and the ${d.program} program is not installed (apt-get install ${d.pkg}, or decompress the file first)`);
    }
    throw e;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

/**
 * Splits async chunks into lines (without the newline). Bytes are read as latin1, one character each, so
 * that text keys are their bytes: a UTF-8 character split across two chunks stays one, and two keys that
 * differ only in bytes that are not UTF-8 stay two (the NGINX reader keeps its keys as bytes too).
 */
export async function* readLines(path: string): AsyncGenerator<string[]> {
  let rest = '';
  let first = true;
  for await (const chunk of readChunks(path)) {
    // a UTF-8 byte order mark (spreadsheets write one) is not part of the first line
    const bom = first && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;
    first = false;
    const text = rest + chunk.toString('latin1', bom ? 3 : 0);
    const lines = text.split('\n');
    rest = lines.pop()!;
    yield lines;
  }
  if (rest.length) yield [rest];
}
