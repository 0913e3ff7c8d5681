/**
 * `coldrl bench sidecar`: round-trip latency and fallback rate of a sidecar, over the framed Unix socket and
 * over gRPC, at a fixed request rate (open loop, at most C requests outstanding).
 *
 * Starts `coldrl serve` in another process (or measures a running one with --socket / --grpc). Without
 * --model it writes a random-weight model of the trainer's architecture (trainer/network.ts, hidden 64,
 * default objective, seed 1) with trainer/onnx-export.ts. Requests carry K candidates with features drawn
 * uniformly in [0, 1] (256 distinct requests, cycled). The first 500 requests of each transport are warm-up and not counted.
 *
 * It asks as the NGINX module does (nginx/ngx_http_coldrl_module.c, ngx_http_coldrl_ask): each request
 * carries budget_us = coldrl_timeout * 3 / 4 (--timeout), and an answer later than --timeout is a timeout,
 * which the module decides by LRU. So two rates are reported: the share NGINX decides by LRU (the sidecar's
 * fallbacks that came in time, timeouts, error answers), and the sidecar's own DEADLINE share (its answers
 * by reason, late ones included, as its counters show them). Each request stands for one decision; the
 * module's runs are not modelled (any fallback hands the rest of a manager run to nginx), nor its breaker:
 * the bench counts the times 3 requests in a row timed out or got an error answer, where the module would
 * stop asking for at least 1 s, and keeps asking.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ColdrlError } from '../replay/errors.js';
import { ColdrlModel } from '../replay/model.js';
import { FEATURE_CAPS, FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPEC_VERSION } from '../replay/features.js';
import { Rng } from '../replay/rng.js';
import { SidecarClient, encodeDecideRequest, type DecideOutput } from '../sidecar/client.js';
import { CANDIDATE_SOURCE_IDS } from '../sidecar/codec.js';
import { loadProtos, serviceOf } from '../sidecar/grpc.js';
import { initWeights, scoringOf } from '../trainer/network.js';
import { writeOnnx } from '../trainer/onnx-export.js';
import { DEFAULT_HPARAMS } from '../trainer/hparams.js';

export const summary = 'sidecar round-trip latency and fallback rate, framed socket and gRPC';

export function help(): string {
  return `coldrl bench sidecar [--socket PATH] [--grpc ADDR] [--model FILE] [--k 16] [--requests N] [--rate R]
                     [--concurrency C] [--timeout 500us] [--deadline-us 500] [--transport both|framed|grpc]
                     [--client c|node] [--no-inline] [--busy-poll-ms N] [--no-model] [--json]

Starts a sidecar in another process (or uses a running one: --socket, with --grpc for its gRPC address)
and sends N requests per transport at R requests/s, asking as the NGINX module does. Prints p50/p95/p99/p99.9
round trip (client clock, microseconds; a late answer counts with its own round trip), server time, the
share of decisions NGINX would take by LRU ("nginx LRU": the sidecar's fallbacks that came in time, plus
timeouts and error answers), and beside it the sidecar's own answers by fallback reason (DEADLINE first).
--timeout T: the module's coldrl_timeout, 500us, 2ms, 1s or microseconds (default 500us, the module's
  default). Each request carries budget_us = T * 3 / 4 (375 at 500us), as the module sends, and an answer
  that takes longer than T is a timeout: the module gives up on it and evicts by LRU. "breaker" counts the
  times 3 requests in a row timed out or got an error answer: there the module stops asking for at least
  1 s (every decision LRU); the bench keeps asking, so with any such count NGINX's LRU share is higher.
--deadline-us: passed to coldrl serve, its budget for a request without budget_us (the bench's carry one).
--client c (default): the framed path is driven by bench/sidecar-client.c, compiled here with cc, which asks
  the way the NGINX module does (one request at a time, send, ppoll, gives up at T; a late answer is still
  read for its round trip and reason); without a C compiler it says so and uses the Node client.
  --client node: sidecar/client.ts, pipelined, at most C outstanding, never gives up (an answer later than
  T counts as a timeout); its own event loop adds to the round trip (see sidecar/README.md). gRPC always
  uses grpc-js, counted as --client node.
--no-inline, --busy-poll-ms N: passed to coldrl serve (see serve --help).
--no-model: start the sidecar without a model, so every answer is an immediate NO_MODEL fallback: the round
  trip of the transport, the decoder and the event loop alone (the floor under any model's figures).
Before the framed run it prints a control (sidecar/README.md): the same model in this process, one
inference per request interval for 5 s, and the share of those inferences slower than the budget (T * 3 / 4).
Without --model: a random-weight model of the trainer's architecture (hidden 64) and default objective
(the graph coldrl train exports), written to a temp dir.
--json: one JSON object per transport; the last line is the framed transport's object with the gRPC one
nested under "grpc".

Targets on the 2-core VM (issue 5), K=16, 1000 requests/s, framed: p50 <= 150 us, p99 <= 300 us,
fallbacks <= 1%.`;
}

interface Result {
  transport: string; client: string; requests: number; rate: number; k: number;
  /** The module's coldrl_timeout the client gives up at, and the budget_us the requests carry (3/4 of it). */
  timeoutUs: number; budgetUs: number;
  p50us: number; p95us: number; p99us: number; p999us: number; maxus: number; serverP50us: number; serverP99us: number;
  /** Share of decisions NGINX takes by LRU: sidecar fallbacks answered in time + timeouts + error answers. */
  fallbackRate: number;
  /** Share given up on at timeoutUs (late answers and none). */
  timeoutRate: number;
  /** Share the sidecar answered DEADLINE, in time or late (its own counter). */
  deadlineRate: number;
  /** The sidecar's answers by reason, late ones included ('none': model answers); 'error', 'unanswered'. */
  byReason: Record<string, number>; timeouts: number;
  /** Times 3 requests in a row timed out or got an error answer (the module's breaker would open). */
  breakerStreaks: number; modelVersion: string;
}

