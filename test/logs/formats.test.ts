/** NGINX log lines -> requests: combined and custom log_formats, nginx.conf, TTL and cacheability rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logReadOptions, openSource, parseCacheValid } from '../../replay/formats/index.js';
import type { LogReadOptions, LogStats } from '../../replay/formats/nginx-source.js';
import { FLAG_NO_LOOKUP, FLAG_UNCACHEABLE, loadTrace, type Trace } from '../../replay/trace.js';
import { Cache } from '../../replay/cache.js';
import { policyFactory } from '../../replay/registry.js';
import { keysOf, ROOT, tempDir } from '../helpers.js';
import { CACHETRAIN_JSON, CACHETRAIN_TEXT, logFormatFromConf } from '../../replay/formats/nginx-format.js';
import { keyHash, KeyIndex, MAX_KEY_BYTES } from '../../replay/formats/key-index.js';

async function read(t: { after(fn: () => void): void }, lines: string[], format: string, opts: LogReadOptions = {}): Promise<Trace> {
  const f = join(tempDir(t), 'access.log');
  writeFileSync(f, lines.join('\n') + '\n');
  return loadTrace(openSource(f, format, opts));
}
const col = (a: ArrayLike<number>, n: number) => Array.from({ length: n }, (_, i) => a[i]!);

test('combined: $time_local with offsets, $request split, escapes, uncacheable by method and status (a 304 is the 200 behind it)', async (t) => {
  const tr = await read(t, [
    '192.0.2.1 - alice [10/Oct/2023:13:55:36 -0700] "GET /img/a.png?x=1 HTTP/1.1" 200 2326 "http://r/" "Mozilla/5.0 \\x22x\\x22"',
    '192.0.2.1 - - [10/Oct/2023:20:55:37 +0000] "POST /form HTTP/1.1" 200 12 "-" "curl/8"',
    '192.0.2.1 - - [10/Oct/2023:20:55:38 +0000] "GET /img/a.png?x=1 HTTP/1.1" 304 0 "-" "curl/8"',
    '192.0.2.1 - - [10/Oct/2023:20:55:39 +0000] "GET /missing HTTP/1.1" 404 153 "-" "curl/8"',
  ], 'nginx-combined');
  assert.deepEqual(keysOf(tr), ['/img/a.png?x=1', '/form', '/missing']);
  assert.deepEqual(col(tr.time, 4), [1696971336, 1696971337, 1696971338, 1696971339]);
  // The 304 has no body: the object keeps the size of its last 200 line. It stands for the 200 behind it
  // (NGINX stores the full object and answers the client's conditional request itself): cacheable.
  assert.deepEqual(col(tr.size, 4), [2326, 12, 2326, 153]);
  assert.deepEqual(col(tr.flags, 4), [0, FLAG_UNCACHEABLE | FLAG_NO_LOOKUP, 0, FLAG_UNCACHEABLE]);
  assert.deepEqual(col(tr.ttl, 4), [Infinity, 0, Infinity, 0]);
});

test('cachetrain_text: the upstream status and the headers that keep a response out; its shorter form before them still read', async (t) => {
  const at = (sec: number, uri: string, rest: string) =>
    `192.0.2.1 - - [10/Oct/2023:20:55:${sec} +0000] "GET ${uri} HTTP/1.1" 200 100 "-" "curl/8" 16969713${sec}.000 ${rest}`;
  const lines = [
    at(30, '/a', '"MISS" 100 0.010 "max-age=60" "-" 200 "-" "-" "-"'),
    at(31, '/a', '"HIT" - - "-" "-" - "-" "-" "-"'),
    at(32, '/x', '"MISS" 100 0.010 "max-age=60" "-" 200 "0" "-" "-"'), // X-Accel-Expires: 0
    at(33, '/c', '"MISS" 100 0.010 "max-age=60" "-" 200 "-" "1" "-"'), // a Set-Cookie
    at(34, '/v', '"MISS" 100 0.010 "max-age=60" "-" 200 "-" "-" "*"'), // Vary: *
    at(35, '/n', '"MISS" 100 0.010 "-" "-" 404 "-" "-" "-"'), // the upstream's 404 behind the client's 200
    at(36, '/e', '"MISS" 100 0.010 "-" "-" 200 "30" "-" "-"'), // X-Accel-Expires: 30 s
  ];
  const f = join(tempDir(t), 'access.log');
  writeFileSync(f, lines.join('\n') + '\n');
  const src = openSource(f, 'nginx-combined');
  const tr = await loadTrace(src);
  assert.deepEqual(col(tr.flags, 7), [0, 0, FLAG_UNCACHEABLE, FLAG_UNCACHEABLE, FLAG_UNCACHEABLE, FLAG_UNCACHEABLE, 0]);
  assert.deepEqual(col(tr.ttl, 7), [60, 60, 0, 0, 0, 0, 30], 'a HIT line logs no header: the TTL of the last stored response');
  assert.deepEqual((src.stats as LogStats).uncacheableBy, { 'x-accel-expires': 1, 'set-cookie': 1, vary: 1, status: 1 });
  // a request that tried two upstreams (the first refused it) logs lists; ", " and " : " do not end a value
  const retried = await read(t, [
    at(40, '/r', '"MISS" 0, 5000 0.001, 0.020 "max-age=60" "-" 502, 200 "-" "-" "-"'),
    at(41, '/s', '"MISS" 0 : 700 0.002 : 0.030 "max-age=60" "-" 502 : 200 "-" "-" "-"'),
  ], 'nginx-combined');
  assert.deepEqual([col(retried.size, 2), col(retried.rtt, 2), col(retried.ttl, 2)], [[5000, 700], [21, 32], [60, 60]]);
  // the shorter form (cachetrain_text_v1): detected, its cache fields read
  const v1 = await read(t, [at(30, '/a', '"MISS" 100 0.010 "max-age=60" "-"'), at(31, '/a', '"HIT" - - "-" "-"')], 'nginx-combined');
  assert.deepEqual([col(v1.ttl, 2), col(v1.rtt, 2), col(v1.time, 2)], [[60, 60], [10, 10], [1696971330, 1696971331]]);
  // a HIT line of an object never stored in the log: the default TTL; one whose copy the simulator lost
  // stores it again with the last TTL, so that it expires where NGINX's refetch would
  const hits = await read(t, [
    at(10, '/h', '"HIT" - - "-" "-" - "-" "-" "-"'),
    at(20, '/a', '"MISS" 100 0.010 "max-age=10" "-" 200 "-" "-" "-"'),
    at(21, '/b', '"MISS" 100 0.010 "max-age=10" "-" 200 "-" "-" "-"'),
    at(22, '/a', '"HIT" - - "-" "-" - "-" "-" "-"'),
    at(40, '/a', '"EXPIRED" 100 0.010 "max-age=10" "-" 200 "-" "-" "-"'),
  ], 'nginx-combined');
  assert.deepEqual(col(hits.ttl, 5), [Infinity, 10, 10, 10, 10]);
  const lru = new Cache(policyFactory('lru').factory, { capacity: 150, semantics: 'nginx' });
  assert.deepEqual(Array.from({ length: 5 }, (_, i) => lru.access(hits, i)), [false, false, false, false, false], '/a expired at t=32');
});

test('a malformed $time_local is a bad line, counted by reason', async (t) => {
  const f = join(tempDir(t), 'access.log');
  writeFileSync(f, [
    '192.0.2.1 - - [1x/Oct/2023:20:55:36 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"',
    '192.0.2.1 - - [10/Oct/2023:20:55:37 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"',
  ].join('\n'));
  const src = openSource(f, 'nginx-combined');
  const tr = await loadTrace(src);
  assert.equal(tr.length, 1);
  assert.deepEqual(src.stats.skipped, { 'bad $time_local': 1 });
  assert.match(src.stats.examples[0]!, /access\.log:1: bad \$time_local$/);
});

test('log lines timed earlier than one before them (workers finishing out of order) are counted in the summary', async (t) => {
  const f = join(tempDir(t), 'access.log');
  writeFileSync(f, ['20:55:37', '20:55:39', '20:55:38'].map((h) => `192.0.2.1 - - [10/Oct/2023:${h} +0000] "GET /a HTTP/1.1" 200 1 "-" "-"`).join('\n'));
  const src = openSource(f, 'nginx-combined');
  assert.deepEqual(col((await loadTrace(src)).time, 3), [1696971337, 1696971339, 1696971338]);
  assert.deepEqual([src.stats.backwards, src.stats.maxBackwards], [1, 1]);
  assert.match(src.stats.summary(), /; 1 timed earlier than a request before them \(by 1 s at most;/);
});

test('a custom --log-format, --key-from and upstream lists (RTT = sum, size = last entry)', async (t) => {
  const fmt = '$remote_addr [$time_iso8601] $scheme://$host "$request" $status $body_bytes_sent $upstream_cache_status rt=$upstream_response_time len=$upstream_response_length';
  const lines = [
    '10.0.0.1 [2023-11-14T22:13:20+00:00] https://example.org "GET /v HTTP/2.0" 200 900 MISS rt=0.010, 0.120 : 0.005 len=0, 1000',
    '10.0.0.1 [2023-11-14T23:13:21+01:00] https://example.org "GET /v HTTP/2.0" 200 1000 HIT rt=- len=-',
  ];
  const tr = await read(t, lines, 'nginx', { logFormat: fmt, keyFrom: 'host-uri' });
  assert.deepEqual(keysOf(tr), ['example.org/v']);
  assert.deepEqual(col(tr.time, 2), [1700000000, 1700000001]);
  assert.deepEqual(col(tr.size, 2), [1000, 1000]);
  assert.deepEqual(col(tr.rtt, 2), [135, 135]);
  const uri = await read(t, lines, 'nginx', { logFormat: fmt, keyFrom: 'uri' });
  assert.deepEqual(keysOf(uri), ['/v']);
  const all = await read(t, lines, 'nginx', { logFormat: fmt });
  assert.deepEqual(keysOf(all), ['httpsexample.org/v']);
});

test('--nginx-conf reads a multi-line escape=json log_format by name', async (t) => {
  const dir = tempDir(t);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `http {
    # the training format
    log_format main '$remote_addr - $remote_user [$time_local] "$request" $status';
    log_format cachetrain escape=json '{"ts":$msec,"key":"$scheme$proxy_host$request_uri",'
        '"method":"$request_method","status":$status,"cache":"$upstream_cache_status",'
        '"up_len":"$upstream_response_length","up_rt":"$upstream_response_time",'
        '"up_cc":"$upstream_http_cache_control"}';
    access_log /var/log/nginx/access.log cachetrain;
}
`);
  const tr = await read(t, [
    '{"ts":1700000000.250,"key":"httpbackend/a \\"q\\"","method":"GET","status":200,"cache":"MISS","up_len":"77","up_rt":"0.003","up_cc":"max-age=60"}',
  ], 'nginx', { nginxConf: conf, logFormatName: 'cachetrain' });
  assert.deepEqual(keysOf(tr), ['httpbackend/a "q"']);
  assert.deepEqual([tr.time[0], tr.size[0], tr.rtt[0], tr.ttl[0]], [1700000000.25, 77, 3, 60]);
  await assert.rejects(async () => read(t, ['x'], 'nginx', { nginxConf: conf, logFormatName: 'nope' }), { code: 'COLDRL_ERR_BAD_FORMAT', message: /found: main, cachetrain/ });
});

/** A cachetrain JSON line with the given upstream headers. */
function line(ts: number, key: string, cc: string, expires = '', extra: { method?: string; status?: number; cache?: string } = {}): string {
  return JSON.stringify({ ts, key, method: extra.method ?? 'GET', status: extra.status ?? 200, cache: extra.cache ?? 'MISS', body_bytes: 10,
    up_len: '10', up_rt: '0.001', up_cc: cc, up_expires: expires, cc: '', expires: '' });
}

