/**
 * `coldrl bench nginx`: requests/s and p99 of a caching reverse proxy (Debian's nginx on loopback) driven
 * by wrk for a bounded time, with the coldrl module off (not loaded) and on (evicting through a live
 * sidecar). The working set is larger than max_size, so the cache evicts all along.
 *
 * Also the harness the end-to-end test (test/nginx/e2e.test.ts) uses: build the module (nginx/build.sh),
 * write a proxy + origin config in a directory, start and stop NGINX and the sidecar as child processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_SOURCE, SOURCES } from '../replay/candidates.js';
import { ColdrlError } from '../replay/errors.js';
import { FEATURE_CAPS, FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPEC_VERSION } from '../replay/features.js';
import { writeOnnx } from '../trainer/onnx-export.js';

export const summary = 'proxy requests/s and p99 with the module on and off';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_SCRIPT = join(ROOT, 'nginx/build.sh');
const CACHETRAIN_CONF = join(ROOT, 'nginx/cachetrain.conf');
const CLI = join(ROOT, 'dist/trainer/cli.js');

// The recommended training format (../shared/reference/nginx-cache-internals.md); nginx/cachetrain.conf
// is used instead when it exists.
const CACHETRAIN_INLINE = `map $upstream_http_set_cookie $coldrl_set_cookie { "" ""; default 1; }
log_format cachetrain escape=json '{"ts":$msec,"key":"$scheme$proxy_host$request_uri",'
 '"method":"$request_method","status":$status,"cache":"$upstream_cache_status",'
 '"bytes_sent":$bytes_sent,"body_bytes":$body_bytes_sent,"up_status":"$upstream_status",'
 '"up_len":"$upstream_response_length","up_ct":"$upstream_connect_time",'
 '"up_ht":"$upstream_header_time","up_rt":"$upstream_response_time","req_time":$request_time,'
 '"up_cc":"$upstream_http_cache_control","up_expires":"$upstream_http_expires",'
 '"up_xae":"$upstream_http_x_accel_expires","up_cookie":"$coldrl_set_cookie","up_vary":"$upstream_http_vary",'
 '"cc":"$sent_http_cache_control","expires":"$sent_http_expires",'
 '"last_mod":"$sent_http_last_modified","clen":"$sent_http_content_length"}';`;

export interface NginxBuild { nginx: string; module: string }

/** Runs nginx/build.sh (installs what it needs, quick when built); throws COLDRL_ERR_NGINX on failure. */
export function buildNginxModule(): NginxBuild {
  const r = spawnSync('bash', [BUILD_SCRIPT, '--print'], { encoding: 'utf8', timeout: 600_000 });
  const nginx = /^NGINX=(.+)$/m.exec(r.stdout ?? '')?.[1];
  const module = /^MODULE=(.+)$/m.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || !nginx || !module) {
    throw new ColdrlError('COLDRL_ERR_NGINX', `nginx/build.sh failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-8).join(' | ')}`, 1);
  }
  return { nginx, module };
}

/**
 * n distinct TCP ports on 127.0.0.1 that were free a moment ago: all n are held open together before any
 * is closed, so that two probes in a row cannot return the same port (an NGINX given one port for its
 * origin and its proxy would serve both from the origin's server block).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  try {
    return await Promise.all(servers.map((s) => new Promise<number>((res, rej) => {
      s.once('error', rej);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        res(typeof a === 'object' && a ? a.port : 0);
      });
    })));
  } finally {
    await Promise.all(servers.map((s) => new Promise((res) => (s.listening ? s.close(res) : res(undefined)))));
  }
}

export interface ColdrlDirectives {
  socket: string;
  shadow?: boolean;
  /** e.g. "500us", "100ms". */
  timeout?: string;
  /** coldrl_k; unset: the directive is not written (the module's default, 64). */
  k?: number;
  /** coldrl_candidates; unset: the directive is not written (the module's default, DEFAULT_SOURCE). */
  candidates?: string;
  logFeatures?: boolean;
  interval?: string;
  keepalive?: string;
}