const REASONS = ['none', 'deadline', 'no_model', 'model_error', 'overload', 'bad_request'];
const WARMUP = 500;

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0;
}

/** Sends `total` requests at `rate`/s with at most `conc` outstanding; send(i) resolves with the answer. */
async function drive(total: number, rate: number, conc: number, send: (i: number) => Promise<DecideOutput>,
  rtt: Float64Array, out: DecideOutput[]): Promise<void> {
  const gap = 1000 / rate;
  let outstanding = 0;
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && outstanding < conc && t0 + next * gap <= now) {
        const i = next++;
        outstanding++;
        const a = performance.now();
        void send(i).then((o) => {
          rtt[i] = (performance.now() - a) * 1000;
          out[i] = o;
          outstanding--;
          if (++done === total) resolve();
        });
      }
      if (next < total) {
        const wait = t0 + next * gap - performance.now();
        if (wait >= 1.5) setTimeout(tick, Math.floor(wait - 0.5)); else setImmediate(tick);
      }
    };
    tick();
  });
}

/** Node and gRPC clients: they never give up, so an answer later than timeoutUs is counted as the module's timeout. */
function summarise(transport: string, client: string, rate: number, k: number, timeoutUs: number, budgetUs: number,
  rtt: Float64Array, out: DecideOutput[]): Result {
  const late = rtt.slice(WARMUP);
  const r = late.slice().sort();
  const answers = out.slice(WARMUP);
  const srv = Float64Array.from(answers.map((o) => o.serverUs)).sort();
  const byReason: Record<string, number> = {};
  for (const name of REASONS) byReason[name] = 0;
  let lru = 0, timeouts = 0, streak = 0, streaks = 0;
  answers.forEach((o, i) => {
    if (late[i]! > timeoutUs) timeouts++;
    if (late[i]! > timeoutUs || o.error || o.source !== 1) lru++;
    if (late[i]! <= timeoutUs && !o.error) streak = 0; else if (++streak === 3) streaks++;
    const key = o.error ? 'error' : (REASONS[o.reason] ?? String(o.reason));
    byReason[key] = (byReason[key] ?? 0) + 1;
  });
  const n = answers.length;
  return {
    transport, client, requests: n, rate, k, timeoutUs, budgetUs,
    p50us: quantile(r, 0.5), p95us: quantile(r, 0.95), p99us: quantile(r, 0.99), p999us: quantile(r, 0.999),
    maxus: r[r.length - 1] ?? 0, serverP50us: quantile(srv, 0.5), serverP99us: quantile(srv, 0.99),
    fallbackRate: n ? lru / n : 0, timeoutRate: n ? timeouts / n : 0, deadlineRate: n ? byReason.deadline! / n : 0, byReason, timeouts, breakerStreaks: streaks,
    modelVersion: answers.find((o) => o.modelVersion)?.modelVersion ?? '',
  };
}

