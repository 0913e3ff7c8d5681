/**
 * replay/holdout.ts: the split `coldrl train --holdout` makes (sliceSource over a streamed file gives exactly
 * the requests asked for, whatever the batch size, with the ids of the whole file), the uncounted warm-up
 * its replays use (replay/run.ts), and the Holdout record in a model's metadata (built from replays, read
 * back, refused when malformed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSource } from '../../replay/formats/index.js';
import { belowLru, gdsfNote, lossToLru, tradeNote, zoneNote, countRequests, describeHoldout, HOLDOUT_KEY, holdoutOf, holdoutOfResults, holdoutStart, sliceSource } from '../../replay/holdout.js';
import { isColdrlError } from '../../replay/errors.js';
import { Rng } from '../../replay/rng.js';
import { replayStream, replayTrace, type ReplayResult } from '../../replay/run.js';
import { loadTrace, RequestBatch, type TraceSource } from '../../replay/trace.js';
import { runCli, tempDir } from '../helpers.js';

test('sliceSource yields exactly requests [from, to) of a streamed file, ids as in the whole file', async (t) => {
  const dir = tempDir(t);
  const csv = join(dir, 't.csv');
  const lines = ['timestamp,obj_id,size'];
  for (let i = 0; i < 1000; i++) lines.push(`${i},k${(i * 7) % 83},${100 + i}`);
  writeFileSync(csv, lines.join('\n') + '\n');
  const whole = await loadTrace(openSource(csv, 'csv'));
  assert.equal(whole.length, 1000);
  assert.equal(await countRequests(openSource(csv, 'csv')), 1000);
  for (const [from, to, cap] of [[0, 300, 64], [300, Infinity, 64], [301, 302, 7], [999, Infinity, 1000], [0, 1000, 1 << 15], [1000, Infinity, 50]] as const) {
    const src = sliceSource(openSource(csv, 'csv'), from, to);
    const b = new RequestBatch(cap);
    const got: { time: number; id: number; size: number }[] = [];
    for (let n; (n = await src.read(b)) > 0;) for (let i = 0; i < n; i++) got.push({ time: b.time[i]!, id: b.id[i]!, size: b.size[i]! });
    src.close();
    const end = Math.min(to, 1000);
    assert.equal(got.length, end - from, `[${from}, ${to}) in batches of ${cap}`);
    got.forEach((r, j) => {
      const i = from + j;
      assert.deepEqual(r, { time: whole.time[i], id: whole.id[i], size: whole.size[i] }, `request ${i}`);
    });
  }
});

/** 3000 requests over 400 keys, skewed to the first, of 1-10 kB, seeded: a file t.csv in dir. */
function skewedTrace(dir: string, seed: number): string {
  const csv = join(dir, 't.csv');
  const rng = new Rng(seed);
  const lines = ['timestamp,obj_id,size'];
  for (let i = 0; i < 3000; i++) lines.push(`${i},k${Math.floor(rng.next() ** 2 * 400)},${1000 + Math.floor(rng.next() * 9000)}`);
  writeFileSync(csv, lines.join('\n') + '\n');
  return csv;
}

test('a warm-up is replayed but not counted: the counts are the whole replay minus the warm-up alone', async (t) => {
  const csv = skewedTrace(tempDir(t), 9);
  const whole = await loadTrace(openSource(csv, 'csv'));
  for (const policy of ['lru', 'gdsf']) {
    for (const warmUp of [1, 1234, 2999, 3000, 5000]) {
      const all = await replayTrace(whole, policy, 400_000, '400k');
      const head = await replayTrace(whole.slice(0, warmUp), policy, 400_000, '400k');
      const warm = await replayTrace(whole, policy, 400_000, '400k', { warmUp });
      const what = `${policy} warm-up ${warmUp}`;
      // a warm-up as long as the trace or longer leaves nothing counted, streamed as in memory
      assert.deepEqual([warm.requests, warm.hits, warm.evictions, warm.byteHits], [Math.max(0, 3000 - warmUp), all.hits - head.hits, all.evictions - head.evictions, all.byteHits - head.byteHits], what);
      assert.ok(head.evictions > 0 || warmUp < 1000, `${what}: the cache fills during the warm-up`);
      // streamed in batches of 32768 read by the source: the same counts
      const streamed = await replayStream(openSource(csv, 'csv'), policy, 400_000, '400k', { warmUp });
      assert.deepEqual([streamed.requests, streamed.hits, streamed.evictions], [warm.requests, warm.hits, warm.evictions], `${what}, streamed`);
    }
  }
});

/** A source that gives at most `cap` requests per read (windows and warm-ups then cross batches). */
function inBatchesOf(inner: TraceSource, cap: number): TraceSource {
  const small = new RequestBatch(cap);
  return {
    name: inner.name, interner: inner.interner, stats: inner.stats,
    async read(b: RequestBatch): Promise<number> {
      const n = await inner.read(small);
      b.copy(small, 0, n);
      b.length = n;
      return n;
    },
    close() { inner.close(); },
  };
}