test('Cache-Control and Expires: s-maxage over max-age, no-store/no-cache/private/max-age=0, Expires relative to the line', async (t) => {
  const ts = 1700000000; // Tue, 14 Nov 2023 22:13:20 GMT
  const cases: [string, string, number, boolean][] = [
    ['public, max-age=600', '', 600, false],
    ['max-age=600, s-maxage=30', '', 30, false],
    ['PUBLIC, MAX-AGE=120;', '', 120, false],
    ['max-age="120"', '', 0, true],
    ['no-store', '', 0, true],
    ['no-cache="Set-Cookie"', '', 0, true],
    ['private, max-age=600', '', 0, true],
    ['max-age=0', '', 0, true],
    ['', 'Tue, 14 Nov 2023 23:13:20 GMT', 3600, false],
    ['public', 'Tue, 14 Nov 2023 22:13:19 GMT', 0, true],
    ['', '0', 0, true],
    ['max-age=5', 'Tue, 14 Nov 2023 23:13:20 GMT', 5, false],
    ['', '', 777, false],
  ];
  const tr = await read(t, cases.map(([cc, ex], i) => line(ts, `/k${i}`, cc, ex)), 'nginx-json', { defaultTtl: 777 });
  cases.forEach(([cc, ex, ttl, unc], i) => {
    assert.equal(tr.ttl[i], ttl, `ttl of "${cc}" / "${ex}"`);
    assert.equal(tr.flags[i] === FLAG_UNCACHEABLE, unc, `cacheability of "${cc}" / "${ex}"`);
  });
});

