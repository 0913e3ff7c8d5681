/**
 * `coldrl serve`: the eviction decision service (sidecar/README.md). Wires the pieces: model manager
 * (reload.ts) -> decider + deadline scheduler (decide.ts, deadline.ts) -> framed Unix socket (server.ts),
 * optional gRPC (grpc.ts), /metrics (metrics.ts) and per-minute SQLite aggregates (store.ts).
 * Prints one JSON line {"ready": true, ...} on stdout once it serves; logs go to stderr.
 */
import { existsSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ColdrlError } from '../../replay/errors.js';
import { DEFAULT_DB, storePath } from '../../replay/store.js';
import type { GrpcService } from '../grpc.js';
import type { FramedConnection } from '../server.js';
import type { MinuteRecorder } from '../store.js';

export const summary = 'serve eviction decisions to NGINX (framed Unix socket, gRPC, /metrics)';

/** At shutdown, connections whose answers are still unread this long after the half-close are destroyed. */
const SHUTDOWN_GRACE_MS = 2000;

export function help(): string {
  return `coldrl serve --socket PATH [--model FILE] [options]

Answers DecideRequests (proto/coldrl.proto) within a deadline: the model's choice when it is in time,
else LRU over the candidates with the reason (DEADLINE, NO_MODEL, MODEL_ERROR, OVERLOAD, BAD_REQUEST).
Starts without a model, or with a bad one, and answers NO_MODEL fallbacks until a reload succeeds.

  --model FILE          ONNX model (proto/README.md); reloaded on SIGHUP, on a change of the file, or Reload RPC
  --socket PATH         framed Unix socket for NGINX (required); a stale file is removed, a live one refused
  --socket-mode MODE    octal file mode of the socket (default 0666)
  --socket-owner U[:G]  chown the socket to this user/group (names or ids; needs the privilege to do so)
  --grpc ADDR           also serve gRPC: unix:///PATH or 127.0.0.1:PORT (port 0 = any)
  --metrics HOST:PORT   Prometheus text on http://HOST:PORT/metrics (port 0 = any)
  --deadline-us N       budget for requests that carry none, microseconds (default 500, at most 1000000;
                        a request's own budget_us is cut to 1000000 too)
  --max-inflight N      requests waiting for or in inference at most; more get OVERLOAD (default 32)
  --max-connections N   framed-socket connections at most; more are closed as they come (default 256;
                        NGINX needs one)
  --db FILE             SQLite store for per-minute aggregates (default ${DEFAULT_DB}; "none" = off)
  --require-model       a --model that does not load at start is fatal (exit 2, its error), instead of
                        serving NO_MODEL fallbacks until a reload succeeds: for a service manager that
                        should see a mistyped path or a bad file at once
  --no-watch            do not watch the model file for changes
  --no-inline           never run the model on the socket thread: every request goes to the inference
                        thread and is raced against its deadline, so no answer is ever later than its budget
                        (by default the model runs inline when its median run time fits 1.5x into the time
                        left, which is faster, and a late inline answer is replaced by the DEADLINE fallback)
  --busy-poll-ms N      keep the socket thread polling for N ms after each answer instead of sleeping: lower
                        latency, one CPU busy while requests keep coming (default 0 = off; see sidecar/README.md)
  --spin-us N           inference thread: spin this long for the next job before sleeping (default 0)
  --quiet               no log lines on stderr

SIGTERM / SIGINT: stop accepting, answer every request already read, close (connections that leave their
answers unread are dropped after ${SHUTDOWN_GRACE_MS / 1000} s), exit 0; during startup: stop, exit 0.
SIGHUP during startup: the model is reloaded once serving.`;
}

function hostPort(s: string, flag: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new ColdrlError('COLDRL_ERR_USAGE', `${flag}: expected HOST:PORT, got "${s}"`);
  return [m[1]!, Number(m[2])];
}

function positiveInt(s: string, flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `${flag}: expected an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}, got "${s}"`);
  }
  return n;
}

