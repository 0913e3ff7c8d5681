/**
 * Decision statistics and their Prometheus exposition (prom-client).
 *
 * The hot path only bumps typed arrays (DecisionStats.record: no allocation, no label hashing); the
 * prom-client metrics read them when scraped (`collect`), so a scrape costs the scraper, not the requests.
 * Latency is kept at 1-microsecond resolution up to 20 ms (quantiles for Stats and the per-minute store),
 * and exposed as a histogram with microsecond buckets.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Holdout } from '../replay/holdout.js';
import { BAD_CHECKS, BAD_COUNT, PROTOCOL_ERROR_KINDS, REASON_COUNT, REASON_NAMES } from './codec.js';

/** Fine latency histogram: bucket i = [i, i+1) microseconds, the last one holds everything above. */
export class LatencyHistogram {
  static readonly MAX_US = 20000;
  readonly counts = new Float64Array(LatencyHistogram.MAX_US + 1);
  total = 0;
  sumUs = 0;
  maxUs = 0;

  record(us: number): void {
    const i = us < LatencyHistogram.MAX_US ? Math.floor(us) : LatencyHistogram.MAX_US;
    this.counts[i < 0 ? 0 : i]!++;
    this.total++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** q-quantile in microseconds (upper edge of its bucket); 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const target = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return i === LatencyHistogram.MAX_US ? this.maxUs : i + 1;
    }
    return this.maxUs;
  }

  /** Observations at or below `us` microseconds (for cumulative Prometheus buckets). */
  atMost(us: number): number {
    let s = 0;
    const top = Math.min(us, LatencyHistogram.MAX_US);
    for (let i = 0; i < top; i++) s += this.counts[i]!;
    return s;
  }

  reset(): void { this.counts.fill(0); this.total = 0; this.sumUs = 0; this.maxUs = 0; }
}

/** Counters of one sidecar process. Index 0 of `byReason` counts model answers (reason NONE). */
export class DecisionStats {
  readonly byReason = new Float64Array(REASON_COUNT);
  readonly latency = new LatencyHistogram();
  /** Since the last per-minute flush (sidecar/store.ts). */
  readonly minuteByReason = new Float64Array(REASON_COUNT);
  readonly minuteLatency = new LatencyHistogram();
  reloads = 0;
  failedReloads = 0;
  /** Inference workers started again after the serving one exited on its own (reload.ts), and tries that failed. */
  workerRestarts = 0;
  failedWorkerRestarts = 0;
  /** Model answers that arrived after their deadline and were dropped. */
  lateAnswers = 0;
  /** Model answers computed on the socket thread (deadline.ts inline runs). */
  inlineRuns = 0;
  /** Keep-alive probes answered (request_id bit 62, proto/README.md): not decisions, not in the rates. */
  probes = 0;
  /** Requests whose candidate_source differs from the serving model's (decide.ts). */
  sourceMismatches = 0;
  /** The same, since the last per-minute flush. */
  minuteSourceMismatches = 0;
  /** BAD_REQUEST answers by the check that failed (codec.ts Bad; index 0 unused). */
  readonly badRequests = new Float64Array(BAD_COUNT);
  /** Protocol errors and dropped connections by kind (codec.ts ProtocolError). */
  readonly protocolErrors = new Float64Array(PROTOCOL_ERROR_KINDS.length);
  /** Times a framed connection stopped being read because its unsent answers were over the cap (server.ts). */
  backpressurePauses = 0;
  /** Framed connections not being read now, for that reason. */
  pausedConnections = 0;

  record(reason: number, us: number): void {
    this.byReason[reason]!++;
    this.minuteByReason[reason]!++;
    this.latency.record(us);
    this.minuteLatency.record(us);
  }

  get decisions(): number { let s = 0; for (let i = 0; i < REASON_COUNT; i++) s += this.byReason[i]!; return s; }
  get fallbacks(): number { return this.decisions - this.byReason[0]!; }
}

/** Upper bounds of the exposed histogram buckets, microseconds. */
export const LATENCY_BUCKETS_US = [10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 2000, 5000, 10000];

export interface MetricsSource {
  stats: DecisionStats;
  modelVersion(): string;
  /** The serving model's held-out check (replay/holdout.ts), if it has one. */
  modelHoldout(): Holdout | null;
  inflight(): number;
  connections(): number;
}

