/**
 * The sidecar against clients and operators that do not play along: a client that never reads its answers
 * (backpressure, and SIGTERM with answers unread), signals while starting, a reload during a job (the answer's
 * version label), Health.Watch after a reload the file watcher made, stable error codes on the wire and in
 * reloads, and the protocol-error and bad-request counters. No assertion on speed: waits are for events,
 * bounded by generous limits (this VM is shared and noisy).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { FEATURE_COUNT, FEATURE_SPEC_VERSION, LOG_SIZE_CAP, MAX_CANDIDATES, SIZE_FEATURE } from '../../replay/features.js';
import { Rng } from '../../replay/rng.js';
import { SidecarClient, decodeDecideResponse, encodeDecideRequest, type DecideInput } from '../../sidecar/client.js';
import { CANDIDATE_SOURCE_IDS, decodeDecideRequest, ProtocolError, type DecideSlot } from '../../sidecar/codec.js';
import { Decider } from '../../sidecar/decide.js';
import { FrameReader } from '../../sidecar/framing.js';
import { loadProtos, serviceOf } from '../../sidecar/grpc.js';
import { DecisionStats } from '../../sidecar/metrics.js';
import { C, ModelWorker } from '../../sidecar/model-worker.js';
import { ModelManager } from '../../sidecar/reload.js';
import { FramedConnection, listenFramed } from '../../sidecar/server.js';
import { initWeights, scoringOf } from '../../trainer/network.js';
import { writeOnnx } from '../../trainer/onnx-export.js';
import { CLI, tempDir } from '../helpers.js';

const MODEL = 1, FALLBACK = 2;
const R = { NONE: 0, DEADLINE: 1, NO_MODEL: 2, MODEL_ERROR: 3, BAD_REQUEST: 5 };

function makeModel(path: string, seed: number): void {
  writeOnnx(path, initWeights(FEATURE_COUNT, 32, new Rng(seed)), {
    'coldrl.feature_spec_version': String(FEATURE_SPEC_VERSION), 'coldrl.feature_count': String(FEATURE_COUNT), 'coldrl.k': '16',
  });
}

interface Proc { child: ChildProcess; out: () => string; err: () => string; exited: Promise<{ code: number | null; signal: string | null }> }

/** Starts `coldrl serve` without waiting for its ready line. */
function spawnServe(t: { after(fn: () => void): void }, args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, 'serve', '--db', 'none', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.on('data', (c) => { out += String(c); });
  child.stderr!.on('data', (c) => { err += String(c); });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return { child, out: () => out, err: () => err, exited };
}

interface Ready { socket: string; grpc: string | null; metrics: string | null; model: string | null }

async function serve(t: { after(fn: () => void): void }, args: string[]): Promise<Proc & { ready: Ready }> {
  const p = spawnServe(t, args);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: p.child.stdout! }).once('line', resolve);
    void p.exited.then((e) => reject(new Error(`serve exited ${JSON.stringify(e)}: ${p.err()}`)));
  });
  return { ...p, ready: JSON.parse(line) as Ready };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** p's value, or `late` when p has not settled after `ms`. */
async function within<T>(p: Promise<T>, ms: number, late: string): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<string>((resolve) => { timer = setTimeout(() => resolve(late), ms); })]);
  clearTimeout(timer);
  return r;
}

/** Polls until fn() is true; false after `ms`. */
async function until(fn: () => boolean | Promise<boolean>, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (await fn()) return true;
  return false;
}

/** The value of one sample of the /metrics text (0 when absent). */
async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

let nextId = 1;
function req(n: number, extra: Partial<DecideInput> = {}): DecideInput {
  const features = Array.from({ length: n * FEATURE_COUNT }, (_, i) => ((i * 7) % 11) / 11);
  const sizes = Array.from({ length: n }, (_, i) => 1000 + i);
  return { id: nextId++, n, features, sizes, bytesNeeded: 1500, budgetUs: 1_000_000, ...extra };
}

/** A client that sends `count` one-candidate requests at once and reads nothing until told to. */
async function floodWithoutReading(path: string, count: number): Promise<{ s: Socket; ids: Set<number> }> {
  const s = connect(path);
  s.on('error', () => undefined);
  await new Promise((r) => s.once('connect', r));
  s.pause();
  const ids = new Set<number>();
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) { const r = req(1); ids.add(r.id); frames.push(encodeDecideRequest(r)); }
  s.write(Buffer.concat(frames)); // no wait for 'drain': the sidecar may stop reading, which is the point
  return { s, ids };
}

