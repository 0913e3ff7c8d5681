/**
 * Policy-level tests on small traces worked out by hand, the indexed heap against a sorted reference, and
 * the end-of-run self-checks catching a corrupted structure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cache } from '../../replay/cache.js';
import { isColdrlError } from '../../replay/errors.js';
import { IndexedHeap } from '../../replay/heap.js';
import { policyFactory } from '../../replay/registry.js';
import { traceFromArrays, type Trace } from '../../replay/trace.js';
import type { DList } from '../../replay/dlist.js';
import { keysOf } from '../helpers.js';

/** Keys in request order, all of `size` bytes unless given as [key, size]. */
function trace(reqs: (string | [string, number])[], size = 1): Trace {
  return traceFromArrays('t', reqs.map((r, i) => (typeof r === 'string' ? { time: i, key: r, size } : { time: i, key: r[0], size: r[1] })));
}

/** Replays and returns the keys resident at the end (sorted) and the hit pattern. */
function run(policy: string, t: Trace, capacity: number): { resident: string[]; hits: string; cache: Cache } {
  const { factory, opts, info } = policyFactory(policy);
  const cache = new Cache(factory, { capacity, nextUse: info.offline ? t.nextUse() : null }, { ...opts, seed: 1 });
  let hits = '';
  for (let i = 0; i < t.length; i++) hits += cache.access(t, i) ? 'H' : '.';
  cache.check();
  const resident = keysOf(t).filter((_, id) => cache.objects.resident[id] === 1).map(String).sort();
  return { resident, hits, cache };
}

test('indexed heap pops in (key, tie) order through pushes, updates and removals', () => {
  let x = 7;
  const rand = () => { x = (x * 1103515245 + 12345) >>> 0; return x / 4294967296; };
  const h = new IndexedHeap();
  h.reserve(500);
  const key = new Map<number, [number, number]>();
  for (let step = 0; step < 5000; step++) {
    const id = Math.floor(rand() * 500);
    const k = Math.floor(rand() * 20);
    const r = rand();
    if (!h.has(id)) { h.push(id, k, step); key.set(id, [k, step]); }
    else if (r < 0.6) { h.update(id, k, step); key.set(id, [k, step]); }
    else { h.remove(id); key.delete(id); }
    if (step % 500 === 0) assert.equal(h.verify(), '');
  }
  const expected = [...key].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]).map(([id]) => id);
  const got: number[] = [];
  while (h.length > 0) got.push(h.pop());
  assert.deepEqual(got, expected);
  assert.equal(h.pop(), -1);
});

test('FIFO ignores hits; LRU does not', () => {
  const t = trace(['a', 'b', 'c', 'a', 'd', 'a']);
  assert.deepEqual(run('fifo', t, 3), { ...run('fifo', t, 3), hits: '...H..', resident: ['a', 'c', 'd'] });
  assert.equal(run('lru', t, 3).hits, '...H.H');
});

test('CLOCK gives a referenced object a second chance', () => {
  // a b c fill; a hit sets its bit; d: tail a has its bit -> cleared and moved to head, b evicted.
  const r = run('clock', trace(['a', 'b', 'c', 'a', 'd', 'a', 'b']), 3);
  assert.equal(r.hits, '...H.H.');
  assert.deepEqual(r.resident, ['a', 'b', 'd']);
});

test('SIEVE keeps visited objects in place and its hand moves on', () => {
  // a b c fill (queue head c b a tail). Hit a. d: hand at a (visited, cleared) -> b evicted, hand at c.
  // e: hand at c (not visited) -> c evicted. Final: a d e.
  const r = run('sieve', trace(['a', 'b', 'c', 'a', 'd', 'e']), 3);
  assert.equal(r.hits, '...H..');
  assert.deepEqual(r.resident, ['a', 'd', 'e']);
});