test('status: a TTL in the headers caches any status; without one the upstream\'s status decides (200, 301, 302), a client\'s 206 or 304 is the 200 behind it, a line served from the cache is cached', async (t) => {
  const ts = 1700000000;
  const cases: [Record<string, unknown>, number | 'no'][] = [
    [{ status: 404, up_cc: 'max-age=60' }, 60], // NGINX caches a 404 (or a 500) whose headers give a TTL
    [{ status: 500, up_xae: '30' }, 30],
    [{ status: 404, up_cc: '' }, 'no'], // no TTL: proxy_cache_valid's default codes only
    [{ status: 200, up_cc: '', up_status: '404' }, 'no'], // the upstream's status, not the client's (error_page)
    [{ status: 200, up_cc: '', up_status: '502, 200' }, 777], // the last upstream tried
    [{ status: 206, up_cc: '' }, 777], // a range of a MISS: NGINX fetched and stored the 200
    [{ status: 206, up_cc: '', up_status: '200' }, 777],
    [{ status: 304, up_cc: '', cache: 'MISS' }, 777],
    [{ status: 206, up_cc: '', cache: 'HIT', up_len: '' }, 777], // served from the cache
    [{ status: 304, up_cc: '', cache: 'HIT', up_len: '' }, 777],
    [{ status: 200, up_cc: '', cc: 'no-cache', cache: 'HIT', up_len: '' }, 777], // cached (proxy_ignore_headers): still a hit
    [{ status: 200, up_cc: '', cc: 'max-age=90', cache: 'STALE', up_len: '' }, 90],
    [{ status: 403, up_cc: '', cache: 'MISS' }, 'no'],
  ];
  const tr = await read(t, cases.map(([extra], i) => JSON.stringify({ ...JSON.parse(line(ts, `/s${i}`, '')), ...extra })), 'nginx-json', { defaultTtl: 777 });
  cases.forEach(([extra, want], i) => {
    assert.equal(tr.flags[i] === FLAG_UNCACHEABLE ? 'no' : tr.ttl[i], want, JSON.stringify(extra));
  });
});