test('backpressure: a client that never reads stops being read; every request read is answered once it reads', async (t) => {
  const dir = tempDir(t);
  const sc = await serve(t, ['--socket', join(dir, 's.sock'), '--metrics', '127.0.0.1:0', '--quiet', '--no-watch']);
  const url = sc.ready.metrics!;
  const N = 60_000; // ~6.6 MB of requests, ~1.6 MB of answers: far above the kernel's socket buffers
  const { s, ids } = await floodWithoutReading(sc.ready.socket, N);
  t.after(() => s.destroy());
  const decided = () => metric(url, 'coldrl_sidecar_decisions_total{source="fallback",reason="no_model"}');
  // the sidecar answers until the unsent answers pass the cap, then stops reading this connection: it stays
  // paused and decides nothing more (checked 200 ms apart), or, without backpressure, it decides all N
  let last = -1, before = -1;
  assert.ok(await until(async () => {
    const d = await decided();
    const settled = d === last && (await metric(url, 'coldrl_sidecar_paused_connections')) === 1;
    last = d;
    if (settled || d === N) { before = d; return true; }
    await sleep(180);
    return false;
  }), 'neither paused nor done');
  assert.ok(before < N / 2, `the sidecar read ${before} of ${N} requests from a client that reads no answer`);
  assert.ok((await metric(url, 'coldrl_sidecar_backpressure_pauses_total')) >= 1);
  // reading again resumes the connection: every request gets its answer, once
  const got = new Set<number>();
  const reader = new FrameReader({
    frame: (b, start, end) => { const o = decodeDecideResponse(b, start, end); assert.equal(o.reason, R.NO_MODEL); got.add(o.id); return true; },
    badLength: (n) => assert.fail(`bad length ${n}`),
  });
  s.on('data', (c: Buffer) => reader.push(c));
  s.resume();
  assert.ok(await until(() => got.size === N, 60_000), `${got.size} of ${N} answered`);
  assert.deepEqual([...got].sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
  assert.equal(await metric(url, 'coldrl_sidecar_paused_connections'), 0);
  sc.child.kill('SIGTERM');
  assert.deepEqual(await sc.exited, { code: 0, signal: null });
});

test('SIGTERM with a client that holds its answers unread: dropped after the grace, exit 0', async (t) => {
  const dir = tempDir(t);
  const sc = await serve(t, ['--socket', join(dir, 's.sock'), '--metrics', '127.0.0.1:0', '--no-watch']);
  const { s } = await floodWithoutReading(sc.ready.socket, 60_000);
  t.after(() => s.destroy());
  assert.ok(await until(async () => (await metric(sc.ready.metrics!, 'coldrl_sidecar_decisions_total{source="fallback",reason="no_model"}')) > 500));
  sc.child.kill('SIGTERM');
  // the client keeps its connection open and never reads: only the server's grace can end this
  const r = await within(sc.exited, 30_000, 'still running 30 s after SIGTERM');
  assert.deepEqual(r, { code: 0, signal: null });
  assert.match(sc.err(), /dropping 1 connection\(s\) that had not taken their answers/);
  assert.ok(!existsSync(join(dir, 's.sock')));
});

/**
 * The model file is a FIFO, so the sidecar's start waits on the test: the open of its write end returns
 * once the inference thread opened it to read, i.e. while `serve` is inside its first model load.
 */
async function feedFifo(fifo: string, bytes: Buffer): Promise<void> {
  const fh = await open(fifo, 'w');
  try { await fh.write(bytes); } catch { /* the reader died: the caller sees it */ } finally { await fh.close().catch(() => undefined); }
}

test('signals while starting: SIGTERM stops cleanly (exit 0), SIGHUP does not kill and reloads once serving', async (t) => {
  const dir = tempDir(t);
  makeModel(join(dir, 'm.onnx'), 1);
  const bytes = readFileSync(join(dir, 'm.onnx'));
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const fifo = join(dir, `${sig}.onnx`), sock = join(dir, `${sig}.sock`);
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // --no-inline: the socket thread never reads the file itself (it would block on the FIFO)
    const p = spawnServe(t, ['--socket', sock, '--model', fifo, '--no-inline', '--no-watch']);
    const writer = await open(fifo, 'w'); // returns once the first load is under way
    p.child.kill(sig);
    await sleep(100); // let the signal land while the load still waits for its bytes
    try { await writer.write(bytes); } catch { /* killed */ } finally { await writer.close().catch(() => undefined); }
    if (sig !== 'SIGHUP') {
      assert.deepEqual(await p.exited, { code: 0, signal: null }, `${sig}: ${p.err()}`);
      if (p.out() === '') assert.match(p.err(), /stopped while starting/); // else the signal came after the load
      assert.ok(!existsSync(sock));
      continue;
    }
    assert.ok(await until(() => p.out().includes('"ready":true') || p.child.exitCode !== null || p.child.signalCode !== null), 'ready');
    assert.equal(p.child.signalCode, null, `SIGHUP while starting killed it: ${p.err()}`);
    assert.match(p.err(), /SIGHUP while starting: the model is reloaded once serving/);
    await feedFifo(fifo, bytes); // the reload SIGHUP asked for
    assert.ok(await until(() => /replacing/.test(p.err())), p.err());
    p.child.kill('SIGTERM');
    assert.deepEqual(await p.exited, { code: 0, signal: null });
  }
});