function printResult(r: Result): void {
  const f = (x: number) => x.toFixed(0).padStart(6);
  const pc = (x: number) => `${(x * 100).toFixed(2)}%`;
  const others = Object.entries(r.byReason).filter(([k, v]) => k !== 'none' && k !== 'deadline' && v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`${r.transport.padEnd(7)} ${r.client.padEnd(5)} ${r.requests} req @ ${r.rate}/s K=${r.k} timeout ${r.timeoutUs} us (budget_us ${r.budgetUs}): `
    + `round trip us p50 ${f(r.p50us)} p95 ${f(r.p95us)} p99 ${f(r.p99us)} p99.9 ${f(r.p999us)} max ${f(r.maxus)}; server p50 ${f(r.serverP50us)} p99 ${f(r.serverP99us)}; `
    + `nginx LRU ${pc(r.fallbackRate)} (timeouts ${pc(r.timeoutRate)}, breaker ${r.breakerStreaks}); sidecar DEADLINE ${pc(r.deadlineRate)}${others ? ` (also ${others})` : ''}`);
}

/** The module's coldrl_timeout syntax (ngx_http_coldrl_timeout): "500us", "2ms", "1s" or microseconds; 1 us .. 60 s. */
function parseTimeoutUs(s: string): number {
  const m = /^(\d+)(us|ms|s)?$/.exec(s);
  const unit = m?.[2] === 'ms' ? 1000 : m?.[2] === 's' ? 1_000_000 : 1;
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 1 && n <= 60_000_000 / unit)) throw new ColdrlError('COLDRL_ERR_USAGE', `--timeout: 500us, 2ms, 1s or microseconds, at most 60 s; got "${s}"`);
  return n * unit;
}

const ALONE_SECONDS = 5;

interface Alone { runs: number; rate: number; p50us: number; p99us: number; overDeadline: number }

/** The candidate source a model was trained on (metadata coldrl.candidates), if it names a known one. */
function modelSource(m: ColdrlModel): string | undefined {
  const name = m.metadata['coldrl.candidates'];
  return name !== undefined && CANDIDATE_SOURCE_IDS[name] !== undefined ? name : undefined;
}

/**
 * The control: the same model in this process, one inference every 1/rate s for ALONE_SECONDS (the thread
 * spins between runs, so it never sleeps), nothing else in the loop. A paced run samples the machine's time
 * the way the requests do: on the 2-core VM inference slows down about ten-fold in bursts of ~20 ms, and
 * the share of runs slower than the sidecar's budget for a request here (`budgetUs`: the requests'
 * budget_us) is the DEADLINE rate that a sidecar with no transport and no scheduling cost would still have.
 * `overDeadline` keeps its name in the JSON.
 */
function modelAlone(m: ColdrlModel, k: number, rate: number, budgetUs: number): Alone {
  const rng = new Rng(8);
  const f = new Float32Array(k * FEATURE_COUNT);
  for (let i = 0; i < f.length; i++) f[i] = rng.uniform(0, 1);
  const out = new Float32Array(k);
  for (let i = 0; i < 200; i++) m.scoreSync(f, k, out);
  const runs = Math.max(100, Math.round(ALONE_SECONDS * rate));
  const times = new Float64Array(runs);
  const gap = 1000 / rate;
  const t0 = performance.now();
  let over = 0;
  for (let i = 0; i < runs; i++) {
    while (performance.now() < t0 + i * gap) { /* spin to the next send time */ }
    const t = performance.now();
    m.scoreSync(f, k, out);
    const us = (performance.now() - t) * 1000;
    times[i] = us;
    if (us > budgetUs) over++;
  }
  times.sort();
  return { runs, rate, p50us: quantile(times, 0.5), p99us: quantile(times, 0.99), overDeadline: over / runs };
}

