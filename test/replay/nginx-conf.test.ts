/**
 * Reading an nginx config (replay/nginx-conf.ts): includes followed as nginx resolves them, and a
 * proxy_cache_path's size and inactive= by keys_zone, with nginx's defaults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFormatFromConf } from '../../replay/formats/nginx-format.js';
import { cacheZoneFromConf, readConf } from '../../replay/nginx-conf.js';
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
  assert.deepEqual(cacheZoneFromConf(conf, 'web'), { zone: 'web', maxSize: 1024 ** 3, inactive: 1800 });
  // no max_size: unbounded; no inactive=: nginx's 10 minutes
  assert.deepEqual(cacheZoneFromConf(conf, 'api'), { zone: 'api', maxSize: null, inactive: 600 });
  assert.throws(() => cacheZoneFromConf(conf, 'hidden'), { code: 'COLDRL_ERR_BAD_FORMAT', message: /no proxy_cache_path with keys_zone=hidden \(found: web, api\)/ });
  assert.deepEqual(logFormatFromConf(conf, 'mine'), { format: '$msec $request_uri', escape: 'default' });
  // an include of a file that is not there fails, as in nginx
  writeFileSync(join(dir, 'broken.conf'), 'include missing.conf;\n');
  assert.throws(() => readConf(join(dir, 'broken.conf')), { code: 'COLDRL_ERR_FILE_NOT_FOUND', message: /missing\.conf: cannot read nginx config/ });
  // an include loop ends
  writeFileSync(join(dir, 'loop.conf'), 'include loop.conf;\n');
  assert.throws(() => readConf(join(dir, 'loop.conf')), { code: 'COLDRL_ERR_BAD_FORMAT', message: /nested deeper than/ });
});