/**
 * A stand-in for an inference worker, with scores = candidate index. Its every job is answered at once, or,
 * held, only when the test calls answer() (as a thread would: DONE stored, then notified).
 */
function fakeWorker(version: string, held = false): ModelWorker & { answer(): void } {
  const ctrl = new Int32Array(new SharedArrayBuffer(8 * 4));
  const answer = () => { Atomics.store(ctrl, C.DONE, w.submitted); Atomics.notify(ctrl, C.DONE); };
  const w = {
    path: '', ctrl, features: new Float32Array(MAX_CANDIDATES * FEATURE_COUNT), scores: new Float32Array(MAX_CANDIDATES),
    version, versionBytes: new TextEncoder().encode(version), k: 16, metadata: {}, inferUs: 10, candidateSource: 0,
    mismatchLogged: false, submitted: 0, alive: true, inline: null,
    get busy() { return Atomics.load(ctrl, C.DONE) !== w.submitted; },
    get done() { return Atomics.load(ctrl, C.DONE) === w.submitted; },
    get failed() { return false; },
    get runUs() { return 1; },
    submit(n: number) { for (let i = 0; i < n; i++) w.scores[i] = i; w.submitted++; if (!held) answer(); },
    answer,
    stop() { w.alive = false; return Promise.resolve(); },
  };
  return w as unknown as ModelWorker & { answer(): void };
}

interface Answer { id: number; source: number; reason: number; at: number }

/** A decider without inline runs, serving a held fake worker (answered when the test says), dropped at the end. */
function heldDecider(t: { after(fn: () => void): void }, version: string): { decider: Decider; w: ModelWorker & { answer(): void } } {
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 4, inline: false });
  const w = fakeWorker(version, true);
  decider.setModel(w);
  t.after(() => { decider.setModel(null); });
  return { decider, w };
}

/** Hands one request to the decider as a connection would (read now), its answer to `got`. */
function ask(decider: Decider, r: DecideInput, got: Answer[]): void {
  const slot = decider.acquire();
  const b = encodeDecideRequest(r);
  assert.ok(decodeDecideRequest(b, 4, b.length, slot));
  slot.owner = { open: true, deliver: (s: DecideSlot, _lo: number, _hi: number, source: number, reason: number) => got.push({ id: s.idLo, source, reason, at: performance.now() }) };
  slot.t0 = performance.now();
  decider.decide(slot);
}

test('an answer computed by the old model during a swap carries the old model\'s version', async (t) => {
  const dir = tempDir(t);
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 4, inline: false });
  const a = fakeWorker('aaaaaaaaaaaa'), b = fakeWorker('bbbbbbbbbbbb');
  decider.setModel(a);
  let swapped = false;
  const server = createServer((socket) => {
    new FramedConnection(socket, decider, () => undefined);
    // runs right after the connection read the first request and handed its job to model A, before A's
    // answer is collected: the reload's swap, in the same gap as in the sidecar
    socket.on('data', () => { if (!swapped) { swapped = true; decider.setModel(b); } });
  });
  await new Promise<void>((r) => server.listen(join(dir, 'v.sock'), r));
  t.after(() => { server.close(); decider.setModel(null); });
  const c = await SidecarClient.connect(join(dir, 'v.sock'));
  t.after(() => c.close());
  const first = await c.decide(req(8, { bytesNeeded: 1000 }));
  assert.deepEqual([first.source, swapped], [MODEL, true]);
  assert.equal(first.victims, 1n << 7n, 'the highest score goes: computed by a model');
  assert.equal(first.modelVersion, a.version, 'computed by A, labelled A');
  const second = await c.decide(req(8));
  assert.deepEqual([second.source, second.modelVersion], [MODEL, b.version]);
  const fallback = await c.decide(req(8, { specVersion: 99 }));
  assert.deepEqual([fallback.source, fallback.reason, fallback.modelVersion], [FALLBACK, R.BAD_REQUEST, b.version], 'a fallback carries the serving model');
});