/** A prom-client registry whose metrics read `src` when scraped. Names are listed in sidecar/README.md. */
export function buildRegistry(src: MetricsSource): Registry {
  const reg = new Registry();
  const s = src.stats;
  new Counter({
    name: 'coldrl_sidecar_decisions_total', help: 'Eviction decisions answered, by source (model, fallback) and fallback reason',
    labelNames: ['source', 'reason'], registers: [reg],
    collect() {
      this.reset();
      for (let r = 0; r < REASON_COUNT; r++) {
        this.inc({ source: r === 0 ? 'model' : 'fallback', reason: REASON_NAMES[r]!.toLowerCase() }, s.byReason[r]!);
      }
    },
  });
  new Counter({ name: 'coldrl_sidecar_reloads_total', help: 'Model reloads that succeeded', registers: [reg], collect() { this.reset(); this.inc(s.reloads); } });
  new Counter({ name: 'coldrl_sidecar_reload_failures_total', help: 'Model reloads refused (the old model kept serving)', registers: [reg], collect() { this.reset(); this.inc(s.failedReloads); } });
  new Counter({ name: 'coldrl_sidecar_worker_restarts_total', help: 'Inference workers started again after the serving one exited on its own', registers: [reg], collect() { this.reset(); this.inc(s.workerRestarts); } });
  new Counter({ name: 'coldrl_sidecar_worker_restart_failures_total', help: 'Restarts of an exited inference worker that failed (tried again later, with a longer wait)', registers: [reg], collect() { this.reset(); this.inc(s.failedWorkerRestarts); } });
  new Counter({ name: 'coldrl_sidecar_late_model_answers_total', help: 'Model answers that came after the deadline and were dropped', registers: [reg], collect() { this.reset(); this.inc(s.lateAnswers); } });
  new Counter({ name: 'coldrl_sidecar_probes_total', help: 'Keep-alive probes answered (request_id bit 62); not counted as decisions', registers: [reg], collect() { this.reset(); this.inc(s.probes); } });
  new Counter({
    name: 'coldrl_sidecar_candidate_source_mismatches_total', help: 'Requests whose candidates came from another source than the serving model was trained on',
    registers: [reg], collect() { this.reset(); this.inc(s.sourceMismatches); },
  });
  new Counter({
    name: 'coldrl_sidecar_bad_requests_total', help: 'Requests answered with the BAD_REQUEST fallback, by the check that failed',
    labelNames: ['check'], registers: [reg],
    collect() { this.reset(); for (let b = 1; b < BAD_COUNT; b++) this.inc({ check: BAD_CHECKS[b]! }, s.badRequests[b]!); },
  });
  new Counter({
    name: 'coldrl_sidecar_protocol_errors_total', help: 'Unparsable frames (and gRPC Decide bodies) and dropped framed connections, by kind',
    labelNames: ['kind'], registers: [reg],
    collect() { this.reset(); for (let k = 0; k < PROTOCOL_ERROR_KINDS.length; k++) this.inc({ kind: PROTOCOL_ERROR_KINDS[k]! }, s.protocolErrors[k]!); },
  });
  new Counter({
    name: 'coldrl_sidecar_backpressure_pauses_total', help: 'Times a framed connection stopped being read because its unsent answers were over the cap',
    registers: [reg], collect() { this.reset(); this.inc(s.backpressurePauses); },
  });
  new Gauge({ name: 'coldrl_sidecar_paused_connections', help: 'Framed connections not read now because their unsent answers are over the cap', registers: [reg], collect() { this.set(s.pausedConnections); } });
  new Counter({ name: 'coldrl_sidecar_inline_runs_total', help: 'Inferences run on the socket thread instead of the model thread', registers: [reg], collect() { this.reset(); this.inc(s.inlineRuns); } });
  new Gauge({
    name: 'coldrl_sidecar_model_info', help: 'The model serving (1), labelled by version; absent when none is loaded',
    labelNames: ['version'], registers: [reg],
    collect() { this.reset(); const v = src.modelVersion(); if (v) this.set({ version: v }, 1); },
  });
  new Gauge({
    name: 'coldrl_sidecar_model_holdout_hit_ratio',
    help: 'Hit ratio on the requests held out of the serving model\'s training (coldrl train --holdout), by policy: model, lru, gdsf',
    labelNames: ['policy'], registers: [reg],
    collect() { this.reset(); const h = src.modelHoldout(); if (h) for (const [p, r] of Object.entries(h.hitRatio)) this.set({ policy: p }, r); },
  });
  new Gauge({
    name: 'coldrl_sidecar_model_holdout_byte_hit_ratio',
    help: 'Byte hit ratio on the same held-out requests, by policy (what a model trained with --goal bytes maximises); absent for models written before it was recorded',
    labelNames: ['policy'], registers: [reg],
    collect() { this.reset(); const b = src.modelHoldout()?.byteHitRatio; if (b) for (const [p, r] of Object.entries(b)) this.set({ policy: p }, r); },
  });
  new Gauge({ name: 'coldrl_sidecar_inflight', help: 'Requests waiting for or in inference', registers: [reg], collect() { this.set(src.inflight()); } });
  new Gauge({ name: 'coldrl_sidecar_connections', help: 'Open framed-socket connections', registers: [reg], collect() { this.set(src.connections()); } });
  const name = 'coldrl_sidecar_decision_latency_microseconds';
  const help = 'Server time per decision, from reading the request to writing the answer, microseconds';
  reg.registerMetric({
    name, help, type: 'histogram',
    get: async () => ({
      name, help, type: 'histogram', aggregator: 'sum',
      values: [
        ...LATENCY_BUCKETS_US.map((le) => ({ labels: { le }, value: s.latency.atMost(le), metricName: `${name}_bucket` })),
        { labels: { le: '+Inf' }, value: s.latency.total, metricName: `${name}_bucket` },
        { labels: {}, value: s.latency.sumUs, metricName: `${name}_sum` },
        { labels: {}, value: s.latency.total, metricName: `${name}_count` },
      ],
    }),
  } as unknown as Parameters<Registry['registerMetric']>[0]);
  return reg;
}

/** Serves GET /metrics on host:port (port 0 = any); resolves with the bound server. */
export function serveMetrics(reg: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      reg.metrics().then(
        (text) => { res.writeHead(200, { 'content-type': reg.contentType }); res.end(text); },
        (e: unknown) => { res.writeHead(500); res.end(String(e)); },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(server); });
  });
}
