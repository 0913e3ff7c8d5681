/**
 * The nginx semantics of the shared access loop (replay/cache.ts), on hand-made traces whose outcome is
 * worked out in the comments: TTL expiry (a miss counted as expired, refetched and re-stored), `inactive`
 * removal, uncacheable requests that store nothing; each under several policies so that every policy's
 * onRemove path runs and its end-of-run check passes. Plus: --policy all over several sizes through
 * worker threads gives the same numbers as --threads 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cache } from '../../replay/cache.js';
import { listPolicies, policyFactory } from '../../replay/registry.js';
import { traceFromArrays, type Trace } from '../../replay/trace.js';
import { runCli, tempDir } from '../helpers.js';

/** Every policy with its own structures (the K-candidate family is tested by its own tests). */
const ALL = listPolicies().filter((p) => !p.hidden && !p.name.startsWith('ktail')).map((p) => p.name);
/** The hand-worked outcomes assume every cacheable miss is stored: belady-size refuses objects never
 * requested again (libCacheSim's rule), so it runs only in the consistency test below. */
const POLICIES = ALL.filter((p) => p !== 'belady-size');

function replay(t: Trace, policy: string, capacity: number, inactive = 0): { cache: Cache; hits: boolean[] } {
  const { factory, opts, info } = policyFactory(policy);
  const cache = new Cache(factory, { capacity, semantics: 'nginx', inactive, nextUse: info.offline ? t.nextUse() : null }, opts);
  const hits: boolean[] = [];
  for (let i = 0; i < t.length; i++) hits.push(cache.access(t, i));
  cache.check();
  return { cache, hits };
}

test('TTL: a request after expiry is a miss counted as expired, and the refetched copy is stored again', () => {
  const t = traceFromArrays('ttl', [
    { time: 0, key: 'a', size: 10, ttl: 10 }, // miss, stored until t=10
    { time: 5, key: 'a', size: 10, ttl: 10 }, // hit
    { time: 10, key: 'a', size: 10, ttl: 30 }, // expired (expires <= now): miss, refetched, stored until 40
    { time: 20, key: 'a', size: 10, ttl: 30 }, // hit on the refetched copy
    { time: 41, key: 'a', size: 12, ttl: 5 }, // expired again; re-stored with its new size
    { time: 42, key: 'a', size: 12, ttl: 5 }, // hit
  ]);
  for (const p of POLICIES) {
    const { cache, hits } = replay(t, p, 1000);
    assert.deepEqual(hits, [false, true, false, true, false, true], p);
    assert.equal(cache.stats.expired, 2, p);
    assert.equal(cache.used, 12, `${p}: the refetched copy keeps its new size`);
    assert.equal(cache.stats.evictions, 0, `${p}: expiry is not an eviction`);
  }
});

test('inactive: objects idle for `inactive` seconds are removed before the next request is served', () => {
  const t = traceFromArrays('inactive', [
    { time: 0, key: 'a', size: 10 },
    { time: 5, key: 'b', size: 10 },
    { time: 8, key: 'a', size: 10 }, // hit; a is now last used at 8
    { time: 16, key: 'c', size: 10 }, // b idle 11 s > 10: removed; a idle 8 s stays
    { time: 17, key: 'a', size: 10 }, // hit
    { time: 18, key: 'b', size: 10 }, // miss: b was removed
    { time: 40, key: 'c', size: 10 }, // a, b, c all idle > 10 s: removed; miss
  ]);
  for (const p of POLICIES) {
    const { cache, hits } = replay(t, p, 1000, 10);
    assert.deepEqual(hits, [false, false, true, false, true, false, false], p);
    assert.equal(cache.stats.inactiveRemovals, 4, p);
    assert.equal(cache.used, 10, p);
  }
  // Off in plain semantics: the same trace never removes anything.
  const { factory } = policyFactory('lru');
  const plain = new Cache(factory, { capacity: 1000, semantics: 'plain', inactive: 10 });
  for (let i = 0; i < t.length; i++) plain.access(t, i);
  assert.equal(plain.stats.inactiveRemovals, 0);
  assert.equal(plain.stats.hits, 4);
});

