/**
 * Bad input through the real CLI: every case is one line on stderr ending with its stable code, exit code 2,
 * no stack trace; a malformed line names file:line, and --skip-bad counts and reports it instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../../replay/size.js';
import { runCli, tempDir } from '../helpers.js';
import { COMMANDS, loadCommand } from '../../trainer/commands/index.js';
import { Store } from '../../replay/store.js';

function assertOneLineError(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code 2 expected, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.match(lines[0]!, / \[COLDRL_ERR_[A-Z_]+\]$/, 'the stable code ends the line');
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stdout, '', 'nothing on stdout');
}

function file(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const replay = (trace: string, extra: string[] = [], policy = 'lru', size = '1m') =>
  runCli(['replay', '--trace', trace, '--policy', policy, '--cache-size', size, ...extra]);

test('a malformed line names file and line and exits 2; with --skip-bad it is counted and reported', (t) => {
  const d = tempDir(t);
  const p = file(d, 'bad.csv', 'timestamp,obj_id,size\n1,a,100\n2,b,12x\n3,a,100\n');
  assertOneLineError(replay(p), new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: size is not a number`));
  // Streamed (absolute size) and in memory (percentage), one thread and two.
  for (const [size, threads] of [['1m', '1'], ['100%', '1'], ['1m,2m', '2']] as const) {
    const r = replay(p, ['--skip-bad', '--json', '--threads', threads], 'lru', size);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped 1 \(size is not a number: 1\)/);
    assert.equal(r.stderr.match(/skipped 1/g)!.length, 1, `reported once: ${r.stderr}`);
    assert.match(r.stderr, /bad\.csv:3: size is not a number/);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { requests: number; hits: number });
    assert.equal(rows.length, size.split(',').length);
    for (const row of rows) { assert.equal(row.requests, 2); assert.equal(row.hits, 1); }
  }
});

test('fewer than three fields and a non-numeric timestamp are malformed lines', (t) => {
  const d = tempDir(t);
  assertOneLineError(replay(file(d, 'short.csv', '1,a,10\n2,b\n')), /short\.csv:2: fewer than 3 fields/);
  assertOneLineError(replay(file(d, 'time.csv', 'noon,a,10\n')), /time\.csv:1: timestamp is not a number/);
});

test('an empty trace, or one with only a header, is a one-line error', (t) => {
  const d = tempDir(t);
  assertOneLineError(replay(file(d, 'empty.csv', '')), /empty\.csv: the trace holds no requests/);
  assertOneLineError(replay(file(d, 'header.csv', 'timestamp,obj_id,size\n')), /header\.csv: the trace holds no requests/);
  assertOneLineError(replay(file(d, 'empty2.csv', ''), [], 'belady', '1%'), /the trace holds no requests/);
});

test('a missing file is a one-line error', (t) => {
  const d = tempDir(t);
  assertOneLineError(replay(join(d, 'nope.csv')), /nope\.csv: no such file/);
});

test('zero and negative sizes are one-line errors naming the line', (t) => {
  const d = tempDir(t);
  assertOneLineError(replay(file(d, 'zero.csv', '1,a,10\n2,b,0\n')), /zero\.csv:2: zero or negative size/);
  assertOneLineError(replay(file(d, 'neg.csv', '1,a,-4\n')), /neg\.csv:1: zero or negative size/);
});

test('an unknown policy is a one-line error listing the known ones', (t) => {
  const d = tempDir(t);
  assertOneLineError(replay(file(d, 'ok.csv', '1,a,10\n'), [], 'lru,nosuch'), /unknown policy "nosuch" \(known: lru, fifo/);
});

test('unparsable, zero and negative cache sizes are one-line errors', (t) => {
  const d = tempDir(t);
  const p = file(d, 'ok.csv', '1,a,10\n');
  assertOneLineError(replay(p, [], 'lru', '12q'), /cannot parse cache size "12q"/);
  assertOneLineError(replay(p, [], 'lru', '0'), /cache size 0 must be positive/);
  assertOneLineError(replay(p, [], 'lru', '-5m'), /--cache-size.*ambiguous/);
  assertOneLineError(runCli(['replay', '--trace', p, '--cache-size=-5m']), /cannot parse cache size "-5m"/);
  assertOneLineError(replay(p, [], 'lru', '0%'), /percentage must be in \(0, 100\]/);
});

test('bad numeric options are one-line usage errors', (t) => {
  const d = tempDir(t);
  const p = file(d, 'ok.csv', '1,a,10\n');
  assertOneLineError(replay(p, ['--threads', 'two']), /--threads must be an integer >= 1/);
  assertOneLineError(replay(p, ['--semantics', 'nginx', '--inactive', 'soon']), /--inactive: cannot parse the time "soon"/);
  assertOneLineError(replay(p, ['--semantics', 'nginx', '--inactive', '10x']), /--inactive: cannot parse the time "10x"/);
  assertOneLineError(runCli(['replay', '--trace', p, '--policy', 'lru', '--cache-size', '1m', '--semantics', 'nginx', '--default-ttl=-5']), /--default-ttl: cannot parse the time "-5"/);
});

test('times are read as nginx writes them in proxy_cache_path: seconds, or parts with ms, s, m, h, d, w', () => {
  assert.equal(parseDuration('600', 'x'), 600);
  assert.equal(parseDuration('0.5', 'x'), 0.5);
  assert.equal(parseDuration('10m', 'x'), 600);
  assert.equal(parseDuration('1h30m', 'x'), 5400);
  assert.equal(parseDuration('1h 30m 15s', 'x'), 5415);
  assert.equal(parseDuration('1y', 'x'), 365 * 86400, 'nginx: y is 365 days');
  assert.equal(parseDuration('1M2m', 'x'), 30 * 86400 + 120, 'M is 30 days, m a minute');
  assert.equal(parseDuration('2d', 'x'), 172_800);
  assert.equal(parseDuration('1w', 'x'), 604_800);
  assert.equal(parseDuration('250ms', 'x'), 0.25);
  for (const bad of ['', 'm', '10mm', '1h-30m', '-1', '1e3']) assert.throws(() => parseDuration(bad, 'opt'), /opt: cannot parse the time/, bad);
});

test('coldrl --help: each command\'s line is its module\'s own summary; an unknown option names the command', async () => {
  const help = runCli(['--help']).stdout;
  for (const name of Object.keys(COMMANDS)) {
    const m = await loadCommand(name);
    assert.ok(help.includes(`  ${m.summary}`), `${name}: "${m.summary}" in --help`);
    assert.equal(COMMANDS[name]![1], m.summary, name);
  }
  assertOneLineError(runCli(['bench', 'learn', '--no-such-option']), /^coldrl bench learn: Unknown option '--no-such-option'/);
});

test('a warm-up that covers the whole trace is an error, streamed and in memory (belady loads the trace)', (t) => {
  const dir = tempDir(t);
  const csv = file(dir, 't.csv', '1,a,10\n2,b,10\n3,a,10\n');
  for (const policy of ['lru', 'belady']) assertOneLineError(replay(csv, ['--warm-up', '3'], policy), /t\.csv: the trace holds no requests after the 3 of --warm-up/);
});

test('a store damaged inside its pages: coldrl runs says so in one line (it was an internal error with a stack)', (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'c.db');
  const store = new Store(db);
  for (let i = 0; i < 50; i++) store.endRun(store.startRun({ name: `run ${i} ${'x'.repeat(200)}`, hparams: {}, trace: 't.csv', seed: i, backend: 'wasm' }), 'done');
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.close();
  const fd = openSync(db, 'r+');
  for (let off = 4096; off < statSync(db).size; off += 4096) writeSync(fd, Buffer.alloc(200, 0xff), 0, 200, off + 8);
  closeSync(fd);
  const r = runCli(['runs', '--db', db]);
  assertOneLineError(r, /^coldrl: the store: database disk image is malformed \(SQLITE_CORRUPT\) \[COLDRL_ERR_STORE\]$/);
});
