/**
 * replay/spool.ts: a source's requests parsed once, read back at any batch size exactly as parsed, with the
 * first read's object table, their count known before reading; a spool that cannot be written still counts the requests; `coldrl replay`'s
 * runs reading one spool, in one thread or in workers, give the figures of runs that each parse the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSource } from '../../replay/formats/index.js';
import { sliceSource } from '../../replay/holdout.js';
import { Spool, SPOOL_BYTES_PER_REQUEST } from '../../replay/spool.js';
import { loadTrace, RequestBatch, type TraceSource } from '../../replay/trace.js';
import { writeTrace } from '../../replay/workloads/write.js';
import { WORKLOADS } from '../../replay/workloads/index.js';
import { runCli, tempDir } from '../helpers.js';

/** Every request of a source read in batches of `capacity`, column by column. */
async function columns(src: TraceSource, capacity: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = { time: [], id: [], size: [], ttl: [], rtt: [], flags: [] };
  const b = new RequestBatch(capacity);
  for (let got = await src.read(b); got > 0; got = await src.read(b)) {
    for (const k of Object.keys(out)) out[k]!.push(...Array.from((b as unknown as Record<string, ArrayLike<number>>)[k]!).slice(0, got));
  }
  src.close();
  return out;
}

test('a spool gives back the parsed requests at any batch size, with the first read\'s object table; nothing left on disk', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'access.log');
  // bursty: uncacheable requests and several flags, TTLs, RTTs; 80k requests: three source batches
  writeTrace(WORKLOADS.bursty!.generate(3, 80_000), 'nginx-json', log);
  const parsed = await columns(openSource(log, 'nginx'), 1 << 15);
  const seen: number[] = [];
  const spool = await Spool.write(openSource(log, 'nginx'), join(dir, 'spool'), (n) => seen.push(n));
  assert.ok(spool instanceof Spool);
  t.after(() => spool.close());
  assert.deepEqual(readdirSync(dir), ['access.log'], 'the spool is unlinked as soon as it is made');
  assert.equal(spool.length, 80_000);
  assert.equal(spool.bytes, 80_000 * SPOOL_BYTES_PER_REQUEST + 4 * seen.length);
  assert.equal(seen.at(-1), 80_000);
  assert.ok(parsed.flags!.some((f) => f !== 0) && parsed.ttl!.some((x) => x !== parsed.ttl![0]));
  for (const capacity of [1 << 15, 1000, 7]) assert.deepEqual(await columns(spool.open(), capacity), parsed, `batches of ${capacity}`);
  // two sources at once, each from the first request; a slice of one
  const [a, b] = [spool.open(), spool.open()];
  const one = new RequestBatch(5), two = new RequestBatch(5);
  await a.read(one); await a.read(one); await b.read(two);
  assert.deepEqual(Array.from(two.id), parsed.id!.slice(0, 5));
  assert.deepEqual(Array.from(one.id), parsed.id!.slice(5, 10));
  const whole = await loadTrace(openSource(log, 'nginx'));
  const src = spool.open();
  assert.equal(src.interner.count, whole.objects, 'the whole object table from the start');
  assert.equal(src.stats.requests, 80_000);
  // every column, through a slice that shifts a batch (requests 100.. start 36 into the second batch of 64)
  const sliced = await columns(sliceSource(spool.open(), 100, 200), 64);
  for (const k of Object.keys(parsed)) assert.deepEqual(sliced[k], parsed[k]!.slice(100, 200), `a slice's ${k}`);
  // and through loadTrace, whose trace grows past its first 65536 requests
  const held = whole as unknown as Record<string, ArrayLike<number>>;
  for (const k of Object.keys(parsed)) assert.deepEqual(Array.from(held[k]!).slice(0, whole.length), parsed[k], `the loaded trace's ${k}`);
  // their lengths are known before reading (progress lines give a share and an ETA); a log's is not
  assert.equal(src.length, 80_000);
  assert.deepEqual([sliceSource(spool.open(), 100, 200).length, sliceSource(spool.open(), 79_000, Infinity).length, sliceSource(spool.open(), 0, 90_000).length], [100, 1000, 80_000]);
  assert.equal(sliceSource(openSource(log, 'nginx'), 100, Infinity).length, undefined);
  // closed: its sources fail rather than read nothing
  spool.close();
  await assert.rejects(() => spool.open().read(new RequestBatch(4)), /the spool of .* was closed/);
});