test('gRPC Health.Watch follows a model the file watcher loaded', async (t) => {
  const dir = tempDir(t);
  const live = join(dir, 'model.onnx');
  const sc = await serve(t, ['--socket', join(dir, 's.sock'), '--model', live, '--grpc', `unix://${join(dir, 'g.sock')}`]); // watch on
  const Health = serviceOf(loadProtos(), 'grpc.health.v1.Health');
  const h = new Health(sc.ready.grpc!, grpc.credentials.createInsecure());
  const seen: string[] = [];
  const w = (h as unknown as { Watch(r: unknown): grpc.ClientReadableStream<{ status: string }> }).Watch({ service: 'coldrl.v1.Eviction' });
  w.on('data', (d: { status: string }) => seen.push(d.status));
  w.on('error', () => undefined);
  t.after(() => { w.cancel(); h.close(); });
  assert.ok(await until(() => seen.length > 0));
  assert.deepEqual(seen, ['NOT_SERVING']);
  makeModel(join(dir, 'tmp.onnx'), 1);
  renameSync(join(dir, 'tmp.onnx'), live);
  assert.ok(await until(() => seen.includes('SERVING')), `Watch saw ${JSON.stringify(seen)}; log: ${sc.err()}`);
  sc.child.kill('SIGTERM');
  assert.deepEqual(await sc.exited, { code: 0, signal: null });
});

test('error codes on the wire and in reloads; protocol errors and bad requests counted by kind', async (t) => {
  const dir = tempDir(t);
  makeModel(join(dir, 'm.onnx'), 1);
  const sc = await serve(t, ['--socket', join(dir, 's.sock'), '--model', join(dir, 'm.onnx'), '--grpc', `unix://${join(dir, 'g.sock')}`,
    '--metrics', '127.0.0.1:0', '--no-watch', '--quiet']);
  const exchange = async (bytes: Buffer): Promise<string> => {
    const bad = await SidecarClient.connect(sc.ready.socket);
    bad.writeRaw(bytes);
    await bad.whenClosed();
    return bad.unmatched[0]?.error ?? '';
  };
  assert.match(await exchange(Buffer.from([0, 0, 0, 0])), /^COLDRL_ERR_PROTOCOL: frame length 0 /);
  assert.match(await exchange(Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff])), /^COLDRL_ERR_PROTOCOL: .*not a DecideRequest/);
  // half a frame, then the peer goes
  await new Promise<void>((resolve) => { const s = connect(sc.ready.socket, () => { s.end(Buffer.from([0, 0, 1, 0, 1, 2]), () => resolve()); }); });
  // gRPC: a body that is not a DecideRequest
  const Eviction = serviceOf(loadProtos(), 'coldrl.v1.Eviction');
  const g = new Eviction(sc.ready.grpc!, grpc.credentials.createInsecure());
  t.after(() => g.close());
  const raw = (b: Buffer) => b;
  const e = await new Promise<grpc.ServiceError | null>((r) => g.makeUnaryRequest('/coldrl.v1.Eviction/Decide', raw, raw, Buffer.from([0xff, 0xff]), (err) => r(err)));
  assert.equal(e?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(e!.details, /^COLDRL_ERR_PROTOCOL: /);
  // a refused reload keeps the file's own code
  const reload = await new Promise<Record<string, unknown>>((res, rej) => (g as unknown as { Reload(r: unknown, cb: (e: Error | null, r: Record<string, unknown>) => void): void })
    .Reload({ path: join(dir, 'missing.onnx') }, (err, r) => (err ? rej(err) : res(r))));
  assert.equal(reload.ok, false);
  assert.match(String(reload.error), /^COLDRL_ERR_FILE_NOT_FOUND: .*missing\.onnx/);
  // wrong requests: BAD_REQUEST, counted by the check that failed; a feature far outside [0, 1] is not the model's fault
  const c = await SidecarClient.connect(sc.ready.socket);
  t.after(() => c.close());
  const huge = await c.decide(req(4, { features: Array(4 * FEATURE_COUNT).fill(3e38) }));
  assert.deepEqual([huge.source, huge.reason, huge.error], [FALLBACK, R.BAD_REQUEST, '']);
  assert.equal((await c.decide(req(4, { features: Array(4 * FEATURE_COUNT).fill(NaN) }))).reason, R.BAD_REQUEST);
  assert.equal((await c.decide(req(65))).reason, R.BAD_REQUEST);
  assert.equal((await c.decide(req(4))).error, '', 'the connection stays open');
  const url = sc.ready.metrics!;
  assert.ok(await until(async () => (await metric(url, 'coldrl_sidecar_protocol_errors_total{kind="truncated"}')) === 1), 'truncated');
  assert.equal(await metric(url, 'coldrl_sidecar_protocol_errors_total{kind="frame_length"}'), 1);
  assert.equal(await metric(url, 'coldrl_sidecar_protocol_errors_total{kind="malformed"}'), 2, 'framed + gRPC');
  assert.equal(await metric(url, 'coldrl_sidecar_bad_requests_total{check="feature_out_of_range"}'), 1);
  assert.equal(await metric(url, 'coldrl_sidecar_bad_requests_total{check="non_finite_feature"}'), 1);
  assert.equal(await metric(url, 'coldrl_sidecar_bad_requests_total{check="too_many_candidates"}'), 1);
  assert.equal(await metric(url, 'coldrl_sidecar_decisions_total{source="fallback",reason="model_error"}'), 0);
  sc.child.kill('SIGTERM');
  assert.deepEqual(await sc.exited, { code: 0, signal: null });
});