test('windows (ReplayOptions.window): each window\'s counts are those of the replay cut there; streamed as in memory; from the warm-up\'s end', async (t) => {
  const csv = skewedTrace(tempDir(t), 4);
  const whole = await loadTrace(openSource(csv, 'csv'));
  for (const [warmUp, window] of [[0, 700], [1234, 500], [0, 3000], [0, 5000], [100, 1]] as const) {
    const r = await replayTrace(whole, 'gdsf', 400_000, '400k', { warmUp, window });
    const w = r.windows!;
    const counted = 3000 - warmUp;
    assert.equal(w.length, Math.ceil(counted / window), `${warmUp}/${window}`);
    assert.deepEqual(w.map((x) => x.requests), w.map((_, i) => Math.min(window, counted - i * window)));
    // window i: the replay up to its end less the replay up to its start
    for (const i of [0, w.length - 1]) {
      const upTo = async (end: number) => (await replayTrace(whole.slice(0, end), 'gdsf', 400_000, '400k', { warmUp }));
      const a = warmUp + i * window, e = Math.min(3000, a + window);
      const hits = (await upTo(e)).hits - (a > warmUp ? (await upTo(a)).hits : 0);
      assert.equal(Math.round(w[i]!.hitRatio * w[i]!.requests), hits, `${warmUp}/${window}: window ${i}`);
    }
    assert.equal(Math.round(w.reduce((s, x) => s + x.hitRatio * x.requests, 0)), r.hits);
    for (const cap of [64, 1 << 15]) {
      const s = await replayStream(inBatchesOf(openSource(csv, 'csv'), cap), 'gdsf', 400_000, '400k', { warmUp, window });
      assert.deepEqual(s.windows, w, `${warmUp}/${window}: streamed in batches of ${cap}`);
    }
  }
  assert.equal((await replayTrace(whole, 'lru', 400_000, '400k')).windows, undefined, 'only when asked');
  // the command line: a table of the windows after the main one; "windows" in --json
  const args = ['replay', '--trace', csv, '--cache-size', '400000', '--policy', 'lru,gdsf', '--threads', '1', '--windows', '1000', '--warm-up', '500'];
  const text = runCli(args);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /\nhit ratio per 1000 requests \(counted from request 500\):\nto request +lru 400000 +gdsf 400000\n +1500 +0\.\d{4} +0\.\d{4}\n +2500 .+\n +3000 .+\n$/);
  const json = runCli([...args, '--json']);
  assert.deepEqual(json.stdout.trim().split('\n').map((l) => (JSON.parse(l) as ReplayResult).windows!.map((x) => x.requests)), [[1000, 1000, 500], [1000, 1000, 500]]);
  assert.equal(runCli([...args, '--windows', '0']).code, 2);
  await assert.rejects(() => replayTrace(whole, 'lru', 400_000, '400k', { window: 0 }), (e: Error) => isColdrlError(e) && e.code === 'COLDRL_ERR_USAGE');
});

test('holdoutStart: the last share of the requests, at least one on each side', () => {
  assert.equal(holdoutStart(1000, 0.1), 900);
  assert.equal(holdoutStart(5000, 0.2), 4000);
  assert.equal(holdoutStart(2, 0.5), 1);
  for (const [n, f] of [[1, 0.1], [1000, 0], [1000, 1], [5, 0.01]] as const) {
    assert.throws(() => holdoutStart(n, f), (e: Error) => isColdrlError(e) && e.code === 'COLDRL_ERR_USAGE', `${n} x ${f}`);
  }
});

