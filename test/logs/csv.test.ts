/** CSV traces -> requests: columns by header name or by position, TTL, RTT and cacheable, the separator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openSource } from '../../replay/formats/index.js';
import { FLAG_UNCACHEABLE, loadTrace, type Trace } from '../../replay/trace.js';
import { keysOf, runCli, tempDir } from '../helpers.js';

async function read(t: { after(fn: () => void): void }, text: string | Buffer, name = 't.csv'): Promise<Trace> {
  const f = join(tempDir(t), name);
  writeFileSync(f, text);
  return loadTrace(openSource(f, 'csv'));
}

/** Every request as [time, key, size, ttl, rtt, flags]. */
function rows(tr: Trace): (number | string)[][] {
  return Array.from({ length: tr.length }, (_, i) => [tr.time[i]!, tr.key(tr.id[i]!), tr.size[i]!, tr.ttl[i]!, tr.rtt[i]!, tr.flags[i]!]);
}

test('a header names the columns in any order (libCacheSim\'s names and ours); an empty ttl is none; cacheable 0 is uncacheable', async (t) => {
  const tr = await read(t, 'obj_size,clock_time,obj_id,ttl,rtt,cacheable\n100,1.5,a,60,12,1\n200,2,7,,3,0\n100,3,a,,,\n');
  assert.deepEqual(rows(tr), [[1.5, 'a', 100, 60, 12, 0], [2, 7, 200, Infinity, 3, FLAG_UNCACHEABLE], [3, 'a', 100, Infinity, 0, 0]]);
  assert.deepEqual(keysOf(tr), ['a', 7]);
});