test('the model worker takes the size term from the file: per byte for goal hits; none for goal bytes, which ranks per object already', async (t) => {
  const dir = tempDir(t);
  const base = { 'coldrl.feature_spec_version': String(FEATURE_SPEC_VERSION), 'coldrl.feature_count': String(FEATURE_COUNT), 'coldrl.k': '16' };
  const cases = [[{ 'coldrl.objective': 'hit-logit' }, 'hits', LOG_SIZE_CAP], [{ 'coldrl.objective': 'hit-logit', 'coldrl.goal': 'bytes' }, 'bytes', 0],
    [{ 'coldrl.objective': 'q' }, 'hits', 0]] as const;
  for (const [i, [meta, goal, want]] of cases.entries()) {
    const path = join(dir, `m${i}.onnx`);
    writeOnnx(path, initWeights(FEATURE_COUNT, 8, new Rng(i + 1)), { ...base, ...meta }, scoringOf(meta['coldrl.objective'], goal));
    const w = await ModelWorker.start(path);
    t.after(() => w.stop());
    assert.equal(w.sizeTerm, want, JSON.stringify(meta));
  }
});

test('bytes_needed = 1 (only the keys zone\'s node count is over): a per-byte model ranks per object', async (t) => {
  const dir = tempDir(t);
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 4, inline: false });
  const w = fakeWorker('cccccccccccc');
  // scores = index + sizeTerm x size feature, as a hit-logit model's log(size / P(hit)): the size term
  // makes the last candidate (the largest) go first; without it candidate 0's per-object score is highest
  const n = 4;
  const sizeFeature = [0.5, 0.6, 0.3, 0.99];
  (w as unknown as { sizeTerm: number }).sizeTerm = 10;
  const submit = w.submit.bind(w);
  w.submit = (m: number) => { submit(m); for (let i = 0; i < m; i++) w.scores[i] = (n - 1 - i) * 0.5 + 10 * sizeFeature[i]!; };
  decider.setModel(w);
  const server = createServer((socket) => { new FramedConnection(socket, decider, () => undefined); });
  await new Promise<void>((r) => server.listen(join(dir, 'c.sock'), r));
  t.after(() => { server.close(); decider.setModel(null); });
  const c = await SidecarClient.connect(join(dir, 'c.sock'));
  t.after(() => c.close());
  const features = Array.from({ length: n * FEATURE_COUNT }, (_, i) => (i % FEATURE_COUNT === SIZE_FEATURE ? sizeFeature[Math.floor(i / FEATURE_COUNT)]! : 0.5));
  const bytes = await c.decide(req(n, { features, bytesNeeded: 1000 }));
  assert.equal(bytes.victims, 1n << 3n, 'bytes bound: the highest per-byte score (the largest candidate)');
  const count = await c.decide(req(n, { features, bytesNeeded: 1 }));
  assert.equal(count.victims, 1n << 0n, 'count bound: the highest score without the size term');
  // a model trained on blend: a count-bound request's uniform candidates (sample) are not a mismatch
  w.candidateSource = CANDIDATE_SOURCE_IDS.blend!;
  await c.decide(req(n, { features, bytesNeeded: 1, candidateSource: 'sample' }));
  assert.equal(decider.stats.sourceMismatches, 0);
  await c.decide(req(n, { features, bytesNeeded: 1000, candidateSource: 'sample' }));
  assert.equal(decider.stats.sourceMismatches, 1, 'sample candidates for a bytes-bound decision are');
});

test('a budget_us above 1 s is cut to 1 s: a job the worker never answers gets DEADLINE after 1 s, not after the budget', async (t) => {
  const { decider } = heldDecider(t, 'dddddddddddd');
  const got: Answer[] = [];
  const t0 = performance.now();
  // 5 s, not 2^32 - 1 us: before the cut this thread slept through the whole budget in Atomics.wait
  ask(decider, req(4, { budgetUs: 5_000_000 }), got);
  assert.ok(await until(() => got.length === 1, 10_000));
  const ms = got[0]!.at - t0;
  assert.equal(got[0]!.reason, R.DEADLINE);
  assert.ok(ms >= 990 && ms < 2500, `answered after ${ms.toFixed(0)} ms`);
});

