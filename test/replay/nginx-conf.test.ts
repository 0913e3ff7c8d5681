/**
 * Reading an nginx config (replay/nginx-conf.ts): includes followed as nginx resolves them, a
 * proxy_cache_path's sizes and inactive= by keys_zone, with nginx's defaults; the caching rules of the
 * places that use a zone, inherited as nginx merges them; the nodes a keys zone holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHETRAIN_JSON, CACHETRAIN_TEXT, COMBINED, loggedKey, logFormatFromConf } from '../../replay/formats/nginx-format.js';
import { nginxConfOptions, type ConfValues } from '../../replay/formats/index.js';
import { cacheZoneFromConf, cacheZoneOptions, cacheZoneRules, keysZoneNodes, readConf } from '../../replay/nginx-conf.js';
import { ROOT, tempDir } from '../helpers.js';

test('proxy_cache_path by keys_zone, through include masks relative to the main config', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'nginx.conf'), `http {
    include conf.d/*.conf;   # relative to this file's directory, in name order
    include ${join(dir, 'none.d')}/*.conf;  # a mask that matches nothing is fine
}
`);
  writeFileSync(join(dir, 'conf.d', 'b-api.conf'), 'proxy_cache_path /var/cache/api keys_zone=api:10m;\n');
  writeFileSync(join(dir, 'conf.d', 'a-web.conf'), `proxy_cache_path /var/cache/web levels=1:2 keys_zone=web:64m
    max_size=1g inactive=30m use_temp_path=off;
log_format mine '$msec $request_uri';
`);
  writeFileSync(join(dir, 'conf.d', 'skipped.txt'), 'proxy_cache_path /x keys_zone=hidden:1m;\n');
  const conf = join(dir, 'nginx.conf');
  assert.deepEqual(cacheZoneFromConf(conf, 'web'), { zone: 'web', keysZone: 64 * 1024 ** 2, maxSize: 1024 ** 3, inactive: 1800 });
  // no max_size: unbounded; no inactive=: nginx's 10 minutes
  assert.deepEqual(cacheZoneFromConf(conf, 'api'), { zone: 'api', keysZone: 10 * 1024 ** 2, maxSize: null, inactive: 600 });
  assert.throws(() => cacheZoneFromConf(conf, 'hidden'), { code: 'COLDRL_ERR_BAD_FORMAT', message: /no proxy_cache_path with keys_zone=hidden \(found: web, api\)/ });
  assert.deepEqual(logFormatFromConf(conf, 'mine'), { format: '$msec $request_uri', escape: 'default' });
  // an include of a file that is not there fails, as in nginx
  writeFileSync(join(dir, 'broken.conf'), 'include missing.conf;\n');
  assert.throws(() => readConf(join(dir, 'broken.conf')), { code: 'COLDRL_ERR_FILE_NOT_FOUND', message: /missing\.conf: cannot read nginx config/ });
  // an include loop ends
  writeFileSync(join(dir, 'loop.conf'), 'include loop.conf;\n');
  assert.throws(() => readConf(join(dir, 'loop.conf')), { code: 'COLDRL_ERR_BAD_FORMAT', message: /nested deeper than/ });
});

test('the rules of the places that use a zone: each level\'s own directives, else its parent\'s; one set, or the option that settles it', (t) => {
  const dir = tempDir(t);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(join(dir, 'site.conf'), `server {
    server_name www.example.org;
    proxy_cache web;                          # inherited by every location below
    location / { proxy_pass http://origin; }
    location /api/ {
      proxy_cache_valid 200 1m;               # its own list replaces http's
      proxy_cache_key "\${host}$uri$is_args$args";
      location /api/slow/ { proxy_cache_min_uses 3; }
    }
    location /static/ { proxy_cache off; }
    location /ignoring/ { proxy_ignore_headers Set-Cookie; proxy_ignore_headers Vary; }
  }
`);
  writeFileSync(conf, `events { }
http {
  proxy_cache_path /var/cache/web keys_zone=web:1m max_size=10m;
  proxy_cache_valid 200 302 10m;
  proxy_cache_valid 404 1m;                   # two lines at one level add up
  proxy_ignore_headers X-Accel-Expires;
  map $http_x $y { default "}"; }             # a quoted brace is no block end
  include site.conf;
  server { listen 8080; proxy_cache web; }    # a server without locations serves its requests itself
}
`);
  const rules = cacheZoneRules(conf, 'web');
  const at = (place: string) => rules.find((r) => r.place === place);
  assert.deepEqual(rules.map((r) => r.place).sort(), ['server 8080', 'server www.example.org location /', 'server www.example.org location /api/',
    'server www.example.org location /api/ location /api/slow/', 'server www.example.org location /ignoring/'], 'not /static/: proxy_cache off');
  assert.deepEqual(at('server www.example.org location /'),
    { place: 'server www.example.org location /', cacheKey: '$scheme$proxy_host$request_uri', cacheValid: '200 302 10m; 404 1m', minUses: null, ignoreHeaders: 'x-accel-expires' });
  assert.deepEqual(at('server www.example.org location /api/ location /api/slow/'),
    { place: 'server www.example.org location /api/ location /api/slow/', cacheKey: '$host$uri$is_args$args', cacheValid: '200 1m', minUses: '3', ignoreHeaders: 'x-accel-expires' });
  assert.equal(at('server www.example.org location /ignoring/')!.ignoreHeaders, 'set-cookie vary');
  assert.equal(at('server 8080')!.cacheValid, '200 302 10m; 404 1m');
  // the places differ: a usage error that names them, unless the option settles it
  assert.throws(() => cacheZoneOptions(conf, 'web', 'replay', {}),
    { code: 'COLDRL_ERR_USAGE', message: /differ in proxy_cache_valid: "200 302 10m; 404 1m" \(server www\.example\.org location \/, .*\); "200 1m" \(server www\.example\.org location \/api\/, .*: give --cache-valid/ });
  assert.throws(() => cacheZoneOptions(conf, 'web', 'replay', { cacheValid: '200 5m' }), { message: /differ in proxy_cache_min_uses: none \(.*\); "3" \(server www\.example\.org location \/api\/ location \/api\/slow\/\); the simulator applies one: give --min-uses/ });
  const settled = cacheZoneOptions(conf, 'web', 'train', { cacheValid: '200 5m', minUses: '2', ignoreHeaders: 'vary' });
  assert.deepEqual([settled.cacheValid, settled.minUses, settled.ignoreHeaders, settled.cacheSize], [undefined, undefined, undefined, String(10 * 1024 ** 2)]);
  assert.match(settled.line, /proxy_cache_valid from --cache-valid, proxy_cache_min_uses from --min-uses, proxy_ignore_headers from --ignore-headers$/);
  // one place: its rules, said in the line
  writeFileSync(conf, `http {
  proxy_cache_path /var/cache/web keys_zone=web:1m max_size=10m;
  server { listen 80; location / { proxy_cache web; proxy_cache_valid 404 1m; proxy_cache_min_uses 2; } location /x { } }
}
`);
  const one = cacheZoneOptions(conf, 'web', 'replay', {});
  assert.deepEqual([one.cacheValid, one.minUses, one.ignoreHeaders], ['404 1m', '2', undefined]);
  assert.match(one.line, /inactive 600 s; where proxy_cache web is used \(server 80 location \/\): proxy_cache_valid 404 1m, proxy_cache_min_uses 2, proxy_ignore_headers none$/);
  // no place uses it: the zone alone
  writeFileSync(conf, 'http { proxy_cache_path /var/cache/web keys_zone=web:1m max_size=10m; server { location / { proxy_cache other; } } }\n');
  const none = cacheZoneOptions(conf, 'web', 'replay', {});
  assert.deepEqual([none.cacheValid, none.minUses, none.ignoreHeaders], [undefined, undefined, undefined]);
  assert.match(none.line, /no location has proxy_cache web: no proxy_cache_valid, proxy_cache_min_uses or proxy_ignore_headers read$/);
  // braces that do not balance: a format error, as nginx refuses the config
  writeFileSync(conf, 'http { proxy_cache_path /c keys_zone=web:1m max_size=1m; server { location / { proxy_cache web; }\n');
  assert.throws(() => cacheZoneRules(conf, 'web'), { code: 'COLDRL_ERR_BAD_FORMAT', message: /unexpected end of file, expecting "}"/ });
});

test('the logged cache key against proxy_cache_key: a note where the places that use the zone key otherwise', (t) => {
  assert.equal(loggedKey(CACHETRAIN_JSON), '$scheme$proxy_host$request_uri');
  assert.equal(loggedKey('$msec "${scheme}$HOST$request_uri" $status'), '$scheme$host$request_uri');
  assert.equal(loggedKey(CACHETRAIN_TEXT), null, '$request alone: the reader keys by its URI');
  assert.equal(loggedKey(COMBINED), null);
  const dir = tempDir(t);
  const conf = join(dir, 'nginx.conf');
  const write = (key: string) => writeFileSync(conf, `http {
  include ${join(ROOT, 'nginx', 'cachetrain.conf')};
  access_log /var/log/nginx/access.log cachetrain;
  proxy_cache_path /var/cache/web keys_zone=web:1m max_size=10m;
  server { server_name a; location / { proxy_cache web; ${key} } location /b { proxy_cache web; } }
}
`);
  const line = () => {
    const v: ConfValues = { 'nginx-conf': conf, 'cache-zone': 'web' };
    return nginxConfOptions('replay', join(dir, 'access.log'), v).zoneLine!;
  };
  write('');
  assert.doesNotMatch(line(), /note/, 'nginx\'s default key is what cachetrain logs');
  write('proxy_cache_key $host$request_uri;');
  assert.match(line(), /\nnote: the log's cache key is \$scheme\$proxy_host\$request_uri, but proxy_cache_key is \$host\$request_uri at server a location \/: /);
});

test('keysZoneNodes: the nodes nginx\'s slab allocator fits in a keys zone', () => {
  // 64k, 1m and 2m were checked against a real NGINX by its watermark line (64k: test/nginx/keys-zone.test.ts;
  // 1m and 2m by hand, 2026-11-29: 8,096 and 16,224 distinct requests, watermarks 7,084 and 14,196)
  assert.equal(keysZoneNodes(1024 ** 2), 8095, 'nginx\'s docs: "about 8 thousand keys" per megabyte');
  assert.equal(keysZoneNodes(2 * 1024 ** 2, 'coldrl_e2e'), 16_223);
  assert.equal(keysZoneNodes(64 * 1024, 'coldrl_e2e'), 447);
  assert.equal(keysZoneNodes(10 * 1024 ** 2), 81_375);
  // a zone name of 42 to 105 characters puts the log context among the nodes' 128-byte chunks
  assert.equal(keysZoneNodes(64 * 1024, 'z'.repeat(42)), 15 * 32 - 2);
  assert.equal(keysZoneNodes(64 * 1024, 'z'.repeat(41)), 14 * 32 - 1);
  assert.throws(() => keysZoneNodes(8 * 1024), { code: 'COLDRL_ERR_BAD_CACHE_SIZE', message: /holds no cache node/ });
});