test('LFU evicts the lowest frequency, the earliest to reach it among equals', () => {
  // a x2, b x2 (b reaches 2 after a), c x1: d evicts c; then e must evict among a(2), b(2), d(1): d.
  const r = run('lfu', trace(['a', 'a', 'b', 'b', 'c', 'd', 'e', 'a', 'b']), 3);
  assert.deepEqual(r.resident, ['a', 'b', 'e']);
  assert.equal(r.hits, '.H.H...HH');
});

test('GDSF prefers evicting large, rarely used objects and ages with L', () => {
  // big (1000 B) vs small ones (10 B): on pressure the big object goes first.
  const r = run('gdsf', trace([['big', 1000], ['s1', 10], ['s2', 10], ['s3', 10], ['s1', 10]]), 1025);
  assert.deepEqual(r.resident, ['s1', 's2', 's3']);
});

test('size evicts the largest object; adaptive-lru evicts objects over 50 KB first, LRU among them', () => {
  const kb = 1024;
  const t = trace([['L1', 60 * kb], ['s1', 10 * kb], ['L2', 70 * kb], ['s2', 10 * kb], ['L1', 60 * kb], ['s3', 10 * kb]]);
  // 150 KB: after s2 the cache holds 150 KB; L1 hit; s3 needs 10 KB.
  assert.deepEqual(run('size', t, 150 * kb).resident, ['L1', 's1', 's2', 's3']); // L2 (largest) went
  assert.deepEqual(run('adaptive-lru', t, 150 * kb).resident, ['L1', 's1', 's2', 's3']); // L2 = LRU among the large
  assert.deepEqual(run('lru', t, 150 * kb).resident, ['L1', 'L2', 's2', 's3']); // plain LRU drops s1
  // With only small objects left adaptive-lru is plain LRU.
  const small = trace(['a', 'b', 'c', 'a', 'd']);
  assert.deepEqual(run('adaptive-lru', small, 3).resident, run('lru', small, 3).resident);
});

test('hybrid evicts the largest idle x size among the size-class LRU tails', () => {
  // old small (idle 3 requests x 10 B = 30) vs recent big (idle 1 x 100 = 100): the big one goes.
  const r = run('hybrid', trace([['small', 10], ['mid', 40], ['big', 100], ['x', 60]]), 160);
  assert.deepEqual(r.resident, ['mid', 'small', 'x']);
  // The same sizes with the big object much older: idle 3 x 100 beats the rest as well.
  const r2 = run('hybrid', trace([['big', 100], ['small', 10], ['mid', 40], ['x', 60]]), 160);
  assert.deepEqual(r2.resident, ['mid', 'small', 'x']);
  // A small object idle long enough outweighs a recent big one: 10 B x 30 requests > 100 B x 1.
  const reqs: [string, number][] = [['small', 10], ['big', 100]];
  for (let i = 0; i < 29; i++) reqs.splice(1, 0, ['big', 100]);
  reqs.push(['x', 60]);
  assert.deepEqual(run('hybrid', trace(reqs), 160).resident, ['big', 'x']);
});

test('ktail-idle-size evicts the largest size x (idle + 1) whatever the frequency; ktail-rule divides by it', () => {
  // at the insertion of x (t = 6): pop 50 B x (3 + 1) = 200 over 4 requests, a 40 x 3 = 120, b 40 x 2 = 80
  const t = trace([['pop', 50], ['pop', 50], ['pop', 50], ['pop', 50], ['a', 40], ['b', 40], ['x', 60]]);
  assert.deepEqual(run('ktail-idle-size:16:tail', t, 160).resident, ['a', 'b', 'x']);
  assert.deepEqual(run('ktail-rule:16:tail', t, 160).resident, ['b', 'pop', 'x']);
});

