/**
 * Reading an nginx config (replay/nginx-conf.ts): includes followed as nginx resolves them, and a
 * proxy_cache_path's sizes and inactive= by keys_zone, with nginx's defaults; the nodes a keys zone holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFormatFromConf } from '../../replay/formats/nginx-format.js';
import { cacheZoneFromConf, keysZoneNodes, readConf } from '../../replay/nginx-conf.js';
import { tempDir } from '../helpers.js';

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
