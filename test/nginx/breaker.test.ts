/**
 * The module against a sidecar that fails, with Debian's nginx and the built module:
 *  - a peer that accepts and closes at once, or answers with an error frame and closes: reconnects back
 *    off (100 ms doubling to 5 s) instead of reconnecting on every keepalive tick;
 *  - a frozen sidecar (SIGSTOP): after three decisions in a row time out, the breaker opens and decisions
 *    skip the sidecar (handed to nginx at once, `fallbacks.breaker`) for a period; once the sidecar answers
 *    again, the first decision after the period gets the model's answer and closes the breaker.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { buildNginxModule, freePorts, httpGet, NginxInstance, Sidecar, writeSizeModel, type ColdrlStatus } from '../../bench/nginx.js';
import { tempDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A framed DecideResponse with only `error` (field 7) set: the sidecar's word for a request it refused. */
function errorFrame(): Buffer {
  const msg = Buffer.from('bad request');
  const body = Buffer.concat([Buffer.from([0x3a, msg.length]), msg]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

test('nginx: a peer that closes at once, or answers an error and closes, is reconnected with backoff', { timeout: 60_000 }, async (t) => {
  const build = buildNginxModule();
  const dir = tempDir(t, 'coldrl-breaker-peer-');
  for (const mode of ['close', 'error'] as const) {
    const sub = join(dir, mode);
    mkdirSync(join(sub, 'www'), { recursive: true });
    const socket = join(sub, 'peer.sock');
    let accepted = 0;
    const peer = createServer((c: Socket) => {
      accepted++;
      c.on('error', () => { /* the module may close first */ });
      if (mode === 'close') c.destroy();
      else c.end(errorFrame());
    });
    await new Promise<void>((r) => peer.listen(socket, r));
    t.after(() => { if (peer.listening) peer.close(); });
    const [originPort, proxyPort] = await freePorts(2);
    const ngx = await NginxInstance.start({
      dir: sub, build, originPort: originPort!, proxyPort: proxyPort!, maxSize: '1m',
      coldrl: { socket, timeout: '100ms', keepalive: '100ms', interval: '50ms' },
    });
    t.after(() => ngx.stop());
    await sleep(3000);
    const s = await ngx.status();
    await ngx.stop();
    peer.close();
    // without backoff: a reconnect on every keepalive tick, about 30 in 3 s; with it: 100, 200, 400, 800,
    // 1600 ms apart, about 5
    assert.ok(accepted >= 2, `${mode}: it reconnects (${accepted})`);
    assert.ok(accepted <= 8, `${mode}: ${accepted} connections in 3 s`);
    assert.equal(s.sidecar.connects, accepted, `${mode}: the module counted them`);
    assert.match(ngx.errorLog(), /coldrl: sidecar connection closed after \d+ ms: .*, reconnecting with backoff/);
  }
});

test('nginx: a frozen sidecar opens the breaker after three timeouts; decisions skip it until it answers again', { timeout: 120_000 }, async (t) => {
  const build = buildNginxModule();
  const dir = tempDir(t, 'coldrl-breaker-frozen-');
  const model = join(dir, 'size.onnx');
  writeSizeModel(model);
  const socket = join(dir, 'sidecar.sock');
  const sidecar = await Sidecar.start(model, socket);
  t.after(() => sidecar.stop());
  mkdirSync(join(dir, 'www'), { recursive: true });
  const N = 40;
  for (let i = 0; i < N; i++) writeFileSync(join(dir, 'www', `b${i}`), Buffer.alloc(60_000, 98)); // 15 blocks of 4 KiB
  const [originPort, proxyPort] = await freePorts(2);
  const ngx = await NginxInstance.start({
    dir, build, originPort: originPort!, proxyPort: proxyPort!, maxSize: '160k',
    coldrl: { socket, timeout: '100ms', interval: '50ms' },
  });
  t.after(() => ngx.stop());
  let next = 0;
  /** One more object over max_size (two fit); resolves with the status once the module made a decision about it. */
  const overflow = async (): Promise<ColdrlStatus> => {
    const before = (await ngx.status()).decisions;
    assert.ok(next < N, 'objects left');
    const r = await httpGet(proxyPort!, `/b${next++}`);
    assert.deepEqual([r.status, r.cache], [200, 'MISS']);
    const until = Date.now() + 10_000;
    for (;;) {
      const s = await ngx.status();
      if (s.decisions > before) { await sleep(100); return ngx.status(); }
      if (Date.now() > until) assert.fail(`no decision within 10 s: ${JSON.stringify(s)}`);
      await sleep(20);
    }
  };
  for (let i = 0; i < 2; i++) assert.equal((await httpGet(proxyPort!, `/b${next++}`)).cache, 'MISS');

  sidecar.pause();
  let s: ColdrlStatus;
  try {
    for (let i = 0; i < 6; i++) s = await overflow();
  } finally {
    sidecar.resume();
  }
  s = s!;
  // the first three time out, then the breaker is open for 1 s (a probe after it that times out opens it
  // again, for 2 s)
  assert.equal(s.model_decisions, 0);
  assert.ok(s.fallbacks.timeout >= 3 && s.fallbacks.timeout <= 2 + s.sidecar.breaker_opens, JSON.stringify(s));
  assert.ok(s.fallbacks.breaker >= 1, `decisions skipped the sidecar: ${JSON.stringify(s)}`);
  assert.equal(s.fallbacks.timeout + s.fallbacks.breaker, s.decisions);
  assert.equal(s.handed_to_nginx, s.decisions, 'each one handed to nginx');
  assert.equal(s.sidecar.breaker_open, 1);
  assert.match(ngx.errorLog(), /coldrl: 3 decisions in a row timed out or got a bad reply, the sidecar is skipped for 1000 ms/);
  assert.ok(ngx.cachedFiles().size <= 2, 'nginx kept the cache within max_size');

  // the sidecar answers again: after the period the next decision asks, gets the model's answer, closes it
  while (s.model_decisions === 0) s = await overflow();
  assert.equal(s.sidecar.breaker_open, 0);
  assert.equal(s.evictions.model, 1);
});