test('S3-FIFO: one-hit objects leave through the small queue into the ghost; a ghost hit goes to main', () => {
  // Capacity 100 B: small 10 B, main 90 B, ghost 90 B; 10 B objects. k0..k9 fill the cache (all in small).
  // k2 is hit twice (count 2). k10: small's oldest k0 (count 0) -> ghost. k0: ghost hit -> main, after
  // evicting k1 to the ghost. k11: small's oldest k2 (count 2) moves to main, then k3 -> ghost.
  const ks = Array.from({ length: 12 }, (_, i) => `k${i}`);
  const t = trace([...ks.slice(0, 10), 'k2', 'k2', 'k10', 'k0', 'k11'], 10);
  const { cache } = run('s3fifo', t, 100);
  const p = cache.policy as unknown as { small: DList; main: DList; ghost: DList };
  const id = (k: string) => keysOf(t).indexOf(k);
  assert.ok(p.main.has(id('k0')) && p.main.has(id('k2')) && p.main.length === 2, 'main holds k0 and k2');
  assert.ok(p.ghost.has(id('k1')) && p.ghost.has(id('k3')) && p.ghost.length === 2, 'ghost holds k1 and k3');
  assert.equal(p.small.length, 8);
  assert.equal(cache.stats.hits, 2);
  // Objects larger than the small queue are not admitted.
  assert.equal(run('s3fifo', trace([['huge', 20], ['huge', 20]]), 100).cache.stats.notAdmitted, 2);
});

test('ARC: a hit promotes to T2; a B1 ghost hit enters T2 and raises p', () => {
  const t = trace(['a', 'b', 'a', 'c', 'd', 'b'], 10);
  const { cache } = run('arc', t, 30);
  const p = cache.policy as unknown as { t1: DList; t2: DList; b1: DList; b2: DList; p: number };
  const id = (k: string) => keysOf(t).indexOf(k);
  // a b fill T1; a hit -> T2; c fills; d: T1 (b, c) above p=0 -> b to B1; b: B1 hit -> p += 1, REPLACE
  // sends T1's LRU (c) to B1, b enters T2.
  assert.ok(p.t2.has(id('a')) && p.t2.has(id('b')) && p.t1.has(id('d')) && p.b1.has(id('c')));
  assert.equal(p.p, 1);
});

test('Belady evicts the farthest next use; belady-size does not admit objects never requested again', () => {
  const t = trace(['a', 'b', 'c', 'a', 'b', 'd', 'a', 'b', 'c']);
  // At c (index 2) with a, b resident: next uses a@3, b@4 -> c is admitted by evicting... both present, cap 2:
  // Belady inserts c evicting the farthest (b@4 vs a@3 -> b).
  assert.equal(run('belady', t, 2).hits, '...H..H..');
  const r = run('belady-size', t, 2);
  assert.equal(r.cache.stats.notAdmitted, 2); // d and the last c are never requested again
});

test('a corrupted structure fails the end-of-run check with COLDRL_ERR_INVARIANT', () => {
  for (const policy of ['lru', 'fifo', 'clock', 'sieve', 'lfu', 'gdsf', 'arc', 's3fifo', 'size', 'adaptive-lru', 'hybrid', 'belady', 'belady-size']) {
    const keys = Array.from({ length: 60 }, (_, i) => `k${(i * 7) % 31}`);
    const { cache } = run(policy, trace(keys), 20);
    // Mark a non-resident object resident behind the policy's back: byte totals no longer match.
    const o = cache.objects;
    const ghostId = [...Array(o.capacity).keys()].find((id) => o.resident[id] === 0 && o.size[id]! > 0)!;
    o.resident[ghostId] = 1;
    assert.throws(() => cache.check(), (e: unknown) => isColdrlError(e) && e.code === 'COLDRL_ERR_INVARIANT', policy);
    o.resident[ghostId] = 0;
    cache.check();
    // Now only the policy's own structure can tell: hide a resident object from the cache's count too.
    (cache as unknown as { used: number }).used += o.size[ghostId]!;
    o.resident[ghostId] = 1;
    (cache as unknown as { residentCount: number }).residentCount++;
    assert.throws(() => cache.policy.check!(), (e: unknown) => isColdrlError(e) && e.code === 'COLDRL_ERR_INVARIANT', `${policy} own check`);
  }
});
