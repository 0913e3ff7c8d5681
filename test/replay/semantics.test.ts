/**
 * The nginx semantics of the shared access loop (replay/cache.ts), on hand-made traces whose outcome is
 * worked out in the comments: TTL expiry (a miss counted as expired, refetched and re-stored), `inactive`
 * removal, uncacheable requests that store nothing, lifetime counts and first-request times that outlive
 * eviction, expiry and removal; each under several policies so that every policy's onRemove path runs and
 * its end-of-run check passes. Plus: --policy all over several sizes through
 * worker threads gives the same numbers as --threads 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cache } from '../../replay/cache.js';
import { listPolicies, policyFactory } from '../../replay/registry.js';
import { traceFromArrays, type Trace } from '../../replay/trace.js';
import { keysOf, runCli, tempDir } from '../helpers.js';

/** Every policy with its own structures (the K-candidate family is tested by its own tests). */
const ALL = listPolicies().filter((p) => !p.hidden && !p.name.startsWith('ktail')).map((p) => p.name);
/** The hand-worked outcomes assume every cacheable miss is stored: belady-size refuses objects never
 * requested again (libCacheSim's rule), so it runs only in the consistency test below. */
const POLICIES = ALL.filter((p) => p !== 'belady-size');

/** Replays t under policy in nginx semantics, with the end-of-run invariants checked. */
function replayWith(t: Trace, policy: string, o: { capacity: number; inactive?: number; keysLimit?: number; minUses?: number }): { cache: Cache; hits: boolean[] } {
  const { factory, opts, info } = policyFactory(policy);
  const cache = new Cache(factory, { ...o, semantics: 'nginx', nextUse: info.offline ? t.nextUse() : null }, opts);
  const hits: boolean[] = [];
  for (let i = 0; i < t.length; i++) hits.push(cache.access(t, i));
  cache.check();
  return { cache, hits };
}

const replay = (t: Trace, policy: string, capacity: number, inactive = 0) => replayWith(t, policy, { capacity, inactive });

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

