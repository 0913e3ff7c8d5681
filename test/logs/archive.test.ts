/**
 * A rotated, partly gzipped log archive with bad lines, replayed through the real CLI
 * (`replay --trace 'DIR/access.log*' --format nginx`), plus archive ordering and --strict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expandTracePath, orderRotated } from '../../replay/archive.js';
import { openSource } from '../../replay/formats/index.js';
import { loadTrace } from '../../replay/trace.js';
import { keysOf, runCli, tempDir } from '../helpers.js';

/** One cachetrain JSON line. */
function json(ts: string, key: string, size: number, cache = 'MISS'): string {
  const up = cache === 'HIT' ? '' : String(size);
  return `{"ts":${ts},"key":"${key}","method":"GET","status":200,"cache":"${cache}","bytes_sent":${size + 300},"body_bytes":${size},` +
    `"up_status":"","up_len":"${up}","up_ct":"","up_ht":"","up_rt":"${cache === 'HIT' ? '' : '0.050'}","req_time":0.051,` +
    `"up_cc":"${cache === 'HIT' ? '' : 'max-age=3600'}","up_expires":"","cc":"max-age=3600","expires":"","last_mod":"","clen":"${size}"}`;
}

/** One combined line (14/Nov/2023:22:13:20 +0000 = 1700000000). */
function combined(sec: number, uri: string, size: number): string {
  return `10.1.2.3 - - [14/Nov/2023:22:13:${sec} +0000] "GET ${uri} HTTP/1.1" 200 ${size} "-" "Mozilla/5.0 (X11; Linux) \\x22q\\x22"`;
}

/** access.log.3.gz (oldest, JSON) ... access.log (newest, JSON); access.log.2.gz is combined text. */
function buildArchive(dir: string): void {
  writeFileSync(join(dir, 'access.log.3.gz'), gzipSync([json('1700000000.100', '/a', 1000), json('1700000000.200', '/b', 2000), 'not json at all', ''].join('\n')));
  writeFileSync(join(dir, 'access.log.2.gz'), gzipSync([combined(21, '/a', 1000), combined(22, '/c', 3000), '10.1.2.3 - - [garbage'].join('\n') + '\n'));
  writeFileSync(join(dir, 'access.log.1'), [json('1700000003.000', '/a', 1000, 'HIT'), json('1700000003.500', '/d', 4000), '{"ts":1700000003.600,"key":"/e"'].join('\n') + '\n');
  writeFileSync(join(dir, 'access.log'), [json('1700000004.000', '/b', 2000, 'HIT'), json('1700000005.000', '/a', 1000, 'HIT')].join('\n') + '\n');
  writeFileSync(join(dir, 'error.log'), '2023/11/14 22:13:20 [error] not an access log\n');
}

test('rotated archives are read oldest first', (t) => {
  assert.deepEqual(orderRotated(['/x/access.log', '/x/access.log.1', '/x/access.log.10.gz', '/x/access.log.2.gz']),
    ['/x/access.log.10.gz', '/x/access.log.2.gz', '/x/access.log.1', '/x/access.log']);
  // logrotate with compresscmd zstd
  assert.deepEqual(orderRotated(['/x/access.log', '/x/access.log.1', '/x/access.log.3.zst', '/x/access.log.2.zst']),
    ['/x/access.log.3.zst', '/x/access.log.2.zst', '/x/access.log.1', '/x/access.log']);
  assert.deepEqual(orderRotated(['/x/access.log', '/x/access.log-20240102.gz', '/x/access.log-20240101']),
    ['/x/access.log-20240101', '/x/access.log-20240102.gz', '/x/access.log']);
  // logrotate dateformat -%Y-%m-%d, -%Y%m%d-%s; compresscmd xz or bzip2
  assert.deepEqual(orderRotated(['/x/access.log', '/x/access.log-2024-01-10.xz', '/x/access.log-2024-01-09.bz2', '/x/access.log-2023-12-31']),
    ['/x/access.log-2023-12-31', '/x/access.log-2024-01-09.bz2', '/x/access.log-2024-01-10.xz', '/x/access.log']);
  assert.deepEqual(orderRotated(['/x/access.log', '/x/access.log-20240102-1704153600.gz', '/x/access.log-20240101-1704067200.gz']),
    ['/x/access.log-20240101-1704067200.gz', '/x/access.log-20240102-1704153600.gz', '/x/access.log']);
  const dir = tempDir(t);
  buildArchive(dir);
  assert.deepEqual(expandTracePath(join(dir, 'access.log*')).map((p) => p.slice(dir.length + 1)), ['access.log.3.gz', 'access.log.2.gz', 'access.log.1', 'access.log']);
});