test('--cache-valid: proxy_cache_valid lines by status, the first match winning; alone, only the statuses it names', async (t) => {
  const ts = 1700000000;
  const statuses = [200, 301, 404, 500];
  const lines = statuses.map((status, i) => JSON.stringify({ ...JSON.parse(line(ts, `/v${i}`, '')), status }));
  const ttls = async (o: { defaultTtl?: number; valid?: string }) => {
    const tr = await read(t, lines, 'nginx-json', { ...(o.defaultTtl !== undefined ? { defaultTtl: o.defaultTtl } : {}), ...(o.valid ? logReadOptions({ 'cache-valid': o.valid }) : {}) });
    return statuses.map((_, i) => (tr.flags[i] === FLAG_UNCACHEABLE ? 'no' : tr.ttl[i]));
  };
  assert.deepEqual(await ttls({}), [Infinity, Infinity, 'no', 'no']); // the simulator's default: 200, 301, 302 for ever
  assert.deepEqual(await ttls({ defaultTtl: 600 }), [600, 600, 'no', 'no']); // proxy_cache_valid 10m
  assert.deepEqual(await ttls({ defaultTtl: 600, valid: '404 1m' }), [600, 600, 60, 'no']);
  assert.deepEqual(await ttls({ valid: '404 1m' }), ['no', 'no', 60, 'no']); // as NGINX with that line alone
  assert.deepEqual(await ttls({ valid: '200 1h; 404 1m; any 30s' }), [3600, 30, 60, 30]);
  assert.deepEqual(await ttls({ valid: 'any 30s; 404 1m' }), [30, 30, 30, 30]); // nginx's order: any first wins
  assert.deepEqual(await ttls({ valid: '5m' }), [300, 300, 'no', 'no']); // a time alone: 200, 301, 302
  assert.deepEqual(parseCacheValid('200 302 10m; 404 1m'), [{ status: 200, ttl: 600 }, { status: 302, ttl: 600 }, { status: 404, ttl: 60 }]);
  for (const bad of ['404 soon', '99 1m', 'all 1m', ';']) assert.throws(() => parseCacheValid(bad), { code: 'COLDRL_ERR_USAGE' }, bad);
});

