/**
 * libCacheSim oracleGeneral binary traces -> requests: 24-byte records across read chunks, ids past 2^53,
 * the format guessed from the name, gzip and zstd, bad records; replayed as the same requests in CSV are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openSource } from '../../replay/formats/index.js';
import { ORACLE_RECORD_BYTES } from '../../replay/formats/oracle.js';
import { loadTrace, type Trace } from '../../replay/trace.js';
import { keysOf, runCli, tempDir } from '../helpers.js';

interface Rec { time: number; id: bigint; size: number }

function records(recs: readonly Rec[]): Buffer {
  const b = Buffer.alloc(recs.length * ORACLE_RECORD_BYTES);
  recs.forEach((r, i) => {
    const at = i * ORACLE_RECORD_BYTES;
    b.writeUInt32LE(r.time, at);
    b.writeBigUInt64LE(r.id, at + 4);
    b.writeUInt32LE(r.size, at + 12);
    b.writeBigInt64LE(-1n, at + 16);
  });
  return b;
}

/** 60,000 requests (1.44 MB: records split across the reader's 1 MiB chunks) over up to 5,000 objects, low ids the most requested. */
function many(): Rec[] {
  return Array.from({ length: 60_000 }, (_, i) => {
    const id = ((i * 7919) % 5000) % (1 + (i % 97));
    return { time: 1000 + (i >> 4), id: BigInt(id), size: 100 + id };
  });
}

function columns(tr: Trace): { time: number[]; key: (number | string)[]; size: number[] } {
  const n = tr.length;
  return { time: Array.from(tr.time.subarray(0, n)), key: Array.from(tr.id.subarray(0, n), (id) => tr.key(id)), size: Array.from(tr.size.subarray(0, n)) };
}

test('records read whole across chunks, ids past 2^53 as text, the format guessed from an oracleGeneral name', async (t) => {
  const dir = tempDir(t);
  const big = 2n ** 64n - 1n;
  const head: Rec[] = [{ time: 5, id: 42n, size: 4096 }, { time: 6, id: big, size: 10 }, { time: 7, id: 2n ** 53n - 1n, size: 1 }, { time: 7, id: 42n, size: 4096 }];
  const f = join(dir, 'small.oracleGeneral.bin');
  writeFileSync(f, records(head));
  const tr = await loadTrace(openSource(f, undefined));
  assert.deepEqual(columns(tr), { time: [5, 6, 7, 7], key: [42, big.toString(), 2 ** 53 - 1, 42], size: [4096, 10, 1, 4096] });
  assert.deepEqual(Array.from(tr.ttl.subarray(0, 4)), [Infinity, Infinity, Infinity, Infinity]);
  assert.deepEqual(keysOf(tr).length, 3);

  const recs = many();
  const whole = join(dir, 'many.oracleGeneral.bin');
  writeFileSync(whole, records(recs));
  const want = { time: recs.map((r) => r.time), key: recs.map((r) => Number(r.id)), size: recs.map((r) => r.size) };
  assert.deepEqual(columns(await loadTrace(openSource(whole, undefined))), want);
  writeFileSync(`${whole}.gz`, gzipSync(records(recs)));
  assert.deepEqual(columns(await loadTrace(openSource(`${whole}.gz`, undefined))), want, 'gzip');
  execFileSync('zstd', ['-q', '-f', whole, '-o', `${whole}.zst`]);
  assert.deepEqual(columns(await loadTrace(openSource(`${whole}.zst`, undefined))), want, 'zstd');
  // a name that says nothing: --format (or the oracle-general: prefix)
  const plain = join(dir, 'trace.bin');
  writeFileSync(plain, records(head));
  assert.deepEqual(columns(await loadTrace(openSource(`oracle-general:${plain}`, undefined))).size, [4096, 10, 1, 4096]);
});

test('a zero size or bytes short of a record are bad records: fatal, or counted with --skip-bad', async (t) => {
  const dir = tempDir(t);
  const zero = join(dir, 'zero.oracleGeneral');
  writeFileSync(zero, records([{ time: 1, id: 1n, size: 10 }, { time: 2, id: 2n, size: 0 }, { time: 3, id: 1n, size: 10 }]));
  await assert.rejects(loadTrace(openSource(zero, undefined)), /zero\.oracleGeneral: record 2: zero size \(use --skip-bad/);
  const skipping = openSource(zero, undefined, { skipBad: true });
  assert.equal((await loadTrace(skipping)).length, 2);
  assert.deepEqual(skipping.stats.skipped, { 'zero size': 1 });

  const short = join(dir, 'short.oracleGeneral');
  writeFileSync(short, records([{ time: 1, id: 1n, size: 10 }]).subarray(0, ORACLE_RECORD_BYTES + 0).toString('latin1') + 'xyz', 'latin1');
  await assert.rejects(loadTrace(openSource(short, undefined)), /3 bytes at the end, short of a 24-byte record/);
  const r = runCli(['replay', '--trace', short, '--policy', 'lru', '--cache-size', '100']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /short\.oracleGeneral: record 1: 3 bytes at the end/);
});

test('zstd files need the zstd program: without it, an error that says so', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'x.oracleGeneral.zst');
  writeFileSync(join(dir, 'x'), records([{ time: 1, id: 1n, size: 10 }]));
  execFileSync('zstd', ['-q', join(dir, 'x'), '-o', f]);
  const r = runCli(['replay', '--trace', f, '--policy', 'lru', '--cache-size', '100'], { env: { PATH: '/nonexistent' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /x\.oracleGeneral\.zst: zstd-compressed, and the zstd program is not installed/);
  const broken = join(dir, 'broken.oracleGeneral.zst');
  writeFileSync(broken, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from('not zstd data')]));
  await assert.rejects(loadTrace(openSource(broken, undefined)), /broken\.oracleGeneral\.zst: zstd could not decompress it/);
});

test('coldrl replay gives an oracleGeneral trace the figures of the same requests as CSV', async (t) => {
  const dir = tempDir(t);
  const recs = many();
  const bin = join(dir, 't.oracleGeneral.bin'), csv = join(dir, 't.csv');
  writeFileSync(bin, records(recs));
  writeFileSync(csv, ['timestamp,obj_id,size', ...recs.map((r) => `${r.time},${r.id},${r.size}`)].join('\n') + '\n');
  const figures = (trace: string) => {
    const r = runCli(['replay', '--trace', trace, '--policy', 'lru,gdsf,s3fifo', '--cache-size', '5%', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).map((o) => [o.policy, o.hits, o.evictions, o.byteHits]);
  };
  const fromBin = figures(bin);
  assert.equal(fromBin.length, 3);
  assert.ok((fromBin[0]![1] as number) > 0 && (fromBin[0]![2] as number) > 0, 'the cache hits and evicts');
  assert.deepEqual(fromBin, figures(csv));
});
