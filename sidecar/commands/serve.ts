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
import { DEFAULT_DB } from '../../replay/store.js';
import { BusyPoller } from '../busy-poll.js';
import { Reason } from '../codec.js';
import { Decider } from '../decide.js';
import { GrpcService } from '../grpc.js';
import { buildRegistry, DecisionStats, serveMetrics } from '../metrics.js';
import { ModelManager } from '../reload.js';
import { listenFramed, resolveOwner, type FramedConnection } from '../server.js';
import { MinuteRecorder, openSidecarStore } from '../store.js';

export const summary = 'serve eviction decisions to NGINX (framed Unix socket, gRPC, /metrics)';

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
  --deadline-us N       budget for requests that carry none, microseconds (default 500)
  --max-inflight N      requests waiting for or in inference at most; more get OVERLOAD (default 32)
  --db FILE             SQLite store for per-minute aggregates (default ${DEFAULT_DB}; "none" = off)
  --no-watch            do not watch the model file for changes
  --no-inline           never run the model on the socket thread: every request goes to the inference
                        thread and is raced against its deadline, so no answer is ever later than its budget
                        (by default the model runs inline when its median run time fits 1.5x into the time
                        left, which is faster, and a late inline answer is replaced by the DEADLINE fallback)
  --busy-poll-ms N      keep the socket thread polling for N ms after each answer instead of sleeping: lower
                        latency, one CPU busy while requests keep coming (default 0 = off; see sidecar/README.md)
  --spin-us N           inference thread: spin this long for the next job before sleeping (default 0)
  --quiet               no log lines on stderr

SIGTERM / SIGINT: stop accepting, answer every request already read, close, exit 0.`;
}

function hostPort(s: string, flag: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new ColdrlError('COLDRL_ERR_USAGE', `${flag}: expected HOST:PORT, got "${s}"`);
  return [m[1]!, Number(m[2])];
}

function positiveInt(s: string, flag: string, min = 1): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new ColdrlError('COLDRL_ERR_USAGE', `${flag}: expected an integer >= ${min}, got "${s}"`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, socket: { type: 'string' }, 'socket-mode': { type: 'string', default: '0666' },
      'socket-owner': { type: 'string' }, grpc: { type: 'string' }, metrics: { type: 'string' },
      'deadline-us': { type: 'string', default: '500' }, 'max-inflight': { type: 'string', default: '32' },
      db: { type: 'string', default: DEFAULT_DB }, 'no-watch': { type: 'boolean', default: false },
      'no-inline': { type: 'boolean', default: false }, 'busy-poll-ms': { type: 'string', default: '0' }, 'spin-us': { type: 'string', default: '0' }, quiet: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(help()); return 0; }
  if (!v.socket) throw new ColdrlError('COLDRL_ERR_USAGE', 'serve needs --socket PATH (coldrl serve --help)');
  if (!/^0?[0-7]{3}$/.test(v['socket-mode']!)) throw new ColdrlError('COLDRL_ERR_USAGE', `--socket-mode: expected octal like 0660, got "${v['socket-mode']}"`);
  const socketPath = resolve(v.socket);
  const mode = parseInt(v['socket-mode']!, 8);
  const owner = v['socket-owner'] ? resolveOwner(v['socket-owner']) : { uid: -1, gid: -1 };
  const deadlineUs = positiveInt(v['deadline-us']!, '--deadline-us');
  const maxInflight = positiveInt(v['max-inflight']!, '--max-inflight');
  const spinUs = positiveInt(v['spin-us']!, '--spin-us', 0);
  const busyMs = Number(v['busy-poll-ms']);
  if (!(busyMs >= 0 && busyMs <= 60_000)) throw new ColdrlError('COLDRL_ERR_USAGE', `--busy-poll-ms: expected 0..60000, got "${v['busy-poll-ms']}"`);
  const poller = busyMs > 0 ? new BusyPoller(busyMs) : null;
  const metricsAt = v.metrics ? hostPort(v.metrics, '--metrics') : null;
  const log = v.quiet ? () => undefined : (line: string) => process.stderr.write(`coldrl serve: ${line}\n`);

  const stats = new DecisionStats();
  const decider = new Decider(stats, { deadlineUs, maxInflight, inline: v['no-inline'] !== true, poller, log });
  const models = new ModelManager(decider, v.model ?? '', log, spinUs);
  await models.start();

  const conns = new Set<FramedConnection>();
  let framed: Server;
  try {
    framed = await listenFramed(decider, { path: socketPath, mode, uid: owner.uid, gid: owner.gid }, conns);
  } catch (e) {
    await models.close();
    throw e;
  }
  const grpcService = v.grpc ? new GrpcService({ decider, models }) : null;
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
    if (v.db !== 'none') {
      store = openSidecarStore(v.db!);
      recorder = new MinuteRecorder(store, stats, socketPath, () => models.version);
      recorder.start();
    }
  } catch (e) {
    framed.close();
    await grpcService?.close(0);
    await models.close();
    throw e instanceof ColdrlError ? e : new ColdrlError('COLDRL_ERR_USAGE', `cannot start: ${(e as Error).message}`);
  }
  if (!v['no-watch']) models.watch();
  const onHup = () => { void models.reload().then(() => grpcService?.healthChanged()); };
  process.on('SIGHUP', onHup);

  const addr = metricsServer?.address();
  const metricsUrl = addr && typeof addr === 'object' ? `http://${addr.address}:${addr.port}/metrics` : null;
  const grpcAddr = v.grpc ? (v.grpc.startsWith('unix:') ? v.grpc : v.grpc.replace(/:\d+$/, `:${grpcPort}`)) : null;
  console.log(JSON.stringify({ ready: true, pid: process.pid, socket: socketPath, grpc: grpcAddr, metrics: metricsUrl, model: models.version || null }));
  log(`listening on ${socketPath}${grpcAddr ? `, gRPC ${grpcAddr}` : ''}${metricsUrl ? `, ${metricsUrl}` : ''}; deadline ${deadlineUs} us, max in flight ${maxInflight}${decider.opts.inline ? '' : ', no inline runs'}${busyMs > 0 ? `, busy polling ${busyMs} ms` : ''}`);

  await new Promise<void>((done) => {
    const stop = () => { process.off('SIGTERM', stop); process.off('SIGINT', stop); done(); };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });

  // Shutdown: stop accepting, answer what was read, close.
  log('shutting down');
  poller?.stop();
  process.off('SIGHUP', onHup);
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
  log(`stopped after ${stats.decisions} decisions (${stats.fallbacks} fallbacks)`);
  return 0;
}
