/**
 * `coldrl monitor`: the sidecar's fallback rate and server p99 latency per minute, from the per-minute
 * aggregates in the store (sidecar/store.ts), as a terminal chart; warns (and exits 1) when the fallback
 * rate is above the threshold, or when requests came from another candidate source than the model was
 * trained on, so it can run from cron.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ColdrlError } from '../../replay/errors.js';
import { DEFAULT_DB } from '../../replay/store.js';
import { readMinutesOf, type MinuteRow } from '../store.js';

export const summary = 'show the sidecar fallback rate and latency over time';

export function help(): string {
  return `coldrl monitor [--db FILE] [--threshold 0.01] [--minutes N] [--json]

Per minute: decisions, fallback rate (bar; "|" marks the threshold) and server p99 latency (bar), summed
over every sidecar socket that wrote to the store. Exit status 1 when the fallback rate over the window,
or of any minute with at least ${MIN_MINUTE_DECISIONS} decisions, is above the threshold, or when any request in the
window came from another candidate source than the serving model was trained on (nginx.conf's
coldrl_candidates against coldrl train --candidates; coldrl serve logs both).

These are the decisions that reached the sidecar. The NGINX module's own fallbacks (its coldrl_timeout
passed before the answer came, the sidecar unreachable, its breaker open) never do: they are in the
module's /coldrl_status (fallbacks.timeout, .connect, .breaker). The store is read as it is, read-only.

  --db FILE         the store (default ${DEFAULT_DB})
  --threshold R     fallback rate that triggers the warning (default 0.01)
  --minutes N       minutes to show, ending now (default 60)
  --json            one JSON object per minute, then a summary object`;
}

/** Decisions a minute needs before its own fallback rate can trigger the warning (the window's always can). */
const MIN_MINUTE_DECISIONS = 100;

interface Minute { minute: number; decisions: number; fallbacks: number; deadline: number; p99: number; mismatches: number }

function merge(rows: MinuteRow[]): Minute[] {
  const by = new Map<number, Minute>();
  for (const r of rows) {
    const m = by.get(r.minute) ?? { minute: r.minute, decisions: 0, fallbacks: 0, deadline: 0, p99: 0, mismatches: 0 };
    m.decisions += r.decisions;
    m.fallbacks += r.decisions - r.model;
    m.deadline += r.deadline;
    m.mismatches += r.source_mismatches;
    m.p99 = Math.max(m.p99, r.p99_us);
    by.set(r.minute, m);
  }
  return [...by.values()].sort((a, b) => a.minute - b.minute);
}

const bar = (v: number, max: number, width: number) => '#'.repeat(Math.round(max > 0 ? Math.min(1, v / max) * width : 0));

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string', default: DEFAULT_DB }, threshold: { type: 'string', default: '0.01' },
      minutes: { type: 'string', default: '60' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(help()); return 0; }
  const threshold = Number(v.threshold);
  const minutes = Number(v.minutes);
  if (!(threshold >= 0 && threshold <= 1)) throw new ColdrlError('COLDRL_ERR_USAGE', `--threshold: expected a rate in 0..1, got "${v.threshold}"`);
  if (!Number.isInteger(minutes) || minutes < 1) throw new ColdrlError('COLDRL_ERR_USAGE', `--minutes: expected a positive integer, got "${v.minutes}"`);
  if (!existsSync(v.db!)) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${v.db}: no such store (coldrl serve --db writes it)`);
  const rows = merge(readMinutesOf(v.db!, minutes));

  const total = rows.reduce((s, r) => s + r.decisions, 0);
  const fallbacks = rows.reduce((s, r) => s + r.fallbacks, 0);
  const rate = total > 0 ? fallbacks / total : 0;
  // a minute alone warns only with enough decisions to say something (one fallback in 50 is not 2%)
  const hot = rows.filter((r) => r.decisions >= MIN_MINUTE_DECISIONS && r.fallbacks / r.decisions > threshold);
  const mismatches = rows.reduce((s, r) => s + r.mismatches, 0);
  const warn = total > 0 && (rate > threshold || hot.length > 0 || mismatches > 0);
  const summaryObj = { minutes: rows.length, decisions: total, fallbacks, fallbackRate: rate, threshold, minutesAbove: hot.length, sourceMismatches: mismatches, warning: warn };

  if (v.json) {
    for (const r of rows) console.log(JSON.stringify({ minute: new Date(r.minute * 60_000).toISOString(), decisions: r.decisions, fallbackRate: r.fallbacks / r.decisions, deadline: r.deadline, p99us: r.p99, sourceMismatches: r.mismatches }));
    console.log(JSON.stringify(summaryObj));
    return warn ? 1 : 0;
  }
  if (rows.length === 0) { console.log(`no sidecar minutes in ${v.db} over the last ${minutes} minutes`); return 0; }
  const W = 30;
  const rateMax = Math.max(threshold * 2, ...rows.map((r) => r.fallbacks / r.decisions));
  const p99Max = Math.max(...rows.map((r) => r.p99));
  const mark = Math.round((threshold / rateMax) * W);
  console.log(`minute (UTC)       decisions  fallback  ${'fallback rate (| = threshold)'.padEnd(W + 1)}  p99 us  p99`);
  for (const r of rows) {
    const fr = r.fallbacks / r.decisions;
    const b = bar(fr, rateMax, W).padEnd(W + 1);
    const withMark = b.slice(0, mark) + (b[mark] === '#' ? '#' : '|') + b.slice(mark + 1);
    console.log(`${new Date(r.minute * 60_000).toISOString().slice(0, 16).replace('T', ' ')}  ${String(r.decisions).padStart(10)}  ${(fr * 100).toFixed(2).padStart(7)}%  ${withMark}  ${r.p99.toFixed(0).padStart(6)}  ${bar(r.p99, p99Max, 20)}`);
  }
  console.log(`\n${rows.length} minutes, ${total} decisions, fallback rate ${(rate * 100).toFixed(2)}% (of the decisions that reached the sidecar: the NGINX module's own timeouts and breaker are in its /coldrl_status)`);
  if (rate > threshold || hot.length > 0) console.log(`WARNING: fallback rate above ${(threshold * 100).toFixed(2)}%${rate > threshold ? ` over the window (${(rate * 100).toFixed(2)}%)` : ''}; ${hot.length} of ${rows.length} minutes above it`);
  if (mismatches > 0) console.log(`WARNING: ${mismatches} of ${total} requests came from another candidate source than the serving model was trained on: coldrl_candidates in nginx.conf must name the model's source (coldrl serve logs both)`);
  return warn ? 1 : 0;
}