export interface ProxyOptions {
  dir: string;
  build: NginxBuild;
  originPort: number;
  proxyPort: number;
  /** proxy_cache_path max_size, e.g. "160k". */
  maxSize: string;
  /** null: the module is not loaded at all (stock NGINX). */
  coldrl: ColdrlDirectives | null;
  workers?: number;
  /** Write the cachetrain access log to DIR/access.log (default true). */
  accessLog?: boolean;
  /** Also DIR/access.text.log in the cachetrain_text format (default off). */
  textLog?: boolean;
  errorLevel?: 'debug' | 'info' | 'notice' | 'warn';
  /** keys_zone size (default 4m). */
  keysZone?: string;
  /** A second cache, coldrl_b (DIR/cache-b, max_size=10m), serving /b/NAME from the origin's /NAME. */
  secondCache?: boolean;
  /** The origin's `expires` (default 1h). */
  originExpires?: string;
  /** proxy_cache_revalidate on: an expired copy is revalidated with a conditional request. */
  revalidate?: boolean;
  /** Origin files (by name) answered with these headers beside the `expires` ones (add_header NAME "VALUE" always: a 404 too). */
  originHeaders?: Record<string, Record<string, string>>;
  /** proxy_cache_min_uses of the proxy (default: nginx's, 1). */
  minUses?: number;
  /** proxy_ignore_headers of the proxy, e.g. "Set-Cookie Vary". */
  ignoreHeaders?: string;
  /** proxy_cache_valid lines of the proxy, e.g. ["404 1m"]. */
  cacheValid?: string[];
}

/** The config of one instance: an origin server block (files of DIR/www, expires 1h) and the caching proxy. */
export function proxyConfig(o: ProxyOptions): string {
  const d = o.dir;
  const c = o.coldrl;
  const logFormat = existsSync(CACHETRAIN_CONF) ? `include ${CACHETRAIN_CONF};` : CACHETRAIN_INLINE;
  const coldrl = c ? [
    'coldrl on;', `coldrl_socket ${c.socket};`, ...(c.k !== undefined ? [`coldrl_k ${c.k};`] : []), `coldrl_timeout ${c.timeout ?? '500us'};`,
    `coldrl_shadow ${c.shadow ? 'on' : 'off'};`, ...(c.candidates ? [`coldrl_candidates ${c.candidates};`] : []),
    `coldrl_log_features ${c.logFeatures ? 'on' : 'off'};`, `coldrl_interval ${c.interval ?? '50ms'};`,
    `coldrl_keepalive ${c.keepalive ?? '500ms'};`,
  ].map((l) => `  ${l}`).join('\n') : '';
  return `${c ? `load_module ${o.build.module};\n` : ''}${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;
pid ${d}/nginx.pid;
error_log ${d}/error.log ${o.errorLevel ?? 'info'};
worker_processes ${o.workers ?? 1};
events { worker_connections 1024; }
http {
  client_body_temp_path ${d}/tmp/body; proxy_temp_path ${d}/tmp/proxy; fastcgi_temp_path ${d}/tmp/fastcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi; scgi_temp_path ${d}/tmp/scgi;
  ${logFormat}
  access_log ${o.accessLog === false ? 'off' : `${d}/access.log cachetrain`};
${o.textLog ? `  access_log ${d}/access.text.log cachetrain_text;
` : ''}${coldrl}
  proxy_cache_path ${d}/cache levels=1:2 keys_zone=coldrl_e2e:${o.keysZone ?? '4m'} max_size=${o.maxSize} inactive=1h
                   manager_sleep=50ms manager_threshold=200ms manager_files=100 use_temp_path=off;
${o.secondCache ? `  proxy_cache_path ${d}/cache-b levels=1:2 keys_zone=coldrl_b:1m max_size=10m inactive=1h use_temp_path=off;
` : ''}  server {
    listen 127.0.0.1:${o.originPort};
    access_log off;
    location / { root ${d}/www; expires ${o.originExpires ?? '1h'}; }
${Object.entries(o.originHeaders ?? {}).map(([name, headers]) =>
    `    location = /${name} { root ${d}/www; expires ${o.originExpires ?? '1h'}; ${Object.entries(headers).map(([h, v]) => `add_header ${h} "${v}" always;`).join(' ')} }\n`).join('')}  }
  server {
    listen 127.0.0.1:${o.proxyPort};
    location = /coldrl_status { access_log off; ${c ? 'coldrl_status;' : 'return 404;'} }
    location / {
      proxy_pass http://127.0.0.1:${o.originPort};
      proxy_cache coldrl_e2e;
      proxy_cache_key $scheme$proxy_host$request_uri;
${o.revalidate ? '      proxy_cache_revalidate on;\n' : ''}${o.minUses ? `      proxy_cache_min_uses ${o.minUses};\n` : ''}${o.ignoreHeaders ? `      proxy_ignore_headers ${o.ignoreHeaders};\n` : ''}${(o.cacheValid ?? []).map((v) => `      proxy_cache_valid ${v};\n`).join('')}      add_header X-Cache-Status $upstream_cache_status always;
    }
${o.secondCache ? `    location /b/ {
      proxy_pass http://127.0.0.1:${o.originPort}/;
      proxy_cache coldrl_b;
      proxy_cache_key $scheme$proxy_host$request_uri;
      add_header X-Cache-Status $upstream_cache_status always;
    }
` : ''}  }
}
`;
}

