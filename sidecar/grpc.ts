/**
 * gRPC (grpc-js + @grpc/proto-loader): coldrl.v1.Eviction (Decide, Reload, Stats) and grpc.health.v1.Health,
 * on a Unix socket (unix:///PATH) or a loopback port (127.0.0.1:PORT).
 *
 * Decide keeps the request and response as raw bytes (pass-through (de)serialisers) and runs them through
 * the hot path's own codec and Decider, so both transports decide identically. ColdrlErrors are mapped to
 * gRPC status codes here, at the boundary, and nowhere else.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REASON_NAMES, DecideSlot, decodeDecideRequest, encodeDecideResponse, maxResponseSize, ProtocolError } from './codec.js';
import type { Answerer, Decider } from './decide.js';
import type { ModelManager } from './reload.js';
import { clearStaleSocket } from './server.js';

export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../proto');
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** Loads proto/coldrl.proto and proto/health.proto (also used by clients). */
export function loadProtos(): grpc.GrpcObject {
  const def = protoLoader.loadSync([join(PROTO_DIR, 'coldrl.proto'), join(PROTO_DIR, 'health.proto')], LOADER_OPTIONS);
  return grpc.loadPackageDefinition(def);
}

type ServiceCtor = grpc.ServiceClientConstructor;
export function serviceOf(pkg: grpc.GrpcObject, path: string): ServiceCtor {
  let o: unknown = pkg;
  for (const p of path.split('.')) o = (o as Record<string, unknown>)[p];
  return o as ServiceCtor;
}

const passthrough = (b: Buffer) => b;

/** One gRPC Decide call waiting for its answer. */
class GrpcAnswer implements Answerer {
  open = true;
  constructor(private readonly out: Buffer, private readonly cb: grpc.sendUnaryData<Buffer>) {}
  deliver(slot: DecideSlot, victimsLo: number, victimsHi: number, source: number, reason: number, serverUs: number, version: Uint8Array): void {
    const end = encodeDecideResponse(this.out, 0, slot.idLo, slot.idHi, victimsLo, victimsHi, source, reason, version, serverUs, null);
    this.open = false;
    this.cb(null, Buffer.from(this.out.subarray(4, end)));
  }
}

export interface GrpcDeps { decider: Decider; models: ModelManager }

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export class GrpcService {
  readonly server = new grpc.Server();
  private readonly out = Buffer.allocUnsafe(maxResponseSize(64, 0));
  private readonly watchers = new Set<{ service: string; call: grpc.ServerWritableStream<{ service: string }, { status: Status }>; last: Status }>();

  constructor(private readonly deps: GrpcDeps) {
    deps.models.onServingChange(() => this.healthChanged());
    const pkg = loadProtos();
    const eviction = serviceOf(pkg, 'coldrl.v1.Eviction').service;
    const def: grpc.ServiceDefinition = { ...eviction, Decide: { ...eviction.Decide!, requestDeserialize: passthrough, responseSerialize: passthrough } };
    this.server.addService(def, {
      Decide: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => this.decide(call, cb),
      Reload: (call: grpc.ServerUnaryCall<{ path: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.deps.models.reload(call.request.path || undefined).then(
          (r) => cb(null, { ok: r.ok, model_version: r.version, error: r.error }),
          (e: unknown) => cb({ code: grpc.status.INTERNAL, details: String(e) }),
        );
      },
      Stats: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, this.stats()),
    });
    this.server.addService(serviceOf(pkg, 'grpc.health.v1.Health').service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const s = this.health(call.request.service);
        if (s === 'SERVICE_UNKNOWN') { cb({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` }); return; }
        cb(null, { status: s });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: Status }>) => {
        const w = { service: call.request.service, call, last: this.health(call.request.service) };
        this.watchers.add(w);
        call.write({ status: w.last });
        call.on('cancelled', () => this.watchers.delete(w));
      },
    });
  }

  private decide(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
    const t0 = performance.now();
    const d = this.deps.decider;
    const slot = d.acquire();
    if (!decodeDecideRequest(call.request, 0, call.request.length, slot)) {
      d.release(slot);
      d.stats.protocolErrors[ProtocolError.MALFORMED]!++;
      cb({ code: grpc.status.INVALID_ARGUMENT, details: `COLDRL_ERR_PROTOCOL: body of ${call.request.length} bytes is not a DecideRequest` });
      return;
    }
    const a = new GrpcAnswer(this.out, cb);
    call.on('cancelled', () => { a.open = false; });
    slot.owner = a;
    slot.t0 = t0;
    d.decide(slot);
  }

  private health(service: string): Status {
    if (service === '') return 'SERVING';
    if (service === 'coldrl.v1.Eviction') return this.deps.decider.model ? 'SERVING' : 'NOT_SERVING';
    return 'SERVICE_UNKNOWN';
  }

  /** Tells Watch streams about a change of serving status (ModelManager calls it on every swap). */
  healthChanged(): void {
    for (const w of this.watchers) {
      const s = this.health(w.service);
      if (s !== w.last) { w.last = s; w.call.write({ status: s }); }
    }
  }

  stats(): Record<string, unknown> {
    const s = this.deps.decider.stats;
    const decisions = s.decisions;
    const byReason: Record<string, string> = {};
    for (let r = 1; r < REASON_NAMES.length; r++) byReason[REASON_NAMES[r]!] = String(s.byReason[r]);
    return {
      decisions: String(decisions), model_decisions: String(s.byReason[0]), fallbacks: String(s.fallbacks),
      fallbacks_by_reason: byReason, fallback_rate: decisions > 0 ? s.fallbacks / decisions : 0,
      model_version: this.deps.models.version, reloads: String(s.reloads), failed_reloads: String(s.failedReloads),
      p50_us: s.latency.quantile(0.5), p99_us: s.latency.quantile(0.99),
      candidate_source_mismatches: String(s.sourceMismatches), probes: String(s.probes),
    };
  }

  /** Binds unix:///PATH or HOST:PORT; resolves with the bound port (0 for a Unix socket). */
  async listen(address: string): Promise<number> {
    if (address.startsWith('unix://')) await clearStaleSocket(address.replace(/^unix:\/\//, ''));
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /** Stops taking calls, lets running ones finish (at most `graceMs`), then closes. */
  async close(graceMs = 2000): Promise<void> {
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { this.server.forceShutdown(); resolve(); }, graceMs);
      this.server.tryShutdown(() => { clearTimeout(t); resolve(); });
    });
  }
}
