/**
 * `coldrl report`: an output folder that cannot be made is one line and exit 2, not an internal error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../replay/store.js';
import { runCli, tempDir } from '../helpers.js';

test('coldrl report --out under a regular file: COLDRL_ERR_OUTPUT in one line, exit 2', (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'coldrl.db');
  new Store(db).close();
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  const r = runCli(['report', '--db', db, '--out', join(file, 'report')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^coldrl: \S+plain-file\/report: cannot write the report there \((ENOTDIR|EEXIST): [^\n]*\) \[COLDRL_ERR_OUTPUT\]\n$/);
});