test('keys zone: when it is full the LRU tail goes, whatever the policy; then the policy keeps the count under 7/8', () => {
  const rows = [];
  for (let i = 0; i < 16; i++) rows.push({ time: i, key: `o${i}`, size: 10 });
  rows.push({ time: 16, key: 'o0', size: 10 }); // hit: o0 is no longer the LRU tail (o1 is); FIFO's oldest is still o0
  for (let i = 16; i < 20; i++) rows.push({ time: i + 1, key: `o${i}`, size: 10 });
  const t = traceFromArrays('keys', rows);
  const { factory, opts } = policyFactory('fifo');
  const cache = new Cache(factory, { capacity: 1e6, semantics: 'nginx', keysLimit: 16 }, opts);
  const resident = () => keysOf(t).filter((_, id) => cache.objects.resident[id] === 1).join(' ');
  for (let i = 0; i < 17; i++) cache.access(t, i);
  assert.equal(resident(), Array.from({ length: 16 }, (_, i) => `o${i}`).join(' '), '16 nodes fit');
  cache.access(t, 17); // o16 finds the zone full: o1 (LRU) goes; watermark 16 - 2 = 14; FIFO evicts o0, o2, o3
  assert.equal(resident(), 'o4 o5 o6 o7 o8 o9 o10 o11 o12 o13 o14 o15 o16');
  assert.equal(cache.stats.zoneFull, 1);
  assert.equal(cache.stats.evictions, 3);
  for (let i = 18; i < t.length; i++) cache.access(t, i); // each new object: one FIFO eviction, 13 resident
  assert.equal(resident(), 'o7 o8 o9 o10 o11 o12 o13 o14 o15 o16 o17 o18 o19');
  assert.equal(cache.stats.zoneFull, 1, 'the worker path runs once: the manager keeps the count below the watermark');
  cache.check();
  // every policy keeps the count below the watermark on a longer trace
  const many = traceFromArrays('keys-many', Array.from({ length: 3000 }, (_, i) => ({ time: i, key: `k${(i * 7919) % 401}`, size: 5 + (i % 13) })));
  for (const p of POLICIES) {
    const { cache: c } = replayWith(many, p, { capacity: 1e6, keysLimit: 64 });
    assert.equal(c.stats.zoneFull, 1, p);
    assert.ok(c.stats.evictions > 0, p);
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

test('lifetime: request counts and first-request times outlive eviction, expiry and inactive removal', () => {
  const t = traceFromArrays('lifetime', [
    { time: 2, key: 'a', size: 10, ttl: 100 },
    { time: 3, key: 'b', size: 10, ttl: 100 }, // the cache holds one: a is evicted
    { time: 4, key: 'a', size: 10, ttl: 1 }, // miss; b is evicted; expires at 5
    { time: 6, key: 'a', size: 10, ttl: 100 }, // expired: refetched
    { time: 30, key: 'b', size: 10, ttl: 100 }, // a idle 24 s > 10: removed; b stored again
  ]);
  for (const p of POLICIES) {
    const { cache, hits } = replayWith(t, p, { capacity: 10, inactive: 10 });
    assert.deepEqual(hits, [false, false, false, false, false], p);
    const o = cache.objects;
    assert.deepEqual([o.requests[0], o.requests[1]], [3, 2], `${p}: lifetime requests`);
    assert.deepEqual([o.first[0], o.first[1]], [2, 3], `${p}: first requests`);
  }
});

test('uncacheable requests are misses that store nothing; a fresh copy serves them unless the lookup is skipped', () => {
  const t = traceFromArrays('uncacheable', [
    { time: 0, key: 'a', size: 10, uncacheable: true }, // miss, not stored
    { time: 1, key: 'a', size: 10, uncacheable: true }, // miss again
    { time: 2, key: 'b', size: 10, ttl: 0 }, // TTL 0: not cacheable, not stored
    { time: 3, key: 'b', size: 10 }, // miss, stored
    { time: 4, key: 'b', size: 10, noLookup: true }, // miss (bypass, or a method nginx does not cache), resident copy untouched
    { time: 5, key: 'b', size: 10 }, // hit
    { time: 6, key: 'b', size: 10, uncacheable: true }, // hit: nginx serves the fresh copy and never sees a response to refuse
    { time: 7, key: 'c', size: 10, ttl: 5 }, // miss, stored until t=12
    { time: 20, key: 'c', size: 10, uncacheable: true }, // expired: miss, the refetched response is not stored
    { time: 21, key: 'c', size: 10 }, // miss, stored
  ]);
  for (const p of POLICIES) {
    const { cache, hits } = replay(t, p, 1000);
    assert.deepEqual(hits, [false, false, false, false, false, true, true, false, false, false], p);
    assert.equal(cache.stats.uncacheable, 5, p);
    assert.equal(cache.stats.expired, 1, p);
    assert.equal(cache.used, 20, p);
  }
});

test('proxy_cache_min_uses: stored on the key\'s Nth request; the count goes with an evicted object or an idle node, an expired copy keeps it', () => {
  // capacity 20 (two objects), min_uses 2, inactive 100
  const t = traceFromArrays('min-uses', [
    { time: 0, key: 'a', size: 10 }, // a: node, 1 use: miss, not stored (scarce)
    { time: 1, key: 'a', size: 10, ttl: 10 }, // 2 uses: miss, stored until t=11
    { time: 2, key: 'a', size: 10 }, // hit
    { time: 11, key: 'a', size: 10, ttl: 50 }, // expired: the node stays, the refetch is stored
    { time: 12, key: 'a', size: 10 }, // hit
    { time: 13, key: 'u', size: 10, noLookup: true }, // never looked up (a POST): counts no use
    { time: 14, key: 'u', size: 10 }, // 1 use: scarce
    { time: 150, key: 'u', size: 10 }, // idle 136 s > inactive: a new node, 1 use (a: removed by inactive too)
    { time: 151, key: 'u', size: 10 }, // 2 uses: stored
    { time: 152, key: 'b', size: 10 }, { time: 153, key: 'b', size: 10 }, // b stored on its 2nd
    { time: 154, key: 'c', size: 10 }, { time: 155, key: 'c', size: 10 }, // c stored: evicts u (LRU)
    { time: 156, key: 'u', size: 10 }, // u's node went with it: 1 use, scarce
    { time: 157, key: 'u', size: 10 }, // stored again (evicts b)
    { time: 158, key: 'd', size: 10 }, // scarce
    { time: 160, key: 'd', size: 10, ttl: 200 }, // stored until t=360 (evicts c)
    { time: 250, key: 'd', size: 10 }, { time: 340, key: 'd', size: 10 }, // hits, 90 s apart (u idle: removed)
    { time: 400, key: 'd', size: 10, ttl: 50 }, // expired, 240 s after its node's first requests: still stored
    { time: 401, key: 'd', size: 10 }, // hit
  ]);
  const { cache, hits } = replayWith(t, 'lru', { capacity: 20, inactive: 100, minUses: 2 });
  assert.deepEqual(hits.map(Number), [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1]);
  assert.equal(cache.stats.scarce, 7);
  assert.equal(cache.stats.expired, 2);
  assert.deepEqual(['u', 'b', 'c', 'd'].map((k) => cache.objects.resident[keysOf(t).indexOf(k)]), [0, 0, 0, 1]);
  // every policy keeps its books through the same trace; min_uses 1 stores on the first request
  for (const p of POLICIES) replayWith(t, p, { capacity: 20, inactive: 100, minUses: 2 });
  assert.equal(replayWith(t, 'lru', { capacity: 20, inactive: 100 }).cache.stats.scarce, 0);
  assert.throws(() => replayWith(t, 'lru', { capacity: 20, minUses: 0 }), { code: 'COLDRL_ERR_USAGE' });
  // a response not stored (its headers or status) still counted a use: its lookup came first
  const looked = traceFromArrays('looked-up', [
    { time: 0, key: 'x', size: 10, uncacheable: true }, { time: 1, key: 'x', size: 10, ttl: 0 }, { time: 2, key: 'x', size: 10 }, { time: 3, key: 'x', size: 10 },
  ]);
  assert.deepEqual(replayWith(looked, 'lru', { capacity: 20, minUses: 3 }).hits.map(Number), [0, 0, 0, 1], 'stored on the third request');
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

test('coldrl replay --keys-zone, --cache-zone and --min-uses: nginx semantics implied, the node limit and min_uses applied, usage errors', (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'keys.csv');
  const lines = ['timestamp,obj_id,size'];
  for (let i = 0; i < 4000; i++) lines.push(`${i},k${(i * 7919) % 997 % (1 + (i % 300))},${100 + (i % 17) * 40}`);
  writeFileSync(trace, lines.join('\n') + '\n');
  const run = (extra: string[]) => runCli(['replay', '--trace', trace, '--policy', 'lru,gdsf', '--json', ...extra]);
  const rows = (r: ReturnType<typeof run>) => {
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { semantics: string; hitRatio: number; zoneFull: number });
  };
  const free = rows(run(['--cache-size', '1m', '--semantics', 'nginx']));
  const cappedRun = run(['--cache-size', '1m', '--keys-zone', '16k']);
  assert.match(cappedRun.stderr, /note: the keys zone filled under lru at 1m, gdsf at 1m: from then on NGINX evicts by object count/);
  const capped = rows(cappedRun);
  for (let i = 0; i < 2; i++) {
    assert.equal(capped[i]!.semantics, 'nginx', '--keys-zone implies nginx semantics');
    assert.equal(capped[i]!.zoneFull, 1);
    assert.equal(free[i]!.zoneFull, 0);
    assert.ok(capped[i]!.hitRatio < free[i]!.hitRatio, '63 nodes hold fewer objects than 1 MiB does');
  }
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, 'http { proxy_cache_path /var/cache/nginx keys_zone=web:16k max_size=1m inactive=1d; }\n');
  const fromConf = run(['--nginx-conf', conf, '--cache-zone', 'web']);
  assert.deepEqual(rows(fromConf).map((r) => r.hitRatio), capped.map((r) => r.hitRatio));
  assert.match(fromConf.stderr, /keys_zone=web:16\.0 KiB \(63 nodes\) max_size 1\.0 MiB, inactive 86400 s/);
  const usage = (extra: string[], message: RegExp) => {
    const r = run(extra);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  };
  usage(['--cache-size', '1m', '--semantics', 'plain', '--keys-zone', '16k'], /--keys-zone is NGINX's: it needs --semantics nginx/);
  usage(['--cache-size', '1m', '--keys-zone', 'ten'], /--keys-zone: cannot read the size "ten"/);
  usage(['--cache-size', '1m', '--keys-zone', '8k'], /holds no cache node/);
  usage(['--cache-size', '1m', '--nginx-conf', conf], /--nginx-conf needs --log-format-name .* or --cache-zone/);
  // --min-uses: nginx semantics implied, first requests not stored
  const twice = run(['--cache-size', '1m', '--min-uses', '2']);
  assert.equal(twice.code, 0, twice.stderr);
  for (const [i, row] of twice.stdout.trim().split('\n').map((l) => JSON.parse(l) as { semantics: string; hitRatio: number; scarce: number }).entries()) {
    assert.equal(row.semantics, 'nginx');
    assert.ok(row.scarce > 0 && row.hitRatio < free[i]!.hitRatio, JSON.stringify(row));
  }
  usage(['--cache-size', '1m', '--semantics', 'plain', '--min-uses', '2'], /--min-uses is NGINX's: it needs --semantics nginx/);
  usage(['--cache-size', '1m', '--min-uses', '0'], /--min-uses must be an integer >= 1 \(got "0"\)/);
});