export interface HttpResult { status: number; cache: string; bytes: number; body: string; etag?: string }

/** A GET (or `method`, without a body) to 127.0.0.1:port. */
export function httpGet(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HttpResult> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, path, headers, method, agent: false }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (b: Buffer) => chunks.push(b));
      r.on('end', () => {
        const body = Buffer.concat(chunks);
        res({ status: r.statusCode ?? 0, cache: String(r.headers['x-cache-status'] ?? ''), bytes: body.length, body: body.toString('utf8'),
          ...(r.headers.etag ? { etag: r.headers.etag } : {}) });
      });
      r.on('error', rej);
    });
    req.on('error', rej);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

/** utime + stime of a process in seconds (Linux /proc; clock ticks of 1/100 s). */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return 0; }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopChild(p: ChildProcess, signal: NodeJS.Signals, waitMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  const t = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, waitMs);
  await done;
  clearTimeout(t);
}

/** One NGINX master (daemon off, its own process group) with its workers and cache manager. */
export class NginxInstance {
  private constructor(readonly opts: ProxyOptions, readonly proc: ChildProcess, readonly conf: string) {}

  static async start(o: ProxyOptions): Promise<NginxInstance> {
    for (const sub of ['www', 'tmp', 'cache']) mkdirSync(join(o.dir, sub), { recursive: true });
    const conf = join(o.dir, 'nginx.conf');
    writeFileSync(conf, proxyConfig(o));
    const proc = spawn(o.build.nginx, ['-p', o.dir, '-c', conf, '-e', join(o.dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    proc.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    const inst = new NginxInstance(o, proc, conf);
    const until = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new ColdrlError('COLDRL_ERR_NGINX', `nginx exited at start (${proc.exitCode}): ${stderr.trim()} ${inst.errorLog().trim().split('\n').slice(-3).join(' | ')}`, 1);
      try {
        const r = await httpGet(o.proxyPort, '/coldrl_status');
        if (r.status === 200 || r.status === 404) return inst;
      } catch { /* not listening yet */ }
      if (Date.now() > until) { await inst.stop(); throw new ColdrlError('COLDRL_ERR_NGINX', 'nginx did not answer within 10 s', 1); }
      await sleep(50);
    }
  }

  /** The master's child processes (workers, cache manager, cache loader), from /proc. */
  private children(): number[] {
    const pid = this.proc.pid;
    if (pid === undefined) return [];
    try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
  }

  /** CPU seconds (user + system) used so far by the master and its children (workers, cache manager). */
  cpuSeconds(): number {
    const pid = this.proc.pid;
    return pid === undefined ? 0 : [pid, ...this.children()].reduce((a, p) => a + procCpuSeconds(p), 0);
  }

  /**
   * Runs `fn` with the cache manager stopped (SIGSTOP), so no eviction can start meanwhile; SIGCONT when
   * `fn` settles, or after `guardMs` at the latest (a manager stopped while holding a cache mutex would
   * block the workers, and `fn` with them).
   */
  async withManagerStopped<T>(fn: () => Promise<T>, guardMs = 5000): Promise<T> {
    const manager = this.children().find((p) => {
      try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('cache manager'); } catch { return false; }
    });
    if (manager === undefined) throw new ColdrlError('COLDRL_ERR_NGINX', 'no cache manager process under the nginx master', 1);
    process.kill(manager, 'SIGSTOP');
    const resume = () => { try { process.kill(manager, 'SIGCONT'); } catch { /* gone */ } };
    const guard = setTimeout(resume, guardMs);
    try {
      return await fn();
    } finally {
      clearTimeout(guard);
      resume();
    }
  }

  /** The names (md5 of the cache key) of the files in a cache directory (DIR/cache; DIR/cache-b). */
  cachedFiles(sub = 'cache'): Set<string> {
    const out = new Set<string>();
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (/^[0-9a-f]{32}$/.test(e.name)) out.add(e.name);
      }
    };
    const top = join(this.opts.dir, sub);
    if (existsSync(top)) walk(top);
    return out;
  }

  errorLog(): string {
    const f = join(this.opts.dir, 'error.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  async status(): Promise<ColdrlStatus> {
    const r = await httpGet(this.opts.proxyPort, '/coldrl_status');
    if (r.status !== 200) throw new ColdrlError('COLDRL_ERR_NGINX', `/coldrl_status answered ${r.status}`, 1);
    return JSON.parse(r.body) as ColdrlStatus;
  }

  /** Fast shutdown (SIGTERM to the master, which stops its children); SIGKILL to the group after 5 s. */
  stop(): Promise<void> { return stopChild(this.proc, 'SIGTERM', 5000); }
}

