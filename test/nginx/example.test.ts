/**
 * nginx/nginx.conf.example is what operators copy: Debian's nginx with the built module must accept it
 * (`nginx -t`, its absolute paths moved into a temporary folder), and its coldrl_candidates line must name
 * the default source and every source replay/candidates.ts has (it named an old default once).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { buildNginxModule, freePorts } from '../../bench/nginx.js';
import { DEFAULT_SOURCE, SOURCES } from '../../replay/candidates.js';
import { ROOT, tempDir } from '../helpers.js';

const EXAMPLE = join(ROOT, 'nginx/nginx.conf.example');

test('nginx.conf.example: coldrl_candidates names the default source and lists every source', () => {
  const line = /^\s*coldrl_candidates\s+(\w+);\s*#\s*(.*)$/m.exec(readFileSync(EXAMPLE, 'utf8'));
  assert.ok(line, 'a coldrl_candidates line with a comment');
  assert.equal(line[1], DEFAULT_SOURCE);
  const listed = line[2]!.split('|').map((s) => s.trim());
  assert.equal(listed[0], `${DEFAULT_SOURCE} (default)`);
  assert.deepEqual([DEFAULT_SOURCE, ...listed.slice(1)].sort(), Object.keys(SOURCES).sort());
});

test('nginx.conf.example: nginx -t accepts it with the built module', { timeout: 120_000 }, async (t) => {
  const build = buildNginxModule();
  const dir = tempDir(t, 'coldrl-example-');
  const [port] = await freePorts(1);
  let conf = readFileSync(EXAMPLE, 'utf8');
  const moves: [string | RegExp, string][] = [
    ['/usr/lib/nginx/modules/ngx_http_coldrl_module.so', build.module],
    ['/etc/nginx/coldrl/cachetrain.conf', join(ROOT, 'nginx/cachetrain.conf')],
    [/\/var\/log\/nginx\//g, `${dir}/`],
    [/\/var\/cache\/nginx\//g, `${dir}/cache/`],
    ['/run/nginx.pid', join(dir, 'nginx.pid')],
    [/^user .*$/m, ''],
    ['listen 80;', `listen 127.0.0.1:${port};`],
    // the package's temporary folders (/var/lib/nginx) may be missing where only the binary is installed
    ['http {', `http {\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((m) => `    ${m}_temp_path ${dir}/${m};`).join('\n')}`],
  ];
  for (const [from, to] of moves) {
    const next = conf.replace(from, to);
    assert.notEqual(next, conf, `the example still has ${String(from)}`);
    conf = next;
  }
  mkdirSync(join(dir, 'cache')); // /var/cache/nginx is there on Debian; nginx makes the last folder only
  const path = join(dir, 'nginx.conf');
  writeFileSync(path, conf);
  const r = spawnSync(build.nginx, ['-t', '-p', dir, '-c', path, '-e', join(dir, 'error.log')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /test is successful/);
});