test('other names tools give the columns: real_time, object_id or url, object_size or content_length', async (t) => {
  assert.deepEqual(rows(await read(t, 'real_time,object_id,object_size\n1,a,10\n')), [[1, 'a', 10, Infinity, 0, 0]]);
  assert.deepEqual(rows(await read(t, 'content_length\turl\ttime\n10\t/a?b=1\t2\n')), [[2, '/a?b=1', 10, Infinity, 0, 0]]);
  await assert.rejects(read(t, 'time,name,size\n1,a,10\n'), /t\.csv: the header names no object id column \(one of obj_id, id, key, /);
  await assert.rejects(read(t, 'time,key,weight\n1,a,10\n'), /t\.csv: the header names no size column \(one of size, obj_size, bytes, /);
});

test('without a header: time, id, size, then ttl and rtt by position', async (t) => {
  assert.deepEqual(rows(await read(t, '1,a,10,60,5\n2,b,20\n')), [[1, 'a', 10, 60, 5, 0], [2, 'b', 20, Infinity, 0, 0]]);
});

test('the separator comes from the first line: tabs, commas or runs of spaces; CRLF and gzip read alike', async (t) => {
  const want = [[1, 'a', 10, 60, 0, 0], [2, 'b', 20, Infinity, 0, 0], [3, 'a', 10, Infinity, 0, 0]];
  const comma = 'timestamp,obj_id,size,ttl\n1,a,10,60\n2,b,20,\n3,a,10,\n';
  assert.deepEqual(rows(await read(t, comma)), want);
  assert.deepEqual(rows(await read(t, comma.replaceAll(',', '\t'))), want);
  assert.deepEqual(rows(await read(t, 'timestamp obj_id size\n1   a 10\n 2 b 20\n3 a 10 \n')).map((r) => r.slice(0, 3)), want.map((r) => r.slice(0, 3)));
  assert.deepEqual(rows(await read(t, comma.replaceAll('\n', '\r\n'))), want);
  assert.deepEqual(rows(await read(t, gzipSync(comma), 't.csv.gz')), want);
  // tab-separated, an id with a comma in it stays whole
  assert.deepEqual(keysOf(await read(t, '1\ta,b\t10\n2\tc\t5\n')), ['a,b', 'c']);
});

test('a size that is not a whole number of bytes is a bad line (the byte counts must add up exactly)', async (t) => {
  await assert.rejects(read(t, '1,a,10\n2,b,100.1\n'), /t\.csv:2: size is not a whole number of bytes/);
  assert.deepEqual(rows(await read(t, '1,a,4096.0\n2,b,1e3\n')).map((r) => r[2]), [4096, 1000]);
});

test('a line with too few fields names the separator the first line chose', async (t) => {
  await assert.rejects(read(t, '1;a;10\n'), /t\.csv:1: fewer than 3 fields \(separated by spaces, as the first line is\)/);
  await assert.rejects(read(t, '1,a,10\n2 b 20\n'), /t\.csv:2: fewer than 3 fields \(separated by commas/);
});

test('requests timed earlier than one before them are replayed as they are, and counted in the reader\'s summary', async (t) => {
  const f = join(tempDir(t), 'back.csv');
  writeFileSync(f, 'timestamp,obj_id,size\n10,a,100\n5,b,100\n12,a,100\n11.5,c,100\n');
  const src = openSource(f, 'csv');
  const tr = await loadTrace(src);
  assert.deepEqual(Array.from(tr.time.subarray(0, tr.length)), [10, 5, 12, 11.5]);
  assert.deepEqual([src.stats.backwards, src.stats.maxBackwards], [2, 5]);
  assert.match(src.stats.summary(), /; 2 timed earlier than a request before them \(by 5 s at most;/);
  const r = runCli(['replay', '--trace', f, '--policy', 'lru', '--cache-size', '250']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /back\.csv: lines read 4, requests used 4, skipped 0; 2 timed earlier/);
  // an archive of two CSV files: the step back from the end of one to the start of the next counts too
  const dir = tempDir(t);
  writeFileSync(join(dir, 'part.1.csv'), '100,a,1\n101,b,1\n');
  writeFileSync(join(dir, 'part.csv'), '50,a,1\n51,b,1\n');
  const chain = openSource(join(dir, 'part*'), 'csv');
  await loadTrace(chain);
  assert.deepEqual([chain.stats.requests, chain.stats.backwards, chain.stats.maxBackwards], [4, 2, 51]);
  const sorted = join(tempDir(t), 'sorted.csv');
  writeFileSync(sorted, 'timestamp,obj_id,size\n1,a,100\n1,b,100\n2,a,100\n');
  assert.equal(runCli(['replay', '--trace', sorted, '--policy', 'lru', '--cache-size', '250']).stderr, '', 'nothing said of a CSV read whole and in order');
});

test('keys are their bytes: a UTF-8 character across the reader\'s 1 MiB chunks, bytes that are not UTF-8, ids with leading zeros; a byte order mark is skipped', async (t) => {
  // the 1 MiB boundary falls inside "é" (2 bytes) of the second line's key
  const head = 'timestamp,obj_id,size\n';
  const pad = `1,${'p'.repeat((1 << 20) - head.length - 2 - 7)},1\n`;
  const lines = Buffer.concat([Buffer.from(head + pad), Buffer.from('2,/été,10\n3,/été,10\n')]);
  assert.equal(lines.indexOf(Buffer.from('é')) + 1, 1 << 20, 'the split falls inside the first é');
  const split = await read(t, lines);
  assert.equal(keysOf(split).length, 2, 'one object /été, not two');
  assert.equal(Buffer.from(String(keysOf(split)[1]), 'latin1').toString('utf8'), '/été');
  const latin1 = Buffer.concat([Buffer.from('1,/caf'), Buffer.from([0xe9]), Buffer.from(',10\n2,/caf'), Buffer.from([0xe8]), Buffer.from(',10\n')]);
  assert.equal(keysOf(await read(t, latin1)).length, 2, 'two keys that differ only in bytes that are not UTF-8');
  assert.deepEqual(keysOf(await read(t, '1,123,10\n2,0123,10\n3,00123,10\n4,0,10\n5,00,10\n')), [123, '0123', '00123', 0, '00']);
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('time,key,bytes\n1,a,10\n')]);
  assert.deepEqual(rows(await read(t, bom)), [[1, 'a', 10, Infinity, 0, 0]]);
});