test('a worker that dies mid-job is noticed at once (MODEL_ERROR), not at the deadline, and sockets are read meanwhile', async (t) => {
  const { decider, w } = heldDecider(t, 'eeeeeeeeeeee');
  const got: Answer[] = [];
  const t0 = performance.now();
  let timerAt = 0;
  // the exit of a worker thread reaches the socket thread as an event, like this timer
  setTimeout(() => { timerAt = performance.now(); w.alive = false; }, 100);
  ask(decider, req(4, { budgetUs: 900_000 }), got);
  assert.ok(await until(() => got.length === 1, 5_000));
  assert.equal(got[0]!.reason, R.MODEL_ERROR, `reason ${got[0]!.reason} after ${(got[0]!.at - t0).toFixed(0)} ms`);
  assert.ok(timerAt - t0 < 400, `the event loop turned only after ${(timerAt - t0).toFixed(0)} ms`);
});

test('a late answer of the worker is counted when it comes, not when the next request arrives', async (t) => {
  const { decider, w } = heldDecider(t, 'ffffffffffff');
  const got: Answer[] = [];
  ask(decider, req(4, { budgetUs: 20_000 }), got);
  assert.ok(await until(() => got.length === 1, 5_000));
  assert.equal(got[0]!.reason, R.DEADLINE);
  assert.equal(decider.stats.lateAnswers, 0, 'still running');
  await sleep(50);
  w.answer(); // the model's answer, 50 ms late; no request follows
  assert.ok(await until(() => decider.stats.lateAnswers === 1, 2_000), `late answers ${decider.stats.lateAnswers}`);
  assert.equal(w.busy, false);
  ask(decider, req(4, { budgetUs: 900_000 }), got);
  setTimeout(() => w.answer(), 20);
  assert.ok(await until(() => got.length === 2, 5_000));
  assert.deepEqual([got[1]!.source, decider.stats.lateAnswers], [MODEL, 1], 'the next job runs on the free worker and is not late');
});

/** Ends a model's inference thread from outside, as a crash would, and waits until it has exited. */
async function crash(w: ModelWorker): Promise<void> {
  await (w as unknown as { worker: Worker }).worker.terminate();
  assert.equal(w.alive, false);
}

test('an inference worker that exits is restarted; meanwhile the socket thread\'s copy answers what it can', async (t) => {
  const dir = tempDir(t);
  makeModel(join(dir, 'm.onnx'), 1);
  for (const inline of [true, false]) {
    const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 4, inline });
    const logs: string[] = [];
    const models = new ModelManager(decider, join(dir, 'm.onnx'), (l) => logs.push(l), 0);
    t.after(() => models.close());
    assert.ok((await models.start()).ok);
    const first = decider.model!;
    assert.equal(first.inline !== null, inline);
    await crash(first);
    const got: Answer[] = [];
    ask(decider, req(4, { budgetUs: 900_000 }), got);
    assert.ok(await until(() => got.length === 1, 5_000));
    assert.deepEqual([got[0]!.source, got[0]!.reason], inline ? [MODEL, R.NONE] : [FALLBACK, R.NO_MODEL], `inline ${inline}: ${logs.join('; ')}`);
    assert.ok(await until(() => decider.model !== null && decider.model !== first && decider.model.alive, 10_000), `inline ${inline}: not restarted: ${logs.join('; ')}`);
    assert.equal(decider.stats.workerRestarts, 1);
    assert.equal(decider.model!.version, first.version);
    ask(decider, req(4, { budgetUs: 900_000 }), got);
    assert.ok(await until(() => got.length === 2, 5_000));
    assert.deepEqual([got[1]!.source, got[1]!.reason], [MODEL, R.NONE]);
    // a second death soon after waits longer before its restart (the backoff grows)
    await crash(decider.model!);
    assert.ok(await until(() => decider.stats.workerRestarts === 2, 10_000));
    assert.match(logs.join('\n'), /restarting the inference worker of .* in 100 ms[^]*restarting the inference worker of .* in 200 ms/);
  }
});

test('a worker that dies while the socket thread loads its copy of the model is not installed as serving', async (t) => {
  const dir = tempDir(t);
  makeModel(join(dir, 'm.onnx'), 1);
  const start = ModelWorker.start;
  ModelWorker.start = async (...args: Parameters<typeof start>) => { const w = await start.apply(ModelWorker, args); await crash(w); return w; };
  t.after(() => { ModelWorker.start = start; });
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 4, inline: true });
  const models = new ModelManager(decider, join(dir, 'm.onnx'), () => undefined, 0);
  t.after(() => models.close());
  const r = await models.start();
  assert.equal(r.ok, false);
  assert.match(r.error, /^COLDRL_ERR_MODEL: .*inference worker exited/);
  assert.equal(decider.model, null);
});