/** The JSON of `coldrl_status`. */
export interface ColdrlStatus {
  enabled: boolean; shadow: boolean; candidates_source: string; k: number; timeout_us: number;
  decisions: number; model_decisions: number; shadow_decisions: number;
  /** Objects the module deleted (the model's victims). */
  evictions: { model: number };
  /** Decisions the module left to nginx's own manager (every fallback, every shadow decision). */
  handed_to_nginx: number;
  /** Runs left to nginx's own manager before any decision: its LRU tail was a placeholder (a count-bound run) or due for inactive expiry. */
  tail_handoffs: { placeholder: number; expired: number };
  evicted_bytes: number; candidates: number;
  /** Nanoseconds spent collecting candidates (both mutex holds, every collection). */
  collect_ns: number; revalidation_misses: number;
  /** Decisions handed to nginx for want of an answer, by reason (`breaker`: not asked, the breaker open). */
  fallbacks: { timeout: number; connect: number; bad_reply: number; sidecar: number; breaker: number };
  sidecar: { connected: number; connects: number; connect_failures: number; pings: number; breaker_open: number; breaker_opens: number };
  side_table: { capacity: number; entries: number; resident: number; tracked_requests: number; stored: number; hits: number };
  latency_us: { count: number; sum: number; buckets: { le: number | null; count: number }[] };
}

/** `coldrl serve` as a child process; resolves once it printed its ready line. */
export class Sidecar {
  private constructor(readonly proc: ChildProcess, readonly socket: string, readonly version: string) {}