test('an archive streams in time order with the HIT rule and counts bad lines by reason', async (t) => {
  const dir = tempDir(t);
  buildArchive(dir);
  const src = openSource(join(dir, 'access.log*'), 'nginx');
  const tr = await loadTrace(src);
  assert.equal(tr.length, 8);
  const times = Array.from(tr.time.subarray(0, tr.length));
  assert.deepEqual(times, [1700000000.1, 1700000000.2, 1700000001, 1700000002, 1700000003, 1700000003.5, 1700000004, 1700000005]);
  assert.deepEqual(keysOf(tr), ['/a', '/b', '/c', '/d']);
  // The HIT lines of /a and /b keep the RTT of their last MISS line (50 ms); text lines carry none.
  assert.deepEqual(Array.from(tr.rtt.subarray(0, tr.length)), [50, 50, 50, 0, 50, 50, 50, 50]);
  assert.equal(src.stats.lines, 11);
  assert.deepEqual(src.stats.skipped, { 'malformed JSON line': 2, 'line does not match log_format': 1 });
  assert.match(src.stats.examples[0]!, /access\.log\.3\.gz:3: malformed JSON line$/);
});

test('coldrl replay reads a rotated gzipped archive with --format nginx and ends with a summary', (t) => {
  const dir = tempDir(t);
  buildArchive(dir);
  const r = runCli(['replay', '--trace', join(dir, 'access.log*'), '--format', 'nginx', '--policy', 'lru', '--cache-size', '1m', '--semantics', 'nginx', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim()) as { requests: number; hits: number };
  assert.equal(res.requests, 8);
  // Misses: /a, /b, /c, /d first requests; hits: /a (3x more), /b.
  assert.equal(res.hits, 4);
  assert.match(r.stderr, /lines read 11, requests used 8, skipped 3 \(malformed JSON line: 2, line does not match log_format: 1\)/);
  assert.match(r.stderr, /access\.log\.3\.gz:3: malformed JSON line/);
});

test('--strict makes the first bad line fatal with its file:line', (t) => {
  const dir = tempDir(t);
  buildArchive(dir);
  const r = runCli(['replay', '--trace', join(dir, 'access.log*'), '--format', 'nginx', '--strict', '--policy', 'lru', '--cache-size', '1m']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^coldrl: .*access\.log\.3\.gz:3: malformed JSON line \(--strict\) \[COLDRL_ERR_BAD_LINE\]\n$/);
});

test('a directory is an archive too, and a glob matching nothing is an error', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'access.log'), `${json('1700000000.000', '/a', 10)}\n`);
  assert.deepEqual(expandTracePath(dir), [join(dir, 'access.log')]);
  assert.throws(() => expandTracePath(join(dir, 'nothing*')), { code: 'COLDRL_ERR_FILE_NOT_FOUND' });
});

test('CSV traces take globs too: one object table across the files, oldest file first', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'trace.csv.1'), 'timestamp,obj_id,size\n1,a,10\n2,b,20\n');
  writeFileSync(join(dir, 'trace.csv'), 'timestamp,obj_id,size\n3,b,20\n4,c,30\n');
  const tr = await loadTrace(openSource(join(dir, 'trace.csv*'), 'csv'));
  assert.deepEqual(Array.from(tr.time.subarray(0, tr.length)), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(tr.id.subarray(0, tr.length)), [0, 1, 1, 2]);
  assert.deepEqual(keysOf(tr), ['a', 'b', 'c']);
  assert.equal(tr.uniqueBytes, 60);
});