test('the Holdout record: from replays, into metadata and back; malformed or absent reads as none', () => {
  const r = (policy: string, hits: number, evictions = 30, byteHitRatio = 0.5): ReplayResult =>
    ({ policy, requests: 500, hits, hitRatio: hits / 500, byteHitRatio, evictions }) as ReplayResult;
  const h = holdoutOfResults([r('coldrl:m.onnx', 210, 25, 0.495), r('lru', 200), r('gdsf', 220, 30, 0.3)], 0.1, 4500);
  assert.deepEqual(h, {
    fraction: 0.1, from: 4500, requests: 500, hitRatio: { model: 0.42, lru: 0.4, gdsf: 0.44 }, byteHitRatio: { model: 0.495, lru: 0.5, gdsf: 0.3 },
    hitsOverLru: 10, evictions: 25,
  });
  assert.equal(belowLru(h), false);
  assert.deepEqual(holdoutOf({ [HOLDOUT_KEY]: JSON.stringify(h) }), h);
  assert.equal(describeHoldout(h), 'held-out hit ratio 0.4200 (LRU 0.4000, GDSF 0.4400; +10 hits over LRU in the last 500 requests, 25 evictions); '
    + 'byte hit ratio 0.4950 (LRU 0.5000, GDSF 0.3000)');
  assert.equal(tradeNote(h), null, 'within a hundredth of LRU: no note');
  assert.equal(gdsfNote(h, 'X'), 'note: GDSF was above the model on the held-out requests (hit ratio 0.4400 against 0.4200); NGINX offers no GDSF, but X may pass it (docs/training.md)');
  assert.equal(gdsfNote(holdoutOfResults([r('coldrl:m.onnx', 220), r('lru', 200), r('gdsf', 220)], 0.1, 4500), 'X'), null, 'level with GDSF');
  assert.equal(gdsfNote({ ...h, hitRatio: { model: 0.42, lru: 0.4 } }, 'X'), null, 'no GDSF figure');
  const byteless = holdoutOfResults([r('coldrl:m.onnx', 210, 25, 0.2), r('lru', 200, 30, 0.45), r('gdsf', 220)], 0.1, 4500);
  assert.match(tradeNote(byteless)!, /80\.0% of the bytes come from the origin, against 55\.0% under LRU/);
  const older = { ...h, byteHitRatio: undefined };
  assert.doesNotMatch(describeHoldout(older), /byte/, 'a model written before byte figures');
  assert.equal(tradeNote(older), null);
  assert.equal(zoneNote(h), null, 'no keys zone filled');
  const filled = holdoutOfResults([{ ...r('coldrl:m.onnx', 150), zoneFull: 1 }, r('lru', 200), r('gdsf', 220)], 0.1, 4500);
  assert.equal(filled.zoneFull, true);
  assert.match(zoneNote(filled)!, /the keys zone filled: from then on NGINX evicts by object count/);
  assert.match(describeHoldout(holdoutOfResults([r('coldrl:m.onnx', 200, 0), r('lru', 200, 0), r('gdsf', 200, 0)], 0.1, 4500)), /no evictions there: the check says nothing/);
  const worse = holdoutOfResults([r('coldrl:m.onnx', 190), r('lru', 200), r('gdsf', 220)], 0.1, 4500);
  assert.equal(belowLru(worse), true);
  assert.match(describeHoldout(worse), /-10 hits over LRU/);
  assert.equal(gdsfNote(worse, 'X'), null, 'below LRU: the warning, not this note');
  assert.equal(holdoutOf({}), null);
  assert.equal(holdoutOf({ [HOLDOUT_KEY]: 'not json' }), null);
  assert.equal(holdoutOf({ [HOLDOUT_KEY]: '{"requests":5}' }), null);
  assert.equal(holdoutOf({ [HOLDOUT_KEY]: JSON.stringify({ ...h, evictions: undefined }) }), null);
});

test('the Holdout record of a model for the byte hit ratio (goal bytes): judged, described and noted by bytes', () => {
  const r = (policy: string, hits: number, byteHits: number): ReplayResult =>
    ({ policy, requests: 500, hits, hitRatio: hits / 500, byteHits, byteHitRatio: byteHits / 10_000_000, evictions: 30 }) as ReplayResult;
  // more bytes than LRU, fewer hits: not below LRU for this goal, and the hits given up are noted
  const h = holdoutOfResults([r('coldrl:m.onnx', 180, 4_000_000), r('lru', 200, 3_000_000), r('gdsf', 220, 2_000_000)], 0.1, 4500, 'bytes');
  assert.equal(h.goal, 'bytes');
  assert.equal(h.bytesOverLru, 1_000_000);
  assert.equal(h.hitsOverLru, -20);
  assert.equal(belowLru(h), false);
  assert.equal(describeHoldout(h), 'held-out byte hit ratio 0.4000 (LRU 0.3000, GDSF 0.2000; +977 KiB over LRU in the last 500 requests, 30 evictions); '
    + 'hit ratio 0.3600 (LRU 0.4000, GDSF 0.4400)');
  assert.match(tradeNote(h)!, /trades hits for bytes: its held-out hit ratio is 0\.3600, against 0\.4000 under LRU/);
  assert.equal(gdsfNote(h, 'X'), null, 'more bytes than GDSF, though fewer hits');
  assert.match(gdsfNote({ ...h, byteHitRatio: { ...h.byteHitRatio!, gdsf: 0.45 } }, 'X')!, /byte hit ratio 0\.4500 against 0\.4000/);
  assert.deepEqual(holdoutOf({ [HOLDOUT_KEY]: JSON.stringify(h) }), h);
  // fewer bytes than LRU: below LRU whatever the hits, and the loss is said in bytes
  const worse = holdoutOfResults([r('coldrl:m.onnx', 260, 2_000_000), r('lru', 200, 3_000_000), r('gdsf', 220, 2_000_000)], 0.1, 4500, 'bytes');
  assert.equal(belowLru(worse), true);
  assert.equal(lossToLru(worse), '977 KiB');
  assert.equal(tradeNote(worse), null, 'more hits than LRU: nothing traded');
  // the same figures for a model of goal hits: judged by hits, the record as before
  const hits = holdoutOfResults([r('coldrl:m.onnx', 260, 2_000_000), r('lru', 200, 3_000_000), r('gdsf', 220, 2_000_000)], 0.1, 4500);
  assert.deepEqual([hits.goal, hits.bytesOverLru, belowLru(hits), lossToLru(hits)], [undefined, undefined, false, '-60 hits']);
});
