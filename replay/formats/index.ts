/**
 * Trace formats by name. `--format NAME`, or a `NAME:path` prefix, picks one; otherwise it is guessed from
 * the file name (*.csv[.gz] -> csv). Gzip is transparent in every format.
 */
import { ColdrlError } from '../errors.js';
import type { ReadOptions, TraceSource } from '../trace.js';
import { CsvSource } from './csv.js';

export type FormatName = 'csv';

export const FORMATS: Record<FormatName, { summary: string; open: (path: string, opts: ReadOptions) => TraceSource }> = {
  csv: { summary: 'timestamp,obj_id,size[,ttl,rtt] (libCacheSim csv), header optional', open: (p, o) => new CsvSource(p, o) },
};

export function openSource(path: string, format: string | undefined, opts: ReadOptions = {}): TraceSource {
  let fmt = format;
  let p = path;
  const m = /^([a-z-]+):(.+)$/.exec(path);
  if (!fmt && m && m[1]! in FORMATS) { fmt = m[1]; p = m[2]!; }
  fmt ??= 'csv';
  const f = FORMATS[fmt as FormatName];
  if (!f) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `unknown trace format "${fmt}" (known: ${Object.keys(FORMATS).join(', ')})`);
  return f.open(p, opts);
}