test('a stray line at a file\'s head does not decide its format: the next line that matches does', async (t) => {
  const dir = tempDir(t);
  // cachetrain_text would be detected from a good first line; a notice line first must not turn the file into `combined`
  const ct = (sec: number, uri: string) => `${combined(sec, uri, 1000)} 17000000${sec}.000 "MISS" 1000 0.010 "max-age=60" "-"`;
  writeFileSync(join(dir, 'access.log.1'), [ct(20, '/a'), ct(21, '/b')].join('\n') + '\n');
  writeFileSync(join(dir, 'access.log'), ['nginx: [notice] signal process started', ct(22, '/a'), ct(23, '/c'), ct(24, '/d')].join('\n') + '\n');
  const src = openSource(join(dir, 'access.log*'), 'nginx');
  const tr = await loadTrace(src);
  assert.equal(tr.length, 5, `every request line read (${src.stats.summary()})`);
  assert.deepEqual(src.stats.skipped, { 'line matches no known log format (before the first line that does)': 1 });
  // a file whose lines all match nothing still ends up with the default parser and says so per line
  writeFileSync(join(dir, 'odd.log'), Array.from({ length: 100 }, (_, i) => `odd line ${i}`).join('\n') + '\n');
  const odd = openSource(join(dir, 'odd.log'), 'nginx');
  await assert.rejects(loadTrace(odd), { code: 'COLDRL_ERR_EMPTY_TRACE' });
  assert.deepEqual(odd.stats.skipped, { 'line matches no known log format (before the first line that does)': 63, 'line does not match log_format': 37 });
});

test('coldrl replay: a directory of logs is read as logs; when no line parses, the summary comes before the error', (t) => {
  const dir = tempDir(t);
  buildArchive(dir);
  const r = runCli(['replay', '--trace', dir, '--policy', 'lru', '--cache-size', '1m', '--semantics', 'nginx', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout.trim()) as { requests: number }).requests, 8, 'the directory\'s access.log* files, error.log skipped as a bad line');
  const odd = join(dir, 'odd.log');
  writeFileSync(odd, '1700000000.1|/a|100\n1700000001.2|/b|200\n');
  const empty = runCli(['replay', '--trace', odd, '--policy', 'lru', '--cache-size', '1m']);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /odd\.log: lines read 2, requests used 0, skipped 2 \(line matches no known log format .*: 2\)[\s\S]*the trace holds no requests/);
});

test('xz and bzip2 files are read through their programs; without the program, an error that says so', async (t) => {
  const dir = tempDir(t);
  const csv = '1,a,10\n2,b,20\n3,a,10\n';
  writeFileSync(join(dir, 'w.csv-20240101'), csv);
  execFileSync('xz', ['-k', join(dir, 'w.csv-20240101')]);
  writeFileSync(join(dir, 'w.csv-20240102'), csv.replaceAll('a', 'c'));
  execFileSync('bzip2', [join(dir, 'w.csv-20240102')]);
  writeFileSync(join(dir, 'w.csv'), '4,a,10\n');
  rmSync(join(dir, 'w.csv-20240101'));
  assert.deepEqual(expandTracePath(join(dir, 'w.csv*')).map((p) => p.slice(dir.length + 1)), ['w.csv-20240101.xz', 'w.csv-20240102.bz2', 'w.csv']);
  const tr = await loadTrace(openSource(join(dir, 'w.csv*'), 'csv'));
  assert.deepEqual(keysOf(tr), ['a', 'b', 'c']);
  assert.equal(tr.length, 7);
  const r = runCli(['replay', '--trace', join(dir, 'w.csv-20240101.xz'), '--format', 'csv', '--policy', 'lru', '--cache-size', '100'], { env: { PATH: '/nonexistent' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /w\.csv-20240101\.xz: xz-compressed, and the xz program is not installed \(apt-get install xz-utils/);
  // text that starts as bzip2's magic does ("BZh") is text
  writeFileSync(join(dir, 'bzh-bare.csv'), 'BZh91,a,10\n');
  await assert.rejects(loadTrace(openSource(join(dir, 'bzh-bare.csv'), 'csv')), /bzh-bare\.csv:1: timestamp is not a number/);
});
