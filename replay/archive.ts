/**
 * Log archives: a trace path may be a file, a directory, or a glob in its last component
 * (`DIR/access.log*`). The files are returned oldest first, the order logrotate leaves them in:
 *   access.log-20240101[.gz], access.log-20240102[.gz]   (dateext: ascending date, oldest first; any
 *                                                         dateformat that starts with the year, with or
 *                                                         without separators: -2024-01-01, -20240101-1704067200)
 *   access.log.9.gz ... access.log.2.gz, access.log.1     (numbered: highest rotation number first)
 *   access.log                                            (the live file last)
 * (.gz, .zst, .xz or .bz2, as logrotate's compresscmd leaves them.)
 * Files with different base names are grouped by base name in alphabetical order. A directory means every
 * regular, non-hidden file in it. Reading them in turn (replay/formats) keeps memory constant.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ColdrlError } from './errors.js';
import { Interner, ReaderStats, type RequestBatch, type TraceSource } from './trace.js';

interface Rotated { path: string; base: string; rank: number; date: string }

/** A dateext suffix: the year first, then digits with or without - _ . between them (8 digits at least). */
const DATE_SUFFIX = /^(.*?)-(\d{4}[-_.]?\d{2}[-_.]?\d{2}(?:[-_.]?\d+)*)$/;

function rotation(path: string): Rotated {
  const name = basename(path).replace(/\.(gz|zst|xz|bz2)$/, '');
  let m = DATE_SUFFIX.exec(name);
  if (m) return { path, base: m[1]!, rank: 0, date: m[2]!.replace(/[-_.]/g, '') };
  m = /^(.*)\.(\d+)$/.exec(name);
  if (m) return { path, base: m[1]!, rank: 1, date: String(1e9 - Number(m[2])).padStart(10, '0') };
  return { path, base: name, rank: 2, date: '' };
}

/** Orders rotated log files oldest first (see the module comment). */
export function orderRotated(paths: string[]): string[] {
  return paths.map(rotation).sort((a, b) =>
    a.base < b.base ? -1 : a.base > b.base ? 1 : a.rank - b.rank || (a.date < b.date ? -1 : a.date > b.date ? 1 : 0),
  ).map((r) => r.path);
}

function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

function isFile(p: string): boolean {
  try { return statSync(p).isFile(); } catch { return false; }
}

/** Expands a file, directory or last-component glob into the files to read, oldest first. */
export function expandTracePath(path: string): string[] {
  const name = basename(path);
  if (/[*?]/.test(name)) {
    const dir = dirname(path);
    if (/[*?]/.test(dir)) throw new ColdrlError('COLDRL_ERR_USAGE', `${path}: a glob may only use * and ? in the file name`);
    const re = globToRegExp(name);
    let entries: string[];
    try { entries = readdirSync(dir); } catch { throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${dir}: no such directory`); }
    const files = entries.filter((e) => re.test(e)).map((e) => join(dir, e)).filter(isFile);
    if (files.length === 0) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${path}: no file matches`);
    return orderRotated(files);
  }
  let st;
  try { st = statSync(path); } catch { return [path]; /* the reader reports the missing file */ }
  if (!st.isDirectory()) return [path];
  const files = readdirSync(path).filter((e) => !e.startsWith('.')).map((e) => join(path, e)).filter(isFile);
  if (files.length === 0) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${path}: the directory holds no files`);
  return orderRotated(files);
}

/**
 * Reads several single-file sources in turn as one trace: ids are re-mapped through one shared interner
 * (the same key in two files is one object) and the per-file counts are summed; steps back in time are
 * counted over the whole chain, across files. One file is open at a time.
 */
export class ChainSource implements TraceSource {
  readonly interner = new Interner();
  readonly stats = new ReaderStats();
  private current: TraceSource | null = null;
  private next = 0;

  constructor(readonly name: string, private readonly files: string[], private readonly open: (file: string) => TraceSource) {}

  async read(b: RequestBatch): Promise<number> {
    for (;;) {
      if (!this.current) {
        if (this.next >= this.files.length) return 0;
        this.current = this.open(this.files[this.next++]!);
      }
      const src = this.current;
      const got = await src.read(b);
      if (got > 0) {
        const keys = src.interner;
        for (let i = 0; i < got; i++) {
          b.id[i] = this.interner.intern(keys.key(b.id[i]!), b.size[i]!);
          this.stats.time(b.time[i]!);
        }
        return got;
      }
      this.finish(src);
    }
  }

  private finish(src: TraceSource): void {
    src.close();
    const s = src.stats, t = this.stats;
    t.lines += s.lines;
    t.requests += s.requests;
    t.uncacheable += s.uncacheable;
    for (const [r, n] of Object.entries(s.skipped)) t.skipped[r] = (t.skipped[r] ?? 0) + n;
    for (const e of s.examples) if (t.examples.length < 5) t.examples.push(e);
    this.current = null;
  }

  close(): void {
    if (this.current) this.finish(this.current);
    this.next = this.files.length;
  }
}
