/**
 * libCacheSim-style CSV traces: `timestamp,obj_id,size` with or without a header line. Optional extra
 * columns, taken by header name (or by position 4 and 5 without a header): `ttl` (seconds; empty = none) and
 * `rtt` (ms), and `cacheable` (0/1). Timestamps are seconds (fractions allowed). Object ids are numbers or
 * any text without the separator. The separator is taken from the first line: a tab if it has one, else a
 * comma if it has one, else runs of spaces (libCacheSim's csv reader takes any, as an option). Streamed in
 * chunks; gzip and zstd are handled transparently by readLines().
 */
import { ColdrlError } from '../errors.js';
import { FLAG_UNCACHEABLE, Interner, ReaderStats, readLines, type ReadOptions, type RequestBatch, type TraceSource } from '../trace.js';

const TIME_NAMES = new Set(['timestamp', 'time', 'ts', 'clock_time', 'real_time']);
const ID_NAMES = new Set(['obj_id', 'id', 'key', 'object', 'obj', 'object_id', 'url', 'uri']);
const SIZE_NAMES = new Set(['size', 'obj_size', 'bytes', 'object_size', 'length', 'content_length']);

interface Separator { readonly name: string; split(line: string): string[] }
const COMMA: Separator = { name: 'commas', split: (line) => line.split(',') };
const TAB: Separator = { name: 'tabs', split: (line) => line.split('\t') };
const SPACES: Separator = { name: 'spaces', split: (line) => line.trim().split(/ +/) };

/** The separator of a file whose first line is `line`. */
function separatorOf(line: string): Separator {
  return line.includes('\t') ? TAB : line.includes(',') ? COMMA : SPACES;
}

export class CsvSource implements TraceSource {
  readonly interner = new Interner();
  readonly stats = new ReaderStats();
  private readonly lines: AsyncGenerator<string[]>;
  private pending: string[] = [];
  private pos = 0;
  private lineNo = 0;
  private cols = { time: 0, id: 1, size: 2, ttl: 3, rtt: 4, cacheable: -1 };
  private headerChecked = false;
  private sep: Separator = COMMA;
  private readonly defaultTtl: number;

  constructor(readonly path: string, private readonly opts: ReadOptions = {}) {
    this.lines = readLines(path);
    this.defaultTtl = opts.defaultTtl ?? Infinity;
  }

  get name(): string { return this.path; }

  async read(b: RequestBatch): Promise<number> {
    let n = 0;
    const cap = b.capacity;
    while (n < cap) {
      if (this.pos >= this.pending.length) {
        const r = await this.lines.next();
        if (r.done) break;
        this.pending = r.value;
        this.pos = 0;
        continue;
      }
      const line = this.pending[this.pos++]!;
      this.lineNo++;
      if (this.parse(line, b, n)) n++;
    }
    return n;
  }

  private bad(reason: string): false {
    return this.stats.bad(reason, `${this.path}:${this.lineNo}`, this.opts.skipBad ? null : 'use --skip-bad to count and skip such lines');
  }

  private parse(raw: string, b: RequestBatch, n: number): boolean {
    const line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (line.length === 0) return false;
    if (!this.headerChecked) this.sep = separatorOf(line);
    const f = this.sep.split(line);
    if (!this.headerChecked) {
      this.headerChecked = true;
      const lower = f.map((s) => s.trim().toLowerCase());
      if (lower.some((s) => TIME_NAMES.has(s) || ID_NAMES.has(s) || SIZE_NAMES.has(s))) {
        const find = (names: Set<string> | string) => lower.findIndex((s) => (typeof names === 'string' ? s === names : names.has(s)));
        this.cols = { time: find(TIME_NAMES), id: find(ID_NAMES), size: find(SIZE_NAMES), ttl: find('ttl'), rtt: find('rtt'), cacheable: find('cacheable') };
        const missing = this.cols.id < 0 ? ['object id', ID_NAMES] as const : this.cols.size < 0 ? ['size', SIZE_NAMES] as const : null;
        if (missing) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${this.path}: the header names no ${missing[0]} column (one of ${[...missing[1]].join(', ')})`);
        return false;
      }
    }
    this.stats.lines++;
    const c = this.cols;
    if (f.length < 3) return this.bad(`fewer than 3 fields (separated by ${this.sep.name}, as the first line is)`);
    const time = c.time >= 0 ? Number(f[c.time]) : this.stats.requests;
    if (!Number.isFinite(time)) return this.bad('timestamp is not a number');
    const keyText = f[c.id]!.trim();
    if (keyText.length === 0) return this.bad('empty object id');
    const size = Number(f[c.size]);
    if (!Number.isFinite(size)) return this.bad('size is not a number');
    if (!(size > 0)) return this.bad('zero or negative size');
    if (!Number.isSafeInteger(size)) return this.bad('size is not a whole number of bytes');
    let ttl = this.defaultTtl;
    if (c.ttl >= 0 && c.ttl < f.length && f[c.ttl]!.length > 0) {
      ttl = Number(f[c.ttl]);
      if (Number.isNaN(ttl)) return this.bad('ttl is not a number');
    }
    let rtt = 0;
    if (c.rtt >= 0 && c.rtt < f.length && f[c.rtt]!.length > 0) {
      rtt = Number(f[c.rtt]);
      if (!Number.isFinite(rtt)) return this.bad('rtt is not a number');
    }
    const uncacheable = c.cacheable >= 0 && c.cacheable < f.length && f[c.cacheable]!.trim() === '0';
    // a number only where it is the number's own text: 007 and 7 are two objects
    const key = /^(?:0|[1-9]\d{0,14})$/.test(keyText) ? Number(keyText) : keyText;
    this.stats.time(time);
    b.time[n] = time;
    b.id[n] = this.interner.intern(key, size);
    b.size[n] = size;
    b.ttl[n] = ttl;
    b.rtt[n] = rtt;
    b.flags[n] = uncacheable ? FLAG_UNCACHEABLE : 0;
    this.stats.requests++;
    if (uncacheable) this.stats.uncacheable++;
    return true;
  }

  close(): void { void this.lines.return(undefined); }
}