  static async start(model: string, socket: string, extra: string[] = []): Promise<Sidecar> {
    const proc = spawn(process.execPath, [CLI, 'serve', '--model', model, '--socket', socket, '--db', 'none', '--quiet', ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    const ready = await new Promise<{ model?: string } | null>((res) => {
      const t = setTimeout(() => res(null), 30_000);
      proc.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const line = out.split('\n').find((l) => l.includes('"ready"'));
        if (line) { clearTimeout(t); res(JSON.parse(line) as { model?: string }); }
      });
      proc.once('exit', () => { clearTimeout(t); res(null); });
    });
    if (!ready) {
      await stopChild(proc, 'SIGKILL', 1000);
      throw new ColdrlError('COLDRL_ERR_NGINX', `coldrl serve did not become ready: ${err.trim().split('\n').slice(-5).join(' | ')}`, 1);
    }
    return new Sidecar(proc, socket, ready.model ?? '');
  }

  pause(): void { this.proc.kill('SIGSTOP'); }
  resume(): void { this.proc.kill('SIGCONT'); }
  async stop(): Promise<void> {
    this.resume();
    await stopChild(this.proc, 'SIGTERM', 5000);
  }
}

/**
 * A model whose choices are predictable: the score of a candidate grows with its `size` feature
 * (advantage = 10 * relu(size feature)), so the largest candidate goes first.
 */
export function writeSizeModel(path: string): void {
  const f = FEATURE_COUNT;
  const h = 2;
  const z = (n: number) => new Float32Array(n);
  const w1 = z(f * h);
  w1[FEATURE_NAMES.indexOf('size') * h] = 1;
  const w2 = z(h * h);
  w2[0] = 1;
  const wa = z(h);
  wa[0] = 10;
  writeOnnx(path, { f, h, w1, b1: z(h), w2, b2: z(h), wa, ba: z(1), wv: z(h), bv: z(1) }, {
    'coldrl.feature_spec_version': String(FEATURE_SPEC_VERSION), 'coldrl.feature_count': String(f),
    'coldrl.feature_names': FEATURE_NAMES.join(','), 'coldrl.feature_caps': FEATURE_CAPS.join(','),
    'coldrl.k': '16', 'coldrl.candidates': 'tail', 'coldrl.trace': 'none (hand-set weights: evict the largest)',
    'coldrl.seed': '0', 'coldrl.hidden': String(h),
  });
}

// ---------------------------------------------------------------- the benchmark

export function help(): string {
  return `coldrl bench nginx [options]

Drives a caching reverse proxy (Debian's nginx, loopback) with wrk for a bounded time, stock (module not
loaded) and with coldrl on (live sidecar, hand-set size model), in two scenarios: the working set fits
(max_size 4x it: the per-request cost) and evicting (max_size a quarter of it: the eviction path runs all
along); a third mode loads the module with no sidecar (LRU at once), the baseline for the decision cost. Prints requests/s, p99 latency, nginx CPU time per request (master, workers and cache manager,
from /proc: less sensitive than requests/s to other load on the machine), the sidecar's CPU per request,
the cache's size on disk, the module's decisions and its mean time collecting the candidates of one.

  --duration S      seconds per run, 6 runs: stock, coldrl and lru in each scenario (default 5)
  --connections N   wrk connections (default 16)
  --threads N       wrk threads (default 1)
  --objects N       distinct objects, requested uniformly at random (default 400)
  --size BYTES      mean object size, sizes vary 0.5x..1.5x (default 16384)
  --timeout T       coldrl_timeout (default 500us)
  --candidates SRC  coldrl_candidates ${Object.keys(SOURCES).join('|')} (default: the module's, ${DEFAULT_SOURCE})
  --k N             coldrl_k (default 16)
  --model FILE      ONNX model for the sidecar (default: the hand-set size model)
  --json            one JSON line instead of the table`;
}

interface WrkResult { rps: number; p99ms: number; requests: number; errors: number }

