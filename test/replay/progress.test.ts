/**
 * replay/progress.ts: away from a terminal (a log file, cron, CI) long work prints a plain progress line
 * now and then instead of a bar; on a terminal it draws the bar in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../../replay/progress.js';

function captureStderr(fn: () => void): string {
  const write = process.stderr.write;
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => { out += String(chunk); return true; }) as typeof process.stderr.write;
  try { fn(); } finally { process.stderr.write = write; }
  return out;
}

test('not on a terminal: one plain line per interval, with count, share and rate; nothing to clear at the end', () => {
  const quiet = captureStderr(() => {
    const p = new Progress('replay lru 25m', 1000, { force: false, lineEveryMs: 60_000 });
    p.update(10);
    p.update(500);
    p.done();
  });
  assert.equal(quiet, '', 'nothing before the first interval has passed');
  const out = captureStderr(() => {
    const p = new Progress('train t.csv 25m', 20_000, { force: false, lineEveryMs: 0 });
    p.update(5000, 'loss 0.1234');
    p.done();
  });
  assert.match(out, /^train t\.csv 25m: 25% 5000\/20k, [0-9.]+[kM]?\/s( eta \d+s)?, \d+s, loss 0\.1234\n$/);
  assert.doesNotMatch(out, /\r|\x1b/);
});

test('on a terminal: a bar redrawn in place, cleared by done()', () => {
  const out = captureStderr(() => {
    const p = new Progress('replay', 100, { force: true, delayMs: 0 });
    p.update(50);
    p.done();
  });
  assert.match(out, /^\rreplay \[#{12}\.{12}\] 50% /);
  assert.ok(out.endsWith('\r\x1b[K'));
});