/** A socket-thread model copy that takes `ms` per run (busy, like a native inference) and notes when each run began. */
function slowInline(ms: number): { runs: number[] } {
  const runs: number[] = [];
  return {
    runs, hasSync: true,
    scoreSync(_f: Float32Array, n: number, out: Float32Array) { const t = performance.now(); runs.push(t); while (performance.now() - t < ms) { /* busy */ } for (let i = 0; i < n; i++) out[i] = i; },
    close: () => Promise.resolve(),
  } as unknown as { runs: number[] };
}

/** The sidecar's framed server, in this process, over a decider whose model runs inline in `ms` per run. */
async function inlineServer(t: { after(fn: () => void): void }, ms: number): Promise<{ path: string; runs: number[]; decider: Decider }> {
  const dir = tempDir(t);
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 8, inline: true });
  const w = fakeWorker('gggggggggggg');
  const model = slowInline(ms);
  w.inline = model as unknown as ModelWorker['inline'];
  decider.setModel(w);
  const path = join(dir, 'f.sock');
  const conns = new Set<FramedConnection>();
  const server = await listenFramed(decider, { path, mode: 0o600, uid: -1, gid: -1 }, conns);
  t.after(() => { for (const c of conns) c.destroy(); server.close(); decider.setModel(null); });
  return { path, runs: model.runs, decider };
}

/** A raw client socket whose answers are collected with the time each arrived. */
async function answersOf(t: { after(fn: () => void): void }, path: string): Promise<{ s: Socket; got: (Answer & { serverUs: number })[] }> {
  const s = connect(path);
  t.after(() => s.destroy());
  await new Promise((r) => s.once('connect', r));
  const got: (Answer & { serverUs: number })[] = [];
  const reader = new FrameReader({
    frame: (b, start, end) => { const o = decodeDecideResponse(b, start, end); got.push({ id: o.id, source: o.source, reason: o.reason, serverUs: o.serverUs, at: performance.now() }); return true; },
    badLength: (n) => assert.fail(`bad length ${n}`),
  });
  s.on('data', (c: Buffer) => reader.push(c));
  return { s, got };
}

test('each answer leaves when it is decided, and a pipelining connection lets the others in between its frames', async (t) => {
  const { path, runs } = await inlineServer(t, 3);
  const a = await answersOf(t, path), b = await answersOf(t, path);
  const N = 20;
  const batch = Buffer.concat(Array.from({ length: N }, () => encodeDecideRequest(req(4, { budgetUs: 900_000 }))));
  const lone = req(4, { budgetUs: 900_000 });
  a.s.write(batch); // one chunk of N requests, 3 ms of inference each
  b.s.write(encodeDecideRequest(lone));
  assert.ok(await until(() => a.got.length === N && b.got.length === 1, 10_000), `${a.got.length} + ${b.got.length} answers`);
  assert.equal(runs.length, N + 1);
  assert.ok(a.got.every((o) => o.source === MODEL) && b.got[0]!.source === MODEL);
  // before: the chunk's answers were corked until the last of its N inferences, and B was read after them
  assert.ok(a.got[0]!.at < runs[N - 1]!, 'the first answer left only after the last inference of its chunk');
  assert.ok(b.got[0]!.at < runs[N - 1]!, 'the other connection waited for the whole chunk');
  // server_us runs from the read of the chunk: the last request of it waited for the N - 1 before it
  assert.ok(a.got[N - 1]!.serverUs >= (N - 1) * 3000, `server_us ${a.got[N - 1]!.serverUs}`);
});

test('a client that sends its requests and then half-closes gets every answer, then our end', async (t) => {
  const dir = tempDir(t);
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 32, inline: false });
  decider.setModel(fakeWorker('hhhhhhhhhhhh')); // the worker path: answers come after the chunk, one event-loop turn each
  const conns = new Set<FramedConnection>();
  const server = await listenFramed(decider, { path: join(dir, 'h.sock'), mode: 0o600, uid: -1, gid: -1 }, conns);
  t.after(() => { for (const c of conns) c.destroy(); server.close(); decider.setModel(null); });
  const N = 20;
  for (let round = 0; round < 2; round++) {
    const { s, got } = await answersOf(t, join(dir, 'h.sock'));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.end(Buffer.concat(Array.from({ length: N }, () => encodeDecideRequest(req(4, { budgetUs: 900_000 })))));
    assert.notEqual(await within(closed, 10_000, 'late'), 'late', `not closed; ${got.length} answers`);
    assert.equal(got.length, N);
    assert.ok(got.every((o) => o.source === MODEL));
  }
  assert.equal(decider.stats.byReason[R.NONE], 2 * N);
  assert.equal(decider.stats.backpressurePauses, 0);
  assert.ok(await until(() => conns.size === 0, 5_000), 'the server kept the connections');
});