/** Compiles bench/sidecar-client.c into dir; null (with a note) when there is no working C compiler. */
function compileClient(dir: string): string | null {
  const src = join(dirname(fileURLToPath(import.meta.url)), '../../bench/sidecar-client.c');
  const exe = join(dir, 'sidecar-client');
  const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-o', exe, src], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`bench sidecar: cannot compile ${src} (${r.error?.message ?? r.stderr.trim().split('\n')[0]}); using the Node client`);
    return null;
  }
  return exe;
}

/** Runs the C client (one request at a time, gives up at timeoutUs as the module does) and turns its JSON line into a Result. */
function runCClient(exe: string, socket: string, bodies: string, total: number, rate: number, k: number, timeoutUs: number, budgetUs: number): Result {
  const r = spawnSync(exe, [socket, bodies, String(total), String(rate), String(WARMUP), String(timeoutUs)], { encoding: 'utf8' });
  if (r.status !== 0) throw new ColdrlError('COLDRL_ERR_USAGE', `bench sidecar: the C client failed: ${r.stderr.trim()}`);
  const o = JSON.parse(r.stdout.trim()) as { requests: number; p50us: number; p95us: number; p99us: number; p999us: number; maxus: number;
    serverP50us: number; serverP99us: number; model: number; timeouts: number; unanswered: number; errors: number; streaks: number; byReason: number[]; modelVersion: string };
  const n = o.requests;
  const byReason: Record<string, number> = {};
  // as summarise(): every answer under its reason's name (late ones too), model answers under 'none'
  REASONS.forEach((name, i) => { byReason[name] = o.byReason[i]!; });
  if (o.errors) byReason.error = o.errors;
  if (o.unanswered) byReason.unanswered = o.unanswered;
  return {
    transport: 'framed', client: 'c', requests: n, rate, k, timeoutUs, budgetUs,
    p50us: o.p50us, p95us: o.p95us, p99us: o.p99us, p999us: o.p999us, maxus: o.maxus, serverP50us: o.serverP50us, serverP99us: o.serverP99us,
    fallbackRate: n ? (n - o.model) / n : 0, timeoutRate: n ? o.timeouts / n : 0, deadlineRate: n ? byReason.deadline! / n : 0,
    byReason, timeouts: o.timeouts, breakerStreaks: o.streaks, modelVersion: o.modelVersion,
  };
}