test('X-Accel-Expires: over Cache-Control and Expires, 0 not cached, @epoch from the line, ignored unless a number', async (t) => {
  const ts = 1700000000.5;
  const cases: [string, string, number, boolean][] = [
    ['60', 'max-age=3600', 60, false],
    ['60', 'no-store', 60, false], // nginx 1.22 obeys whichever header came first; the log keeps no order
    ['0', 'max-age=3600', 0, true],
    [`@${1700000100}`, 'max-age=3600', 99.5, false],
    [`@${1700000000}`, '', 0.001, false], // before the line: stored already stale (STALE_TTL), as NGINX does
    ['@0', 'max-age=30', 30, false], // leaves nginx's valid_sec unset: ignored
    ['5s', 'max-age=30', 30, false],
    ['-1', '', 777, false],
    ['', 'max-age=30', 30, false],
  ];
  const tr = await read(t, cases.map(([xae, cc], i) => JSON.stringify({ ...JSON.parse(line(ts, `/x${i}`, cc)), up_xae: xae })), 'nginx-json', { defaultTtl: 777 });
  cases.forEach(([xae, cc, ttl, unc], i) => {
    assert.ok(Math.abs(tr.ttl[i]! - ttl) < 1e-9, `ttl of "${xae}" / "${cc}": ${tr.ttl[i]}`);
    assert.equal(tr.flags[i] === FLAG_UNCACHEABLE, unc, `cacheability of "${xae}" / "${cc}"`);
  });
});

test('Set-Cookie (a flag) and Vary: * are not cached; --ignore-headers turns each header off as proxy_ignore_headers does', async (t) => {
  const ts = 1700000000;
  const rows: Record<string, string>[] = [
    { up_cc: 'max-age=60' },
    { up_cc: 'max-age=60', up_cookie: '1' },
    { up_cc: 'max-age=60', up_vary: '*' },
    { up_cc: 'max-age=60', up_vary: 'Accept-Encoding' },
    { up_cc: 'no-store' },
    { up_cc: 'max-age=60', up_xae: '5' },
    { up_cc: '', up_expires: 'Tue, 14 Nov 2023 23:13:20 GMT' },
  ];
  const lines = rows.map((extra, i) => JSON.stringify({ ...JSON.parse(line(ts, `/h${i}`, '')), ...extra }));
  const outcome = async (ignore: string | undefined) => {
    const tr = await read(t, lines, 'nginx-json', { defaultTtl: 777, ...(ignore ? logReadOptions({ 'ignore-headers': ignore }) : {}) });
    return rows.map((_, i) => (tr.flags[i] === FLAG_UNCACHEABLE ? 'no' : tr.ttl[i]));
  };
  assert.deepEqual(await outcome(undefined), [60, 'no', 'no', 60, 'no', 5, 3600]);
  assert.deepEqual(await outcome('Set-Cookie'), [60, 60, 'no', 60, 'no', 5, 3600]);
  assert.deepEqual(await outcome('vary,SET-COOKIE'), [60, 60, 60, 60, 'no', 5, 3600]);
  assert.deepEqual(await outcome('Cache-Control'), [777, 'no', 'no', 777, 777, 5, 3600]);
  assert.deepEqual(await outcome('X-Accel-Expires Expires'), [60, 'no', 'no', 60, 'no', 60, 777]);
  assert.deepEqual(await outcome('Cache-Control Expires X-Accel-Expires X-Accel-Redirect'), [777, 'no', 'no', 777, 777, 777, 777]);
  assert.throws(() => logReadOptions({ 'ignore-headers': 'Set-Cookie, Age' }), { code: 'COLDRL_ERR_USAGE', message: /proxy_ignore_headers takes .* \(got age\)/ });
});