test('uncacheable requests are misses that store nothing and leave a resident copy alone', () => {
  const t = traceFromArrays('uncacheable', [
    { time: 0, key: 'a', size: 10, uncacheable: true }, // miss, not stored
    { time: 1, key: 'a', size: 10, uncacheable: true }, // miss again
    { time: 2, key: 'b', size: 10, ttl: 0 }, // TTL 0: not cacheable, not stored
    { time: 3, key: 'b', size: 10 }, // miss, stored
    { time: 4, key: 'b', size: 10, uncacheable: true }, // miss (bypass), resident copy untouched
    { time: 5, key: 'b', size: 10 }, // hit
  ]);
  for (const p of POLICIES) {
    const { cache, hits } = replay(t, p, 1000);
    assert.deepEqual(hits, [false, false, false, false, false, true], p);
    assert.equal(cache.stats.uncacheable, 4, p);
    assert.equal(cache.used, 10, p);
  }
});

test('expiry and inactive removal under eviction pressure keep every policy consistent', () => {
  // 3,000 requests over 60 keys with short TTLs, some uncacheable, in a cache of about 15 objects.
  let x = 12345;
  const rand = () => { x = (x * 1103515245 + 12345) >>> 0; return x / 4294967296; };
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    time: i * 0.5, key: Math.floor(Math.pow(rand(), 2) * 60), size: 50 + Math.floor(rand() * 100),
    ttl: rand() < 0.1 ? 0 : 5 + rand() * 40, uncacheable: rand() < 0.05,
  }));
  const t = traceFromArrays('pressure', rows);
  for (const p of ALL) {
    const { cache } = replay(t, p, 1500, 15); // check() runs inside replay()
    const s = cache.stats;
    assert.ok(s.expired > 0 && s.inactiveRemovals > 0 && s.evictions > 0 && s.uncacheable > 0, `${p}: ${JSON.stringify(s)}`);
    assert.ok(cache.used <= 1500, p);
  }
});

test('--policy all over several sizes gives the same numbers in worker threads as in one thread', (t) => {
  // 20,000 skewed requests over 3,000 keys with mixed sizes, written as a CSV file.
  let x = 4242;
  const rand = () => { x = (x * 1103515245 + 12345) >>> 0; return x / 4294967296; };
  const lines = ['timestamp,obj_id,size'];
  const sizes = Array.from({ length: 3000 }, () => 100 + Math.floor(rand() * 5000));
  for (let i = 0; i < 20000; i++) { const k = Math.floor(Math.pow(rand(), 3) * 3000); lines.push(`${i},${k},${sizes[k]}`); }
  const file = join(tempDir(t), 'skewed.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  const args = ['replay', '--trace', file, '--policy', 'all', '--cache-size', '1%,10%,256k', '--json'];
  const one = runCli([...args, '--threads', '1']);
  const two = runCli([...args, '--threads', '2']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const strip = (out: string) => out.trim().split('\n').map((l) => { const r = JSON.parse(l) as Record<string, unknown>; delete r.seconds; return r; });
  const a = strip(one.stdout);
  const b = strip(two.stdout);
  assert.ok(a.length >= 3 * 12, `expected every policy at every size, got ${a.length} rows`);
  assert.deepEqual(b, a);
});

test('halves: the first and second half of the requests, ids re-densified; too short to split = null', () => {
  const t = traceFromArrays('five', ['a', 'b', 'a', 'c', 'b'].map((key, i) => ({ time: i, key, size: 10 + i })));
  const h = t.halves();
  assert.ok(h);
  const [first, second] = h;
  assert.deepEqual([first.length, second.length], [2, 3]);
  assert.deepEqual(Array.from(second.time), [2, 3, 4]);
  assert.deepEqual(Array.from(second.id), [0, 1, 2], 'a, c, b get fresh dense ids in the second half');
  assert.equal(traceFromArrays('one', [{ time: 0, key: 'a', size: 1 }]).halves(), null);
});