/** Starts `coldrl serve` and waits for its ready line. */
async function startSidecar(args: string[]): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '../trainer/cli.js');
  const child = spawn(process.execPath, [cli, 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('exit', (code) => reject(new ColdrlError('COLDRL_ERR_USAGE', `coldrl serve exited with ${code} before it was ready`)));
    lines.once('line', (l) => resolve(JSON.parse(l) as Record<string, unknown>));
  });
  return { child, ready };
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      socket: { type: 'string' }, grpc: { type: 'string' }, model: { type: 'string' }, k: { type: 'string', default: '16' },
      requests: { type: 'string', default: '10000' }, rate: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '8' },
      'deadline-us': { type: 'string', default: '500' }, timeout: { type: 'string', default: '500us' }, transport: { type: 'string', default: 'both' },
      'no-inline': { type: 'boolean', default: false }, 'no-model': { type: 'boolean', default: false }, 'busy-poll-ms': { type: 'string', default: '0' },
      client: { type: 'string', default: 'c' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(help()); return 0; }
  const k = Number(v.k), total = Number(v.requests) + WARMUP, rate = Number(v.rate), conc = Number(v.concurrency);
  if (!(k >= 1 && k <= 64) || !(total > WARMUP) || !(rate > 0) || !(conc >= 1)) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench sidecar: --k 1..64, --requests, --rate and --concurrency must be positive');
  const transports = v.transport === 'both' ? ['grpc', 'framed'] : [v.transport!];
  if (!transports.every((t) => t === 'grpc' || t === 'framed')) throw new ColdrlError('COLDRL_ERR_USAGE', '--transport: both, framed or grpc');
  if (v.client !== 'c' && v.client !== 'node') throw new ColdrlError('COLDRL_ERR_USAGE', '--client: c or node');
  if (!(Number(v['busy-poll-ms']) >= 0)) throw new ColdrlError('COLDRL_ERR_USAGE', '--busy-poll-ms: a number >= 0');
  // as the module: budget_us = coldrl_timeout * 3 / 4 (integer); the sidecar counts it from its read (0: its --deadline-us)
  const timeoutUs = parseTimeoutUs(v.timeout!);
  const budgetUs = Math.floor(timeoutUs * 3 / 4);
  const budgetAllowed = budgetUs > 0 ? Math.min(budgetUs, 1_000_000) : Number(v['deadline-us']); // sidecar/decide.ts

  const dir = mkdtempSync(join(tmpdir(), 'coldrl-bench-sidecar-'));
  let child: ChildProcess | null = null;
  try {
    let socket = v.socket;
    let grpcAddr = v.grpc;
    let modelFile: string | null = null;
    if (!socket) {
      let model = v.model;
      if (v['no-model']) {
        if (model) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench sidecar: --model and --no-model exclude each other');
      } else if (!model) {
        model = join(dir, 'random-h64.onnx');
        writeOnnx(model, initWeights(FEATURE_COUNT, 64, new Rng(1)), {
          'coldrl.feature_spec_version': String(FEATURE_SPEC_VERSION), 'coldrl.feature_count': String(FEATURE_COUNT),
          'coldrl.feature_names': FEATURE_NAMES.join(','), 'coldrl.feature_caps': FEATURE_CAPS.join(','), 'coldrl.k': String(k),
          'coldrl.hidden': '64', 'coldrl.trace': 'random weights (bench)', 'coldrl.seed': '1', 'coldrl.objective': DEFAULT_HPARAMS.objective,
          'coldrl.goal': DEFAULT_HPARAMS.goal, 'coldrl.candidates': DEFAULT_HPARAMS.candidates,
        }, scoringOf(DEFAULT_HPARAMS.objective, DEFAULT_HPARAMS.goal)); // the graph the trainer exports by default
      }
      modelFile = model ?? null;
      socket = join(dir, 'sidecar.sock');
      grpcAddr = `unix://${join(dir, 'grpc.sock')}`;
      const s = await startSidecar([...(model ? ['--model', model] : []), '--socket', socket, '--grpc', grpcAddr, '--deadline-us', v['deadline-us']!, '--db', 'none', '--quiet', '--no-watch',
        '--busy-poll-ms', v['busy-poll-ms']!, ...(v['no-inline'] ? ['--no-inline'] : [])]);
      child = s.child;
    }
    // the model, opened once here: its candidate source, and the control (modelAlone)
    let candidateSource: string | undefined;
    let alone: Alone | null = null;
    if (modelFile) {
      const m = await ColdrlModel.load(modelFile);
      try {
        candidateSource = modelSource(m);
        alone = modelAlone(m, k, rate, budgetAllowed);
      } finally { await m.close(); }
    }
    // the requests: features uniform in [0, 1], sizes 1 KiB .. 1 MiB, free 1.5 objects' worth; each names the
    // model's candidate source, as the NGINX module names its own (so the sidecar checks it, as in production)
    const rng = new Rng(7);
    const frames: Buffer[] = [];
    const objs: Record<string, unknown>[] = [];
    for (let j = 0; j < 256; j++) {
      const features = Array.from({ length: k * FEATURE_COUNT }, () => rng.uniform(0, 1));
      const sizes = Array.from({ length: k }, () => Math.floor(1024 * 2 ** rng.uniform(0, 10)));
      const need = Math.floor(sizes[0]! * 1.5);
      frames.push(encodeDecideRequest({ id: 0, n: k, features, sizes, bytesNeeded: need, budgetUs, candidateSource }).subarray(4));
      objs.push({ candidates: sizes.map((size, i) => ({ key_hash: String(i), size: String(size), features: features.slice(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT) })), bytes_needed: String(need), budget_us: budgetUs, feature_spec_version: FEATURE_SPEC_VERSION,
        ...(candidateSource ? { candidate_source: CANDIDATE_SOURCE_IDS[candidateSource] } : {}) });
    }
    if (alone) {
      if (v.json) console.log(JSON.stringify({ modelAlone: alone }));
      else console.log(`model alone (this process, ${alone.runs} inferences at ${rate}/s, K=${k}, spinning between): p50 ${alone.p50us.toFixed(0)} us, p99 ${alone.p99us.toFixed(0)} us, ${(alone.overDeadline * 100).toFixed(2)}% over the ${budgetAllowed} us budget`);
    }
    const results: Result[] = [];
    for (const t of transports) {
      const rtt = new Float64Array(total);
      const out: DecideOutput[] = new Array(total);
      const cClient = t === 'framed' && v.client === 'c' ? compileClient(dir) : null;
      if (cClient) {
        writeFileSync(join(dir, 'bodies.bin'), Buffer.concat(frames.map((b) => { const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); })));
        const r = runCClient(cClient, socket, join(dir, 'bodies.bin'), total, rate, k, timeoutUs, budgetUs);
        results.push(r);
        if (v.json) console.log(JSON.stringify(r)); else printResult(r);
        continue;
      }
      if (t === 'framed') {
        const c = await SidecarClient.connect(socket);
        // the request id goes first (field 1), then the pre-encoded body
        const send = (i: number) => {
          const id = i + 1;
          const body = frames[i % frames.length]!;
          const head = [0x08];
          for (let x = id; ; x = Math.floor(x / 128)) { if (x < 128) { head.push(x); break; } head.push((x & 0x7f) | 0x80); }
          const b = Buffer.allocUnsafe(4 + head.length + body.length);
          b.writeUInt32BE(head.length + body.length, 0);
          b.set(head, 4);
          b.set(body, 4 + head.length);
          return c.send(id, b);
        };
        await drive(total, rate, conc, send, rtt, out);
        c.close();
      } else {
        if (!grpcAddr) { console.error('bench sidecar: no --grpc address for a running sidecar; skipping gRPC'); continue; }
        const Eviction = serviceOf(loadProtos(), 'coldrl.v1.Eviction');
        const client = new Eviction(grpcAddr, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, (req: unknown, cb: (e: Error | null, r: Record<string, unknown>) => void) => void>;
        const send = (i: number) => new Promise<DecideOutput>((resolve) => {
          client.Decide!({ ...objs[i % objs.length]!, request_id: String(i + 1) }, (e, r) => {
            if (e) { resolve({ id: i + 1, victims: 0n, source: 0, reason: 0, modelVersion: '', serverUs: 0, error: e.message }); return; }
            resolve({ id: Number(r.request_id), victims: BigInt(r.victims as string), source: r.source === 'MODEL' ? 1 : 2, reason: REASONS.indexOf(String(r.reason).toLowerCase()) < 0 ? 0 : REASONS.indexOf(String(r.reason).toLowerCase()), modelVersion: String(r.model_version), serverUs: Number(r.server_us), error: '' });
          });
        });
        await drive(total, rate, conc, send, rtt, out);
        client.close();
      }
      const r = summarise(t, t === 'framed' ? 'node' : 'grpc-js', rate, k, timeoutUs, budgetUs, rtt, out);
      results.push(r);
      if (v.json) console.log(JSON.stringify(r)); else printResult(r);
    }
    const framed = results.find((r) => r.transport === 'framed');
    const grpcR = results.find((r) => r.transport === 'grpc');
    if (v.json && framed) console.log(JSON.stringify({ ...framed, grpc: grpcR ?? null, modelAlone: alone }));
    return 0;
  } finally {
    if (child) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