test('HIT lines keep the size and RTT of the last MISS; BYPASS, HEAD and other statuses', async (t) => {
  const hit = (ts: number, body: number) => JSON.stringify({ ts, key: '/o', method: 'GET', status: 200, cache: 'HIT', body_bytes: body, up_len: '', up_rt: '' });
  const tr = await read(t, [
    hit(1, 500), // never seen a MISS: its own body size, no RTT
    line(2, '/o', 'max-age=60'), // MISS: size 10, RTT 1 ms
    hit(3, 0), // a HIT: size 10, RTT 1 from the MISS
    JSON.stringify({ ts: 4, key: '/o', method: 'HEAD', status: 200, cache: 'HIT', body_bytes: 0, up_len: '', up_rt: '' }),
    line(5, '/o', 'max-age=60', '', { cache: 'BYPASS' }),
    line(6, '/p', '', '', { status: 404 }),
    line(7, '/p', 'max-age=60', '', { status: 301 }),
    line(8, '/p', 'max-age=60', '', { method: 'PURGE' }),
  ], 'nginx');
  assert.deepEqual(col(tr.size, 8), [500, 10, 10, 10, 10, 10, 10, 10]);
  assert.deepEqual(col(tr.rtt, 8), [0, 1, 1, 1, 1, 1, 1, 1]);
  // BYPASS and PURGE never reached the cache lookup (FLAG_NO_LOOKUP: no proxy_cache_min_uses use); the 404 did
  const [U, N] = [FLAG_UNCACHEABLE, FLAG_UNCACHEABLE | FLAG_NO_LOOKUP];
  assert.deepEqual(col(tr.flags, 8), [0, 0, 0, 0, N, U, 0, N]);
});

test('nginx/cachetrain.conf holds the formats the readers have built in', () => {
  const conf = join(ROOT, 'nginx/cachetrain.conf');
  assert.deepEqual(logFormatFromConf(conf, 'cachetrain'), { format: CACHETRAIN_JSON, escape: 'json' });
  assert.deepEqual(logFormatFromConf(conf, 'cachetrain_text'), { format: CACHETRAIN_TEXT, escape: 'default' });
});

test('KeyIndex: one id per key across arena pages, found from bytes or from text; keys read back; a key past 1 MiB is a bad line', async (t) => {
  const index = new KeyIndex(1 << 20);
  const keyOf = (i: number) => `https://cdn.example.org/assets/${i.toString(36)}/é-${i}.bin`;
  const n = 40_000; // about 2.4 MB of keys: three 1 MiB pages
  let unique = 0;
  for (let i = 0; i < n; i++) {
    const b = Buffer.from(`{"key":"${keyOf(i)}"}`);
    assert.equal(index.internBytes(b, 8, b.length - 2, keyHash(b, 8, b.length - 2, true), i + 1), i);
    unique += i + 1;
  }
  for (let i = n - 1; i >= 0; i -= 997) {
    assert.equal(index.intern(keyOf(i), 5), i, 'the text of a known key finds its id');
    assert.equal(index.key(i), keyOf(i));
  }
  assert.equal(index.count, n);
  assert.equal(index.uniqueBytes, unique, 'sizes counted once, when each key is new');
  assert.equal(index.intern('x'.repeat(MAX_KEY_BYTES + 1), 1), -1);
  assert.equal(keyHash(Buffer.from('a\\"b'), 0, 4, true), -1, 'escaped bytes are not indexed as they are');
  const f = join(tempDir(t), 'access.log');
  writeFileSync(f, [
    `{"ts":1700000000.000,"key":"/${'k'.repeat(MAX_KEY_BYTES)}","method":"GET","status":200,"body_bytes":1}`,
    '{"ts":1700000000.001,"key":"/a","method":"GET","status":200,"body_bytes":1}',
  ].join('\n'));
  const src = openSource(f, 'nginx-json');
  assert.deepEqual(keysOf(await loadTrace(src)), ['/a']);
  assert.deepEqual(src.stats.skipped, { [`cache key longer than ${MAX_KEY_BYTES} bytes`]: 1 });
});