/** decide.ts MAX_BUDGET_US (decide.ts itself is imported after the signal handlers are installed, below). */
const MAX_BUDGET_US = 1_000_000;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, socket: { type: 'string' }, 'socket-mode': { type: 'string', default: '0666' },
      'socket-owner': { type: 'string' }, grpc: { type: 'string' }, metrics: { type: 'string' },
      'deadline-us': { type: 'string', default: '500' }, 'max-inflight': { type: 'string', default: '32' }, 'max-connections': { type: 'string' },
      db: { type: 'string', default: DEFAULT_DB }, 'no-watch': { type: 'boolean', default: false }, 'require-model': { type: 'boolean', default: false },
      'no-inline': { type: 'boolean', default: false }, 'busy-poll-ms': { type: 'string', default: '0' }, 'spin-us': { type: 'string', default: '0' }, quiet: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(help()); return 0; }
  if (!v.socket) throw new ColdrlError('COLDRL_ERR_USAGE', 'serve needs --socket PATH (coldrl serve --help)');
  if (!/^0?[0-7]{3}$/.test(v['socket-mode']!)) throw new ColdrlError('COLDRL_ERR_USAGE', `--socket-mode: expected octal like 0660, got "${v['socket-mode']}"`);
  const socketPath = resolve(v.socket);
  const mode = parseInt(v['socket-mode']!, 8);
  const deadlineUs = positiveInt(v['deadline-us']!, '--deadline-us', 1, MAX_BUDGET_US);
  const maxInflight = positiveInt(v['max-inflight']!, '--max-inflight');
  // default: server.ts MAX_CONNECTIONS
  const maxConnections = v['max-connections'] === undefined ? undefined : positiveInt(v['max-connections'], '--max-connections');
  const spinUs = positiveInt(v['spin-us']!, '--spin-us', 0);
  const busyMs = Number(v['busy-poll-ms']);
  if (!(busyMs >= 0 && busyMs <= 60_000)) throw new ColdrlError('COLDRL_ERR_USAGE', `--busy-poll-ms: expected 0..60000, got "${v['busy-poll-ms']}"`);
  const metricsAt = v.metrics ? hostPort(v.metrics, '--metrics') : null;
  const log = v.quiet ? () => undefined : (line: string) => process.stderr.write(`coldrl serve: ${line}\n`);

  // Signals are ours from here, before the sidecar's modules load (imported below, not at the top: with
  // prom-client and grpc-js they take ~0.3 s on the 2-core VM; only Node's own start, ~0.1 s, comes before,
  // and a signal then still kills). SIGTERM / SIGINT while starting: the step under way finishes, then the
  // sidecar stops (exit 0, socket removed). SIGHUP while starting: the model is reloaded once serving (the
  // first load may have read the file before it changed).
  let serving = false;
  let stopAsked = false;
  let hupWhileStarting = false;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((r) => { wake = r; });
  const onStop = () => { stopAsked = true; wake(); };
  const onHup = () => {
    if (stopAsked) return;
    if (serving) { void models.reload(); return; }
    if (!hupWhileStarting) log('SIGHUP while starting: the model is reloaded once serving');
    hupWhileStarting = true;
  };
  const unhook = () => { process.off('SIGTERM', onStop); process.off('SIGINT', onStop); process.off('SIGHUP', onHup); };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);

  const [{ BusyPoller }, { ProtocolError, Reason }, { Decider }, { buildRegistry, DecisionStats, serveMetrics }, { ModelManager },
    { listenFramed, resolveOwner }, { MinuteRecorder, openSidecarStore }] = await Promise.all([import('../busy-poll.js'),
    import('../codec.js'), import('../decide.js'), import('../metrics.js'), import('../reload.js'), import('../server.js'), import('../store.js')]);
  let owner = { uid: -1, gid: -1 };
  try { if (v['socket-owner']) owner = resolveOwner(v['socket-owner']); } catch (e) { unhook(); throw e; }
  const poller = busyMs > 0 ? new BusyPoller(busyMs) : null;
  const stats = new DecisionStats();
  const decider = new Decider(stats, { deadlineUs, maxInflight, inline: v['no-inline'] !== true, poller, log });
  const models = new ModelManager(decider, v.model ?? '', log, spinUs);
  if (v['require-model'] && !v.model) { unhook(); throw new ColdrlError('COLDRL_ERR_USAGE', '--require-model needs --model FILE'); }
  const started = stopAsked ? null : await models.start();
  if (started && !started.ok && v['require-model']) {
    await models.close();
    unhook();
    throw new ColdrlError(started.code || 'COLDRL_ERR_MODEL', `--require-model: ${started.error.replace(/^COLDRL_ERR_[A-Z_]+: /, '')}`);
  }
  if (stopAsked) {
    log('stopped while starting');
    await models.close();
    unhook();
    return 0;
  }

  const conns = new Set<FramedConnection>();
  let framed: Server;
  try {
    framed = await listenFramed(decider, { path: socketPath, mode, uid: owner.uid, gid: owner.gid, maxConnections }, conns);
  } catch (e) {
    await models.close();
    unhook();
    throw e;
  }
  const grpcService: GrpcService | null = v.grpc ? new (await import('../grpc.js')).GrpcService({ decider, models }) : null;
  let grpcPort = 0;
  let metricsServer: HttpServer | null = null;
  let recorder: MinuteRecorder | null = null;
  let store: ReturnType<typeof openSidecarStore> | null = null;
  try {
    if (grpcService) grpcPort = await grpcService.listen(v.grpc!);
    if (metricsAt) {
      const reg = buildRegistry({ stats, modelVersion: () => models.version, modelHoldout: () => models.holdout, inflight: () => decider.scheduler.pending, connections: () => conns.size });
      metricsServer = await serveMetrics(reg, metricsAt[0], metricsAt[1]);
    }
    const db = storePath(v.db!);
    if (db !== null) {
      store = openSidecarStore(db);
      recorder = new MinuteRecorder(store, stats, socketPath, () => models.version, log);
      recorder.start();
    }
  } catch (e) {
    framed.close();
    await grpcService?.close(0);
    await models.close();
    unhook();
    throw e instanceof ColdrlError ? e : new ColdrlError('COLDRL_ERR_USAGE', `cannot start: ${(e as Error).message}`);
  }
  if (stopAsked) log('stopped while starting');
  else {
    if (!v['no-watch']) models.watch();
    serving = true;
    if (hupWhileStarting) void models.reload();
    const addr = metricsServer?.address();
    const metricsUrl = addr && typeof addr === 'object' ? `http://${addr.address}:${addr.port}/metrics` : null;
    const grpcAddr = v.grpc ? (v.grpc.startsWith('unix:') ? v.grpc : v.grpc.replace(/:\d+$/, `:${grpcPort}`)) : null;
    console.log(JSON.stringify({ ready: true, pid: process.pid, socket: socketPath, grpc: grpcAddr, metrics: metricsUrl, model: models.version || null }));
    log(`listening on ${socketPath}${grpcAddr ? `, gRPC ${grpcAddr}` : ''}${metricsUrl ? `, ${metricsUrl}` : ''}; deadline ${deadlineUs} us, max in flight ${maxInflight}${decider.opts.inline ? '' : ', no inline runs'}${busyMs > 0 ? `, busy polling ${busyMs} ms` : ''}`);
    await stopped;
    log('shutting down');
  }

  // Shutdown: stop accepting, answer what was read, close. A second SIGTERM / SIGINT now kills at once.
  process.off('SIGTERM', onStop);
  process.off('SIGINT', onStop);
  poller?.stop();
  framed.close();
  const grpcClosed = grpcService?.close() ?? Promise.resolve();
  let seen = -1;
  for (let i = 0; i < 1000; i++) { // at most ~2 s; normally one deadline
    const d = stats.decisions;
    if (decider.scheduler.pending === 0 && d === seen) break;
    seen = d;
    await new Promise((r) => setTimeout(r, 2));
  }
  decider.scheduler.flush(Reason.DEADLINE);
  for (const c of conns) c.end();
  // a peer that leaves its answers unread (or never closes its side) would keep the process alive: give
  // the half-closed connections a grace, then drop the rest
  for (let i = 0; i < SHUTDOWN_GRACE_MS / 10 && conns.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  if (conns.size > 0) {
    log(`dropping ${conns.size} connection(s) that had not taken their answers ${SHUTDOWN_GRACE_MS} ms after the close`);
    for (const c of conns) { stats.protocolErrors[ProtocolError.SHUTDOWN_TIMEOUT]!++; c.destroy(); }
  }
  await grpcClosed;
  await models.close();
  recorder?.stop();
  store?.db.close();
  if (metricsServer) {
    const closed = new Promise<void>((r) => metricsServer!.close(() => r()));
    metricsServer.closeAllConnections();
    await closed;
  }
  if (existsSync(socketPath)) { try { unlinkSync(socketPath); } catch { /* already gone */ } }
  process.off('SIGHUP', onHup);
  log(`stopped after ${stats.decisions} decisions (${stats.fallbacks} fallbacks)`);
  return 0;
}