interface BenchRow extends WrkResult {
  scenario: string; maxSize: string; mode: 'stock' | 'coldrl' | 'lru'; cacheKiB: number;
  /** nginx CPU (master, workers, cache manager) per request, microseconds; the sidecar's apart. */
  cpuUsPerRequest: number; sidecarUsPerRequest: number | null;
  decisions?: number; modelDecisions?: number; fallbacks?: number; meanDecisionUs?: number | null;
  /** Mean time collecting one decision's candidates (microseconds), null without decisions. */
  meanCollectUs?: number | null;
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p = /^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  const unit = p?.[2] === 'us' ? 1e-3 : p?.[2] === 's' ? 1e3 : 1;
  const p99ms = p ? Number(p[1]) * unit : NaN;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errs = /Non-2xx or 3xx responses:\s*(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (errs ? Number(errs[1]) : 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p99ms, requests, errors };
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '16' },
      threads: { type: 'string', default: '1' }, objects: { type: 'string', default: '400' },
      size: { type: 'string', default: '16384' }, timeout: { type: 'string', default: '500us' },
      candidates: { type: 'string' }, k: { type: 'string', default: '16' },
      model: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(help()); return 0; }
  const num = (s: string, flag: string) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) throw new ColdrlError('COLDRL_ERR_USAGE', `${flag}: expected a positive number, got "${s}"`);
    return n;
  };
  const duration = num(v.duration!, '--duration');
  const objects = Math.floor(num(v.objects!, '--objects'));
  const size = Math.floor(num(v.size!, '--size'));
  const k = Math.floor(num(v.k!, '--k'));
  const candidates = v.candidates;
  if (candidates !== undefined && !SOURCES[candidates]) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `--candidates: expected one of ${Object.keys(SOURCES).join(', ')}, got "${candidates}"`);
  }
  if (spawnSync('wrk', ['--version']).error) {
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-upgrade', 'wrk'], { stdio: 'inherit' });
    if (r.status !== 0) throw new ColdrlError('COLDRL_ERR_NGINX', 'wrk is not installed and apt-get install --no-upgrade wrk failed', 1);
  }
  const build = buildNginxModule();
  const dir = mkdtempSync(join(tmpdir(), 'coldrl-bench-nginx-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    mkdirSync(join(dir, 'www'), { recursive: true });
    let total = 0;
    for (let i = 0; i < objects; i++) {
      const n = Math.floor(size * (0.5 + ((i * 7919) % 1000) / 1000));
      total += n;
      writeFileSync(join(dir, 'www', `o${i}.bin`), Buffer.alloc(n, i & 255));
    }
    writeFileSync(join(dir, 'pick.lua'), `math.randomseed(42)\nrequest = function()\n  return wrk.format("GET", "/o" .. math.random(0, ${objects - 1}) .. ".bin")\nend\n`);
    const model = v.model ?? join(dir, 'size.onnx');
    if (!v.model) writeSizeModel(model);
    const socket = join(dir, 'sidecar.sock');
    const sidecar = await Sidecar.start(model, socket);
    stops.push(() => sidecar.stop());
    // fits: max_size 4x the working set (no eviction: the per-request cost of the module);
    // evicting: max_size a quarter of it (the eviction path runs all along)
    const scenarios = { fits: `${Math.ceil(total * 4 / 1024)}k`, evicting: `${Math.max(64, Math.floor(total / 4 / 1024))}k` };
    const rows: BenchRow[] = [];
    for (const [scenario, maxSize] of Object.entries(scenarios)) {
      for (const mode of ['stock', 'coldrl', 'lru'] as const) {
        const runDir = join(dir, `${scenario}-${mode}`);
        mkdirSync(runDir, { recursive: true });
        spawnSync('cp', ['-r', join(dir, 'www'), runDir]);
        const [originPort, proxyPort] = await freePorts(2);
        const opts: ProxyOptions = {
          dir: runDir, build, originPort: originPort!, proxyPort: proxyPort!, maxSize, accessLog: false, errorLevel: 'warn',
          coldrl: mode === 'stock' ? null
            : { socket: mode === 'lru' ? join(dir, 'absent.sock') : socket, timeout: v.timeout!, interval: '50ms', k, candidates },
        };
        const ngx = await NginxInstance.start(opts);
        stops.push(() => ngx.stop());
        const cpu0 = ngx.cpuSeconds();
        const side0 = procCpuSeconds(sidecar.proc.pid!);
        const w = spawnSync('wrk', ['-t', v.threads!, '-c', v.connections!, '-d', `${duration}s`, '--latency', '-s', join(dir, 'pick.lua'),
          `http://127.0.0.1:${opts.proxyPort}/`], { encoding: 'utf8', timeout: (duration + 30) * 1000 });
        if (w.status !== 0) throw new ColdrlError('COLDRL_ERR_NGINX', `wrk failed: ${w.stderr}`, 1);
        const du = Number(spawnSync('du', ['-sk', join(runDir, 'cache')], { encoding: 'utf8' }).stdout.split('\t')[0]);
        const wr = parseWrk(w.stdout);
        const cpuUsPerRequest = (ngx.cpuSeconds() - cpu0) * 1e6 / wr.requests;
        const sidecarUsPerRequest = mode === 'coldrl' ? (procCpuSeconds(sidecar.proc.pid!) - side0) * 1e6 / wr.requests : null;
        const row: BenchRow = { scenario, maxSize, mode, ...wr, cacheKiB: du, cpuUsPerRequest, sidecarUsPerRequest };
        if (mode !== 'stock') {
          const s = await ngx.status();
          const f = s.fallbacks;
          Object.assign(row, { decisions: s.decisions, modelDecisions: s.model_decisions, fallbacks: f.timeout + f.connect + f.bad_reply + f.sidecar + f.breaker,
            meanDecisionUs: s.latency_us.count ? Math.round(s.latency_us.sum / s.latency_us.count) : null,
            meanCollectUs: s.decisions ? Math.round(s.collect_ns / s.decisions / 100) / 10 : null });
        }
        rows.push(row);
        await ngx.stop();
        stops.pop();
      }
    }
    const source = candidates ?? `${DEFAULT_SOURCE} (default)`;
    if (v.json) console.log(JSON.stringify({ duration, connections: Number(v.connections), objects, workingSetBytes: total, timeout: v.timeout, k, candidates: source, rows }));
    else {
      console.log(`coldrl bench nginx: ${objects} objects, working set ${(total / 1024).toFixed(0)} KiB, wrk -c ${v.connections} -t ${v.threads} -d ${duration}s, coldrl_timeout ${v.timeout}, coldrl_k ${k}, candidates ${source}`);
      console.log('scenario  max_size   module  requests/s    p99 ms  errors  nginx cpu us/req  sidecar cpu us/req  cache KiB  decisions  model  fallbacks  mean us  collect us');
      for (const r of rows) {
        const d = (x: unknown) => String(x ?? '-');
        console.log(`${r.scenario.padEnd(8)}  ${r.maxSize.padStart(8)}  ${r.mode.padEnd(6)}  ${r.rps.toFixed(0).padStart(10)}  ${r.p99ms.toFixed(2).padStart(8)}  ${String(r.errors).padStart(6)}  ${r.cpuUsPerRequest.toFixed(1).padStart(16)}  ${d(r.sidecarUsPerRequest === null ? null : r.sidecarUsPerRequest.toFixed(1)).padStart(18)}  ${String(r.cacheKiB).padStart(9)}  ${d(r.decisions).padStart(9)}  ${d(r.modelDecisions).padStart(5)}  ${d(r.fallbacks).padStart(9)}  ${d(r.meanDecisionUs).padStart(7)}  ${d(r.meanCollectUs).padStart(10)}`);
      }
      console.log('stock: module not loaded; coldrl: module + live sidecar; lru: module, sidecar socket absent (immediate LRU fallback, no IPC).');
      console.log('Stock NGINX lets the cache overshoot max_size while its manager sleeps (up to 10 s); the module runs it every coldrl_interval,');
      console.log('so under eviction compare coldrl with lru (same max_size discipline), not with stock.');
    }
    return 0;
  } finally {
    for (const s of stops.reverse()) await s();
    rmSync(dir, { recursive: true, force: true });
  }
}
