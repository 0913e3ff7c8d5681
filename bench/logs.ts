/**
 * `coldrl bench logs`: access-log parsing speed on one core, end to end (read the file, decode, split lines,
 * parse, intern keys, fill request batches), in lines per second, median of --runs.
 *
 * The logs are generated from the seeded `bursty` workload (1,000,000 requests by default, 20,090 objects;
 * `--workload onehit` names ~700k distinct objects in 1,000,000 requests, as a CDN's one-hit wonders do):
 *  - json: the cachetrain JSON format (nginx/cachetrain.conf); an object's first request is a MISS line with
 *    upstream size, times and Cache-Control, later ones are HIT lines with empty upstream fields;
 *  - combined: NGINX's default combined format with a browser user agent and a referer.
 * One untimed warm-up read precedes the timed ones. Targets (issue 3): >= 1 M lines/s for json, >= 0.5 M lines/s for combined. Both wall-clock lines/s and
 * lines per CPU-second of this process are printed: on a shared machine the wall figure also measures
 * the other processes; the CPU figure is what one core does while it runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './index.js';
import { ColdrlError } from '../replay/errors.js';
import { openSource } from '../replay/formats/index.js';
import { RequestBatch, type Trace } from '../replay/trace.js';
import { WORKLOADS } from '../replay/workloads/index.js';
import { jsonLine, msText, timeLocalText } from '../replay/workloads/write.js';

export const summary = 'access-log parsing speed, lines/s on one core';

export function help(): string {
  return `coldrl bench logs [options]

Generates access logs from a seeded workload and times reading them (one core, end to end).

  --lines N     lines per log (default 1000000)
  --workload W  the workload the logs are written from (default bursty, 20,090 objects in 1M requests;
                onehit: ~700k distinct keys, most requested once)
  --runs N      timed reads per format after one warm-up read, median reported (default 3)
  --format F    json, combined or all (default all: each format in its own process)
  --dir DIR     where to write the logs (default: a temporary directory, removed afterwards)
  --json        one JSON object per format per line`;
}

const UA = '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"';

function hitJsonLine(t: Trace, i: number): string {
  const size = t.size[i]!;
  return `{"ts":${msText(t.time[i]! * 1000)},"key":${JSON.stringify(String(t.key(t.id[i]!)))},"method":"GET","status":200,` +
    `"cache":"HIT","bytes_sent":${size + 312},"body_bytes":${size},"up_status":"","up_len":"","up_ct":"","up_ht":"","up_rt":"",` +
    `"req_time":0.000,"up_cc":"","up_expires":"","cc":"max-age=${t.ttl[i]}","expires":"","last_mod":"","clen":"${size}"}`;
}

function combinedLine(t: Trace, i: number): string {
  return `198.51.100.${t.id[i]! & 255} - - [${timeLocalText(t.time[i]!)}] "GET ${t.key(t.id[i]!)} HTTP/1.1" 200 ${t.size[i]} ` +
    `"https://www.example.org/index.html" ${UA}`;
}

function writeLog(t: Trace, path: string, format: 'json' | 'combined'): void {
  const seen = new Uint8Array(t.objects);
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    if (format === 'combined') out.push(combinedLine(t, i));
    else { out.push(seen[t.id[i]!] ? hitJsonLine(t, i) : jsonLine(t, i)); seen[t.id[i]!] = 1; }
  }
  writeFileSync(path, `${out.join('\n')}\n`);
}

async function timeRead(path: string, format: string): Promise<{ seconds: number; cpuSeconds: number; requests: number; lines: number }> {
  const src = openSource(path, format === 'json' ? 'nginx-json' : 'nginx-combined', { strict: true });
  const b = new RequestBatch(1 << 15);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let requests = 0;
  for (;;) {
    const got = await src.read(b);
    if (got === 0) break;
    requests += got;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  src.close();
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, requests, lines: src.stats.lines };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      lines: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' }, format: { type: 'string', default: 'all' },
      dir: { type: 'string' }, json: { type: 'boolean', default: false }, workload: { type: 'string', default: 'bursty' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) { console.log(help()); return 0; }
  const lines = Number(values.lines), runs = Number(values.runs);
  if (!Number.isInteger(lines) || lines < 1 || !Number.isInteger(runs) || runs < 1) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench logs: --lines and --runs must be positive integers');
  const workload = WORKLOADS[values.workload!];
  if (!workload) throw new ColdrlError('COLDRL_ERR_USAGE', `bench logs: unknown --workload ${values.workload} (known: ${Object.keys(WORKLOADS).join(', ')})`);
  if (values.format === 'all') {
    // Each format in its own process, as a replay reads one format: sharing one JIT would make the
    // second format's figure depend on the first's.
    for (const f of ['json', 'combined']) {
      const args = [process.argv[1]!, 'bench', 'logs', '--format', f, '--lines', String(lines), '--runs', String(runs), '--workload', values.workload!];
      if (values.dir) args.push('--dir', values.dir);
      if (values.json) args.push('--json');
      const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
      if (r.status !== 0) return r.status ?? 1;
    }
    return 0;
  }
  const formats = [values.format] as const;
  for (const f of formats) if (f !== 'json' && f !== 'combined') throw new ColdrlError('COLDRL_ERR_USAGE', `bench logs: unknown --format ${f}`);
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'coldrl-bench-logs-'));
  try {
    const t = workload.generate(42, lines);
    if (t.length !== lines) throw new ColdrlError('COLDRL_ERR_INVARIANT', `bench logs: the ${values.workload} workload made ${t.length} of ${lines} requests`);
    for (const format of formats as readonly ('json' | 'combined')[]) {
      const path = join(dir, `access.${format}.log`);
      writeLog(t, path, format);
      const bytes = statSync(path).size;
      const rates: number[] = [], cpuRates: number[] = [];
      await timeRead(path, format); // warm-up: lets the JIT compile the parser before the timed runs
      for (let r = 0; r < runs; r++) {
        const m = await timeRead(path, format);
        if (m.requests !== lines) throw new ColdrlError('COLDRL_ERR_INVARIANT', `bench logs: read ${m.requests} of ${lines} requests`);
        rates.push(m.lines / m.seconds);
        cpuRates.push(m.lines / m.cpuSeconds);
      }
      const wall = median(rates), cpu = median(cpuRates);
      const row = {
        format, workload: values.workload, objects: t.objects, lines, bytes, linesPerSecond: Math.round(wall), linesPerCpuSecond: Math.round(cpu),
        mbPerSecond: +(wall * bytes / lines / 1e6).toFixed(1), runs: rates.map(Math.round),
      };
      if (values.json) console.log(JSON.stringify(row));
      else {
        console.log(`${format.padEnd(9)} ${(wall / 1e6).toFixed(2)} M lines/s wall, ${(cpu / 1e6).toFixed(2)} M lines per CPU-second, ` +
          `${row.mbPerSecond} MB/s  (${lines} lines of ${values.workload}, ${t.objects} objects, ${(bytes / 1e6).toFixed(0)} MB, median of ${runs})`);
      }
    }
  } finally {
    if (!values.dir) rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}
