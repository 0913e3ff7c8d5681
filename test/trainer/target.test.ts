/**
 * bench target (bench/target.ts): the lookup-table ceiling of a training label, end to end through the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers.js';

interface Row { what: string; hitRatio: number; label?: string; horizon?: number; weight?: string }

test('bench target: tables of the label beside size x idle; frequency shows where it predicts; bad lists refused', (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'trap.csv');
  const w = runCli(['workload', 'trap', '--seed', '1', '--out', trace]);
  assert.equal(w.code, 0, w.stderr);
  const args = ['bench', 'target', '--trace', trace, '--cache-size', '10m', '--k', '16', '--horizons', '1,4', '--labels', 'soft', '--weights', 'size,capped', '--json'];
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
  assert.equal(rows.length, 2 + 2 * 2, 'two references, then one row per (horizon, weight)');
  assert.deepEqual(rows.slice(2).map((x) => `${x.label} ${x.horizon} ${x.weight}`), ['soft 1 size', 'soft 1 capped', 'soft 4 size', 'soft 4 capped']);
  for (const x of rows) assert.ok(x.hitRatio > 0 && x.hitRatio < 1, `${x.what} ${x.hitRatio}`);
  // trap's hot set returns: the tables see lifetime-request classes, size x idle does not
  const idleSize = rows[0]!.hitRatio, table = rows[2]!.hitRatio;
  assert.ok(table > idleSize + 0.01, `table ${table} vs size x idle ${idleSize}`);
  // deterministic: the same command gives the same figures
  assert.equal(runCli(args).stdout, r.stdout);
  const bad = runCli(['bench', 'target', '--trace', trace, '--labels', 'fuzzy']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--labels fuzzy/);
});