test('a spool that cannot be written, or would be too large: the requests are counted all the same, with the error', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'access.log');
  writeTrace(WORKLOADS.bursty!.generate(3, 5_000), 'nginx-json', log);
  const r = await Spool.write(openSource(log, 'nginx'), join(dir, 'no-such-folder', 'spool'));
  assert.ok(!(r instanceof Spool));
  assert.equal(r.length, 5_000);
  assert.match(r.error.message, /ENOENT/);
  assert.ok(!existsSync(join(dir, 'no-such-folder')));
  // one that would take more than it may (spoolInto: half the folder's free space): the same
  const big = await Spool.write(openSource(log, 'nginx'), join(dir, 'spool'), undefined, 100 * SPOOL_BYTES_PER_REQUEST);
  assert.ok(!(big instanceof Spool));
  assert.equal(big.length, 5_000);
  assert.match(big.error.message, /it would take more than 3\.2 KiB, half the free space there/);
  assert.deepEqual(readdirSync(dir), ['access.log']);
});

test('coldrl replay: more streamed runs than threads read one spool, with the figures of runs that each parse the log', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'access.log');
  writeTrace(WORKLOADS.bursty!.generate(5, 20_000), 'nginx-json', log);
  const run = (extra: string[]) => {
    const r = runCli(['replay', '--trace', log, '--policy', 'lru,gdsf,s3fifo', '--cache-size', '1m,4m', '--semantics', 'nginx', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return { rows: r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { policy: string; cacheSize: string; hits: number; byteHits: number; evictions: number }), stderr: r.stderr };
  };
  const figures = (rows: { policy: string; cacheSize: string; hits: number; byteHits: number; evictions: number }[]) =>
    rows.map((x) => [x.policy, x.cacheSize, x.hits, x.byteHits, x.evictions]);
  const each = run(['--spool-dir', 'none', '--threads', '2']);
  assert.doesNotMatch(each.stderr, /spooled/);
  for (const threads of ['1', '2']) {
    const spooled = run(['--threads', threads]);
    assert.deepEqual(figures(spooled.rows), figures(each.rows), `${threads} thread(s)`);
    assert.match(spooled.stderr, /20000 requests parsed once, spooled in \S+ \([\d.]+ KiB, freed at exit\)/);
    assert.equal(spooled.stderr.match(/lines read 20000/g)?.length, 1, spooled.stderr);
  }
  // a spool that cannot be written: said once, each run parses the log, one summary
  const unwritable = run(['--threads', '2', '--spool-dir', join(dir, 'missing')]);
  assert.deepEqual(figures(unwritable.rows), figures(each.rows));
  assert.match(unwritable.stderr, /could not be spooled in \S+missing \(ENOENT/);
  assert.equal(unwritable.stderr.match(/lines read 20000/g)?.length, 1, unwritable.stderr);
  // as many runs as threads: each parses the log, no spool
  assert.doesNotMatch(runCli(['replay', '--trace', log, '--policy', 'lru,gdsf', '--cache-size', '1m', '--threads', '2']).stderr, /spooled/);
});

test('coldrl replay: a size in % streams online policies from a spool (its unique bytes counted there), with the figures of the whole trace loaded', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'access.log');
  writeTrace(WORKLOADS.bursty!.generate(5, 20_000), 'nginx-json', log);
  const run = (policies: string, extra: string[]) => {
    const r = runCli(['replay', '--trace', log, '--policy', policies, '--cache-size', '2%,10%', '--semantics', 'nginx', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { policy: string; cacheSize: string; cacheBytes: number; hits: number; evictions: number });
    return { figures: rows.map((x) => [x.policy, x.cacheSize, x.cacheBytes, x.hits, x.evictions]), stderr: r.stderr };
  };
  const loaded = run('lru', ['--spool-dir', 'none', '--threads', '1']);
  assert.doesNotMatch(loaded.stderr, /spooled/);
  for (const threads of ['1', '2']) {
    const streamed = run('lru', ['--threads', threads]);
    assert.match(streamed.stderr, /20000 requests parsed once, spooled in/, `${threads} thread(s)`);
    assert.deepEqual(streamed.figures, loaded.figures, `${threads} thread(s)`);
  }
  // an offline policy among them: the whole trace is loaded, as before
  assert.doesNotMatch(run('lru,belady', ['--threads', '1']).stderr, /spooled/);
});
