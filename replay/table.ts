import type { ReplayResult } from './run.js';

/** Prints replay results as an aligned table on stdout. */
export function printTable(rows: ReplayResult[]): void {
  const head = ['trace', 'policy', 'cache', 'requests', 'hit ratio', 'byte hit', 'miss', 'byte miss', 'evictions', 'expired', 'sec'];
  const body = rows.map((r) => [
    shortName(r.trace), r.policy, r.cacheSize === String(r.cacheBytes) ? String(r.cacheBytes) : `${r.cacheSize} (${r.cacheBytes})`,
    String(r.requests), r.hitRatio.toFixed(4), r.byteHitRatio.toFixed(4), r.missRatio.toFixed(4), r.byteMissRatio.toFixed(4),
    String(r.evictions), String(r.expired), r.seconds.toFixed(2),
  ]);
  printAligned(head, body, 3, true);
}

/**
 * The hit ratio of every window (ReplayOptions.window) under each run, a row per window: the requests it
 * ends at, then one column per (policy, cache size).
 */
export function printWindows(rows: ReplayResult[], window: number, warmUp: number): void {
  const runs = rows.filter((r) => r.windows && r.windows.length > 0);
  if (runs.length === 0) return;
  const head = ['to request', ...runs.map((r) => `${r.policy} ${r.cacheSize}`)];
  const count = Math.max(...runs.map((r) => r.windows!.length));
  const body: string[][] = [];
  let end = warmUp;
  for (let w = 0; w < count; w++) {
    end += runs[0]!.windows![w]?.requests ?? window;
    body.push([String(end), ...runs.map((r) => r.windows![w]?.hitRatio.toFixed(4) ?? '')]);
  }
  console.log(`\nhit ratio per ${window} requests${warmUp > 0 ? ` (counted from request ${warmUp})` : ''}:`);
  printAligned(head, body, 0, false);
}

/**
 * Prints a table on stdout, each column as wide as its widest cell, two spaces between: the first `left`
 * columns padded on the right, the others on the left; a rule of dashes under the head when `rule`.
 */
function printAligned(head: string[], body: string[][], left: number, rule: boolean): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(head));
  if (rule) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(fmt(b));
}

function shortName(p: string): string {
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}
