/**
 * Directives `nginx -t` must refuse with the built module: `coldrl_interval` below 10ms (0 once made the
 * cache manager wake every millisecond).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { buildNginxModule, freePorts, proxyConfig } from '../../bench/nginx.js';
import { tempDir } from '../helpers.js';

test('nginx -t: coldrl_interval below 10ms is refused', { timeout: 60_000 }, async (t) => {
  const build = buildNginxModule();
  const dir = tempDir(t, 'coldrl-config-');
  for (const sub of ['www', 'tmp', 'cache']) mkdirSync(join(dir, sub), { recursive: true });
  const [originPort, proxyPort] = await freePorts(2);
  const check = (interval: string) => {
    const conf = join(dir, `nginx-${interval}.conf`);
    writeFileSync(conf, proxyConfig({
      dir, build, originPort: originPort!, proxyPort: proxyPort!, maxSize: '1m', coldrl: { socket: join(dir, 'absent.sock'), interval },
    }));
    return spawnSync(build.nginx, ['-t', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { encoding: 'utf8', timeout: 30_000 });
  };
  for (const bad of ['0', '0ms', '9ms']) {
    const r = check(bad);
    assert.notEqual(r.status, 0, `coldrl_interval ${bad} accepted`);
    assert.match(r.stderr, /"coldrl_interval" directive must be at least 10ms/, r.stderr);
  }
  for (const good of ['10ms', '200ms', '2s']) {
    const r = check(good);
    assert.equal(r.status, 0, `coldrl_interval ${good}: ${r.stderr}`);
  }
});