test('limits of the framed socket: connections at most --max-connections, a frame whole within the timeout, a connection answered with error closed soon after', async (t) => {
  const dir = tempDir(t);
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 4, inline: false });
  const conns = new Set<FramedConnection>();
  const path = join(dir, 'l.sock');
  const server = await listenFramed(decider, { path, mode: 0o600, uid: -1, gid: -1, maxConnections: 2, frameTimeoutMs: 300 }, conns);
  t.after(() => { for (const c of conns) c.destroy(); server.close(); });
  const open = async () => {
    // half-open allowed on our side too: only the server can close these
    const s = connect({ path, allowHalfOpen: true });
    s.on('error', () => undefined);
    t.after(() => s.destroy());
    await new Promise((r) => s.once('connect', r));
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    return { s, got, ended: new Promise<void>((r) => s.once('end', () => r())) };
  };
  const errorOf = (got: Buffer[]) => decodeDecideResponse(Buffer.concat(got), 4).error;
  const a = await open(), b = await open();
  assert.ok(await until(() => conns.size === 2));
  const c = await open();
  assert.notEqual(await within(c.ended, 5_000, 'late'), 'late', 'a third connection was kept');
  assert.equal(decider.stats.protocolErrors[ProtocolError.CONNECTION_LIMIT], 1);
  // a frame that never completes: an error answer and the close, after the timeout
  const head = Buffer.alloc(14);
  head.writeUInt32BE(100, 0);
  a.s.write(head);
  assert.notEqual(await within(a.ended, 5_000, 'late'), 'late', 'a frame left half-sent kept its connection');
  assert.match(errorOf(a.got), /^COLDRL_ERR_PROTOCOL: frame not complete \d+ ms after its first byte/);
  assert.equal(decider.stats.protocolErrors[ProtocolError.FRAME_TIMEOUT], 1);
  // an error answer to a peer that never closes its side: closed on ours all the same (a, then b)
  assert.ok(await until(() => conns.size === 1, 5_000), 'the connection outlived its error answer');
  b.s.write(Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff]));
  await b.ended;
  assert.match(errorOf(b.got), /^COLDRL_ERR_PROTOCOL: .*not a DecideRequest/);
  assert.ok(await until(() => conns.size === 0, 5_000), 'the connection outlived its error answer');
});

test('after a reload from another path, SIGHUP and the file watcher follow that path, not the start one', async (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.onnx'), b = join(dir, 'b.onnx');
  makeModel(a, 1);
  makeModel(b, 2);
  const decider = new Decider(new DecisionStats(), { deadlineUs: 500, maxInflight: 4, inline: false });
  const models = new ModelManager(decider, a, () => undefined, 0);
  t.after(() => models.close());
  assert.ok((await models.start()).ok);
  models.watch();
  const vb = (await models.reload(b)).version;
  assert.equal(models.version, vb);
  // a new model at the start path: not the serving model's file any more, so no reload
  makeModel(join(dir, 'tmp.onnx'), 3);
  renameSync(join(dir, 'tmp.onnx'), a);
  await sleep(1000);
  assert.equal(models.version, vb, 'a change of the start file switched back to it');
  const hup = await models.reload(); // what SIGHUP does
  assert.deepEqual([hup.ok, hup.version], [true, vb]);
  // a new model at b's path is picked up
  makeModel(join(dir, 'tmp.onnx'), 4);
  renameSync(join(dir, 'tmp.onnx'), b);
  assert.ok(await until(() => models.version !== vb, 10_000), 'the watcher missed a change of the serving model\'s file');
  assert.equal(decider.model!.path, b);
});

test('a keep-alive probe that fails a check is answered BAD_REQUEST but counted as a probe only', async (t) => {
  const { decider } = heldDecider(t, 'iiiiiiiiiiii');
  const got: Answer[] = [];
  ask(decider, req(4, { id: 2 ** 62, specVersion: 99 }), got); // request_id bit 62: a probe
  ask(decider, req(4, { specVersion: 99 }), got);
  assert.deepEqual(got.map((o) => o.reason), [R.BAD_REQUEST, R.BAD_REQUEST]);
  assert.equal(decider.stats.probes, 1);
  assert.equal(decider.stats.badRequests.reduce((a, b) => a + b, 0), 1, 'the probe was counted as a bad request');
  assert.equal(decider.stats.decisions, 1);
});
