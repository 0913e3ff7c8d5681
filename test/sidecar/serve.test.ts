/**
 * Against real `coldrl serve` processes: model decisions, fallbacks with their reasons, malformed frames,
 * reloads, gRPC, /metrics, SIGTERM, the per-minute store and `coldrl monitor`.
 * Budgets are generous (1 s) where the model's answer is the point: this VM is shared and noisy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { selectVictims } from '../../replay/candidates.js';
import { FEATURE_COUNT, FEATURE_SPEC_VERSION, MAX_CANDIDATES } from '../../replay/features.js';
import { HOLDOUT_KEY, type Holdout } from '../../replay/holdout.js';
import { ColdrlModel } from '../../replay/model.js';
import { Rng } from '../../replay/rng.js';
import { SidecarClient, encodeDecideRequest, frame, type DecideInput } from '../../sidecar/client.js';
import { loadProtos, serviceOf } from '../../sidecar/grpc.js';
import { initWeights } from '../../trainer/network.js';
import { writeOnnx } from '../../trainer/onnx-export.js';
import { CLI, runCli, tempDir } from '../helpers.js';

const MODEL = 1, FALLBACK = 2;
const R = { NONE: 0, DEADLINE: 1, NO_MODEL: 2, MODEL_ERROR: 3, OVERLOAD: 4, BAD_REQUEST: 5 };

function makeModel(path: string, seed: number, hidden = 32, extra: Record<string, string> = {}): void {
  writeOnnx(path, initWeights(FEATURE_COUNT, hidden, new Rng(seed)), {
    'coldrl.feature_spec_version': String(FEATURE_SPEC_VERSION), 'coldrl.feature_count': String(FEATURE_COUNT), 'coldrl.k': '16', ...extra,
  });
}

interface Sidecar { child: ChildProcess; ready: { socket: string; grpc: string | null; metrics: string | null; model: string | null; pid: number }; stderr: () => string; exited: Promise<number | null> }

async function serve(t: { after(fn: () => void): void }, args: string[]): Promise<Sidecar> {
  const child = spawn(process.execPath, [CLI, 'serve', '--no-watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c) => { err += String(c); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, ready: JSON.parse(line), stderr: () => err, exited };
}

let nextId = 1;
function req(rng: Rng, n: number, extra: Partial<DecideInput> = {}): DecideInput {
  const features = Array.from({ length: n * FEATURE_COUNT }, () => rng.uniform(0, 1));
  const sizes = Array.from({ length: n }, () => 1000 + Math.floor(rng.uniform(0, 9000)));
  return { id: nextId++, n, features, sizes, bytesNeeded: 12000, budgetUs: 1_000_000, ...extra };
}

function lruMask(r: DecideInput): bigint {
  let m = 0n, freed = 0;
  for (let i = 0; i < r.n; i++) { m |= 1n << BigInt(i); freed += r.sizes[i]!; if (freed >= r.bytesNeeded) break; }
  return m;
}

async function modelMask(m: ColdrlModel, r: DecideInput): Promise<bigint> {
  const scores = new Float32Array(MAX_CANDIDATES);
  await m.score(Float32Array.from(r.features), r.n, scores);
  const v = new Uint8Array(MAX_CANDIDATES);
  selectVictims(scores, Float64Array.from(r.sizes), r.n, r.bytesNeeded, v, new Int32Array(MAX_CANDIDATES));
  let mask = 0n;
  for (let i = 0; i < r.n; i++) if (v[i]) mask |= 1n << BigInt(i);
  return mask;
}

type Rpc = (req: unknown, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void;
function rpc(client: grpc.Client, name: string, arg: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => ((client as unknown as Record<string, Rpc>)[name]!).call(client, arg, (e, r) => (e ? reject(e) : resolve(r))));
}

test('sidecar: model decisions, fallbacks, malformed frames, reload, gRPC, metrics, SIGTERM, monitor', async (t) => {
  const dir = tempDir(t);
  const modelA = join(dir, 'a.onnx'), modelB = join(dir, 'b.onnx'), live = join(dir, 'model.onnx'), db = join(dir, 'c.db');
  makeModel(modelA, 1);
  makeModel(modelB, 2);
  copyFileSync(modelA, live);
  const socket = join(dir, 's.sock');
  const sc = await serve(t, ['--model', live, '--socket', socket, '--grpc', `unix://${join(dir, 'g.sock')}`, '--metrics', '127.0.0.1:0', '--db', db, '--socket-mode', '0660', '--busy-poll-ms', '2']);
  const a = await ColdrlModel.load(modelA);
  const b = await ColdrlModel.load(modelB);
  t.after(() => { void a.close(); void b.close(); });
  assert.equal(sc.ready.model, a.version);
  assert.equal(statSync(socket).mode & 0o777, 0o660);
  const rng = new Rng(3);
  const c = await SidecarClient.connect(socket);
  t.after(() => c.close());

  await t.test('decisions equal the model\'s own choice (score + selectVictims), pipelined', async () => {
    const reqs = Array.from({ length: 40 }, (_, i) => req(rng, 1 + (i % MAX_CANDIDATES)));
    const answers = await Promise.all(reqs.map((r) => c.decide(r)));
    let model = 0;
    for (let i = 0; i < reqs.length; i++) {
      const o = answers[i]!;
      assert.equal(o.id, reqs[i]!.id);
      if (o.source === FALLBACK) { assert.equal(o.victims, lruMask(reqs[i]!)); continue; }
      model++;
      assert.equal(o.modelVersion, a.version);
      assert.equal(o.victims, await modelMask(a, reqs[i]!), `request ${i}`);
    }
    assert.ok(model >= 30, `${model} of 40 answered by the model`);
  });

  await t.test('a missed budget gets the LRU fallback with reason DEADLINE', async () => {
    const r = req(rng, 16, { budgetUs: 1 });
    const o = await c.decide(r);
    assert.deepEqual([o.source, o.reason, o.victims], [FALLBACK, R.DEADLINE, lruMask(r)]);
  });

  await t.test('wrong requests get BAD_REQUEST and the connection stays open', async () => {
    for (const r of [req(rng, 65), req(rng, 3, { features: [NaN, ...Array(3 * FEATURE_COUNT - 1).fill(0.1)] }), req(rng, 2, { specVersion: 99 })]) {
      const o = await c.decide(r);
      assert.deepEqual([o.source, o.reason, o.error], [FALLBACK, R.BAD_REQUEST, '']);
      assert.equal(o.victims, lruMask({ ...r, n: Math.min(r.n, MAX_CANDIDATES) }));
    }
    assert.equal((await c.decide(req(rng, 4))).error, '');
  });

  await t.test('malformed frames: error reply and closed connection; others keep being served', async () => {
    const bodies: [string, Buffer][] = [
      ['oversized', Buffer.from([0x00, 0x01, 0x11, 0x70])],
      ['zero length', Buffer.from([0, 0, 0, 0])],
      ['garbage', Buffer.from([0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      ['truncated candidate', (() => { const f = Buffer.from(Buffer.from([0, 0, 0, 5, 0x08, 0x2a, 0x12, 0x40, 0x09])); return f; })()],
    ];
    for (const [name, bytes] of bodies) {
      const bad = await SidecarClient.connect(socket);
      bad.writeRaw(bytes);
      await bad.whenClosed();
      assert.equal(bad.unmatched.length, 1, name);
      assert.notEqual(bad.unmatched[0]!.error, '', name);
      if (name === 'truncated candidate') assert.equal(bad.unmatched[0]!.id, 42, 'the request id is recovered');
    }
    // a peer that sends half a frame and vanishes
    await new Promise<void>((resolve) => { const s = connect(socket, () => { s.write(Buffer.from([0, 0, 1, 0, 1, 2])); s.destroy(); resolve(); }); });
    const o = await c.decide(req(rng, 8));
    assert.equal(o.error, '');
    assert.equal(sc.child.exitCode, null);
  });

  const Eviction = serviceOf(loadProtos(), 'coldrl.v1.Eviction');
  const Health = serviceOf(loadProtos(), 'grpc.health.v1.Health');
  const g = new Eviction(sc.ready.grpc!, grpc.credentials.createInsecure());
  const h = new Health(sc.ready.grpc!, grpc.credentials.createInsecure());
  t.after(() => { g.close(); h.close(); });

  await t.test('gRPC Decide answers like the framed path; Health serves', async () => {
    const r = req(rng, 16);
    const o = await rpc(g, 'Decide', {
      request_id: String(r.id), bytes_needed: String(r.bytesNeeded), budget_us: 1_000_000, feature_spec_version: FEATURE_SPEC_VERSION,
      candidates: Array.from({ length: r.n }, (_, i) => ({ key_hash: String(i), size: String(r.sizes[i]), features: Array.from(r.features).slice(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT) })),
    });
    assert.equal(o.request_id, String(r.id));
    assert.equal(o.model_version, a.version);
    if (o.source === 'MODEL') assert.equal(BigInt(o.victims as string), await modelMask(a, r));
    else assert.equal(o.reason, 'DEADLINE');
    assert.equal((await rpc(h, 'Check', { service: '' })).status, 'SERVING');
    assert.equal((await rpc(h, 'Check', { service: 'coldrl.v1.Eviction' })).status, 'SERVING');
  });

  await t.test('reloading a corrupt model keeps the old one; a good one replaces it (RPC and SIGHUP)', async () => {
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, Buffer.from('this is not an onnx file'));
    const bad = await rpc(g, 'Reload', { path: corrupt });
    assert.equal(bad.ok, false);
    assert.equal(bad.model_version, a.version);
    assert.match(String(bad.error), /corrupt\.onnx/);
    const r1 = req(rng, 16);
    const o1 = await c.decide(r1);
    assert.equal(o1.modelVersion, a.version);
    const good = await rpc(g, 'Reload', { path: modelB });
    assert.deepEqual([good.ok, good.model_version], [true, b.version]);
    const r2 = req(rng, 16);
    const o2 = await c.decide(r2);
    assert.equal(o2.modelVersion, b.version);
    if (o2.source === MODEL) assert.equal(o2.victims, await modelMask(b, r2));
    // SIGHUP reloads the serving model's path: b's since the RPC named it, not the start path
    sc.child.kill('SIGHUP');
    for (let i = 0; i < 100 && (await rpc(g, 'Stats', {})).reloads !== '2'; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal((await c.decide(req(rng, 4))).modelVersion, b.version);
    // back to the start file (still model A's bytes) by naming it
    const back = await rpc(g, 'Reload', { path: live });
    assert.deepEqual([back.ok, back.model_version], [true, a.version]);
    assert.equal((await c.decide(req(rng, 4))).modelVersion, a.version);
    const stats = await rpc(g, 'Stats', {});
    assert.equal(stats.reloads, '3');
    assert.equal(stats.failed_reloads, '1');
    assert.equal(stats.model_version, a.version);
    assert.ok(Number(stats.decisions) >= 50);
    assert.ok(Number((stats.fallbacks_by_reason as Record<string, string>).BAD_REQUEST) >= 3);
  });

  await t.test('/metrics has the counters, the histogram and the model version', async () => {
    const text = await (await fetch(sc.ready.metrics!)).text();
    assert.match(text, /coldrl_sidecar_decisions_total\{source="model",reason="none"\} [1-9]/);
    assert.match(text, /coldrl_sidecar_decisions_total\{source="fallback",reason="bad_request"\} [3-9]/);
    assert.match(text, /coldrl_sidecar_decision_latency_microseconds_bucket\{le="500"\} [1-9]/);
    assert.match(text, new RegExp(`coldrl_sidecar_model_info\\{version="${a.version}"\\} 1`));
    assert.match(text, /coldrl_sidecar_reloads_total 3/);
    assert.match(text, /coldrl_sidecar_reload_failures_total 1/);
    // requests sent one at a time with a 1 s budget run on the socket thread (deadline.ts, inline runs)
    assert.match(text, /coldrl_sidecar_inline_runs_total [1-9]/);
  });

  await t.test('a keep-alive probe (request_id bit 62) is answered and counted apart from decisions', async () => {
    const before = await rpc(g, 'Stats', {});
    const probeId = (1n << 62n) + 7n;
    const head: number[] = [0x08];
    for (let x = probeId; ; x >>= 7n) { if (x < 128n) { head.push(Number(x)); break; } head.push(Number(x & 0x7fn) | 0x80); }
    const body = encodeDecideRequest({ ...req(rng, 1), id: 0 }).subarray(4);
    const p = await SidecarClient.connect(socket);
    p.writeRaw(frame(Uint8Array.from([...head, ...body])));
    for (let i = 0; i < 200 && p.unmatched.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    p.close();
    assert.equal(p.unmatched.length, 1, 'the probe is answered');
    assert.equal(p.unmatched[0]!.error, '');
    const after = await rpc(g, 'Stats', {});
    assert.equal(after.decisions, before.decisions, 'a probe is not a decision');
    assert.match(await (await fetch(sc.ready.metrics!)).text(), /coldrl_sidecar_probes_total 1/);
  });

  await t.test('SIGTERM while serving: every request already sent is answered, exit 0, socket removed', async () => {
    const reqs = Array.from({ length: 300 }, () => req(rng, 16));
    const pending = reqs.map((r) => c.decide(r));
    await new Promise<void>((res) => c.socket.write(Buffer.alloc(0), () => res()));
    sc.child.kill('SIGTERM');
    const answers = await Promise.all(pending);
    for (let i = 0; i < answers.length; i++) {
      assert.equal(answers[i]!.error, '', `request ${i} lost`);
      assert.equal(answers[i]!.id, reqs[i]!.id);
    }
    assert.equal(await sc.exited, 0);
    assert.equal(existsSync(socket), false);
  });

  await t.test('the minutes are in the store and coldrl monitor charts them', () => {
    const ok = runCli(['monitor', '--db', db, '--threshold', '1']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /decisions/);
    const warn = runCli(['monitor', '--db', db, '--threshold', '0', '--json']);
    assert.equal(warn.code, 1);
    const last = JSON.parse(warn.stdout.trim().split('\n').at(-1)!);
    assert.ok(last.decisions >= 350 && last.fallbacks >= 4 && last.warning === true, warn.stdout);
  });
});

test('sidecar without a model answers NO_MODEL; overload answers OVERLOAD; sockets: stale removed, live refused', async (t) => {
  const dir = tempDir(t);
  const socket = join(dir, 's.sock');
  // a stale socket file: its server was killed without cleaning up
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.ok(existsSync(socket));
  const sc = await serve(t, ['--socket', socket, '--db', 'none', '--model', join(dir, 'missing.onnx'), '--max-inflight', '1']);
  assert.equal(sc.ready.model, null);
  assert.match(sc.stderr(), /NO_MODEL/);
  const rng = new Rng(9);
  const c = await SidecarClient.connect(socket);
  t.after(() => c.close());
  const r = req(rng, 10);
  const o = await c.decide(r);
  assert.deepEqual([o.source, o.reason, o.victims, o.modelVersion], [FALLBACK, R.NO_MODEL, lruMask(r), '']);
  // a second sidecar on the same, live socket refuses to start
  const second = runCli(['serve', '--socket', socket, '--db', 'none', '--quiet']);
  assert.equal(second.code, 2);
  assert.match(second.stderr, /another sidecar is serving/);
  sc.child.kill('SIGTERM');
  assert.equal(await sc.exited, 0);

  // overload: one slot in flight, a model that has work to do, 64 pipelined requests (on the worker path:
  // inline runs answer pipelined requests one after the other as they are read, which never overloads)
  const model = join(dir, 'm.onnx');
  makeModel(model, 5, 256);
  const s2 = await serve(t, ['--socket', socket, '--db', 'none', '--model', model, '--max-inflight', '1', '--no-inline']);
  const c2 = await SidecarClient.connect(socket);
  t.after(() => c2.close());
  const answers = await Promise.all(Array.from({ length: 64 }, () => c2.decide(req(rng, 64))));
  const reasons = answers.map((x) => x.reason);
  assert.ok(reasons.includes(R.OVERLOAD), `reasons ${reasons.join(',')}`);
  assert.ok(answers.every((x) => x.error === '' && x.victims !== 0n));
  s2.child.kill('SIGTERM');
  assert.equal(await s2.exited, 0);
});

test('sidecar with --no-inline: every inference on the model thread, same decisions; a held-out check and a candidate source mismatch are reported', async (t) => {
  const dir = tempDir(t);
  const model = join(dir, 'm.onnx'), db = join(dir, 'old.db');
  // a store written before source_mismatches existed: opening it adds the column, its old minute reads 0
  const old = new Database(db);
  old.exec(`CREATE TABLE sidecar_minutes (minute INTEGER NOT NULL, socket TEXT NOT NULL, decisions INTEGER NOT NULL, model INTEGER NOT NULL,
    deadline INTEGER NOT NULL, no_model INTEGER NOT NULL, model_error INTEGER NOT NULL, overload INTEGER NOT NULL, bad_request INTEGER NOT NULL,
    p50_us REAL NOT NULL, p99_us REAL NOT NULL, max_us REAL NOT NULL, model_version TEXT NOT NULL, PRIMARY KEY (minute, socket));
    INSERT INTO sidecar_minutes VALUES (${Math.floor(Date.now() / 60_000) - 2}, 'old.sock', 10, 10, 0, 0, 0, 0, 0, 50, 90, 100, 'v0');`);
  old.close();
  // a model whose held-out check (coldrl train --holdout) lost to LRU
  const holdout: Holdout = { fraction: 0.1, from: 900, requests: 100, hitRatio: { model: 0.31, lru: 0.33, gdsf: 0.35 }, byteHitRatio: { model: 0.21, lru: 0.23, gdsf: 0.25 },
    hitsOverLru: -2, evictions: 40 };
  makeModel(model, 4, 32, { [HOLDOUT_KEY]: JSON.stringify(holdout), 'coldrl.candidates': 'large' });
  const socket = join(dir, 's.sock');
  const sc = await serve(t, ['--socket', socket, '--db', db, '--model', model, '--metrics', '127.0.0.1:0', '--grpc', `unix://${join(dir, 'g.sock')}`, '--no-inline']);
  const m = await ColdrlModel.load(model);
  t.after(() => { void m.close(); });
  const c = await SidecarClient.connect(socket);
  t.after(() => c.close());
  const rng = new Rng(11);
  let byModel = 0;
  for (let i = 0; i < 12; i++) {
    // a third of the requests name another candidate source than the model's, a third its own, a third none
    const r = req(rng, 1 + ((i * 5) % MAX_CANDIDATES), i % 3 === 2 ? {} : { candidateSource: i % 3 === 0 ? 'sample' : 'large' });
    const o = await c.decide(r);
    if (o.source === FALLBACK) { assert.equal(o.victims, lruMask(r)); continue; }
    byModel++;
    assert.equal(o.victims, await modelMask(m, r), `request ${i}`);
  }
  assert.ok(byModel >= 9, `${byModel} of 12 answered by the model`);
  const text = await (await fetch(sc.ready.metrics!)).text();
  assert.match(text, /coldrl_sidecar_inline_runs_total 0/);
  assert.match(text, /coldrl_sidecar_candidate_source_mismatches_total 4\n/);
  assert.equal(sc.stderr().match(/requests carry candidates from source sample, model [0-9a-f]{12} was trained on large: set coldrl_candidates large/g)?.length, 1, 'logged once');
  assert.match(sc.stderr(), /trained on candidates large, K 16, for hits;/);
  assert.doesNotMatch(sc.stderr(), /inline runs on/);
  for (const [p, r] of [['model', 0.31], ['lru', 0.33], ['gdsf', 0.35]] as const) assert.match(text, new RegExp(`coldrl_sidecar_model_holdout_hit_ratio\\{policy="${p}"\\} ${r}\n`));
  for (const [p, r] of [['model', 0.21], ['lru', 0.23], ['gdsf', 0.25]] as const) assert.match(text, new RegExp(`coldrl_sidecar_model_holdout_byte_hit_ratio\\{policy="${p}"\\} ${r}\n`));
  assert.match(sc.stderr(), /warning: model [0-9a-f]{12}: held-out hit ratio 0\.3100 \(LRU 0\.3300, GDSF 0\.3500; -2 hits over LRU in the last 100 requests, 40 evictions\); byte hit ratio 0\.2100 \(LRU 0\.2300, GDSF 0\.2500\); it lost 2 hits to LRU there/);
  const g = new (serviceOf(loadProtos(), 'coldrl.v1.Eviction'))(sc.ready.grpc!, grpc.credentials.createInsecure());
  const stats = await rpc(g, 'Stats', {});
  g.close();
  assert.deepEqual([stats.decisions, stats.candidate_source_mismatches, stats.probes], ['12', '4', '0']);
  sc.child.kill('SIGTERM');
  assert.equal(await sc.exited, 0);
  // the minute written at shutdown carries the 4; coldrl monitor counts them and warns (exit 1) at any threshold
  const mon = runCli(['monitor', '--db', db, '--threshold', '1', '--json']);
  assert.equal(mon.code, 1, mon.stdout + mon.stderr);
  const lines = mon.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const minutes = lines.slice(0, -1).map((l) => l.sourceMismatches as number);
  // the old minute first; this run's 4 in one minute, or two if a minute boundary fell inside the test
  assert.deepEqual([minutes[0], minutes.slice(1).reduce((a, b) => a + b, 0)], [0, 4], String(minutes));
  assert.deepEqual([lines.at(-1)!.decisions, lines.at(-1)!.sourceMismatches, lines.at(-1)!.warning], [22, 4, true]);
  const text2 = runCli(['monitor', '--db', db, '--threshold', '1']);
  assert.match(text2.stdout, /WARNING: 4 of 22 requests came from another candidate source/);
  assert.doesNotMatch(text2.stdout, /fallback rate above/);
});

test('coldrl serve: a socket path in a directory that does not exist is a one-line error, exit 2', (t) => {
  const dir = tempDir(t);
  const r = runCli(['serve', '--socket', join(dir, 'missing', 'sidecar.sock'), '--db', 'none'], { timeout: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^coldrl: .*sidecar\.sock: the socket's directory .*missing does not exist \(create it for the sidecar's user, e\.g\. install -d .*\) \[COLDRL_ERR_FILE_NOT_FOUND\]$/m);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
});

test('coldrl serve --require-model: a model that does not load at start is fatal (exit 2, the cause)', (t) => {
  const dir = tempDir(t);
  const sock = join(dir, 's.sock');
  const missing = runCli(['serve', '--socket', sock, '--model', join(dir, 'nope.onnx'), '--require-model', '--db', 'none'], { timeout: 30_000 });
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^coldrl: --require-model: .*nope\.onnx: no such model file \[COLDRL_ERR_FILE_NOT_FOUND\]$/m);
  assert.ok(!existsSync(sock), 'no socket left behind');
  writeFileSync(join(dir, 'bad.onnx'), 'not a model');
  const bad = runCli(['serve', '--socket', sock, '--model', join(dir, 'bad.onnx'), '--require-model', '--db', 'none'], { timeout: 30_000 });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^coldrl: --require-model: /m);
  const none = runCli(['serve', '--socket', sock, '--require-model', '--db', 'none'], { timeout: 30_000 });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--require-model needs --model FILE/);
});
