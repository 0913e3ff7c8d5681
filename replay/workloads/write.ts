/**
 * Writes an in-memory trace as CSV (timestamp,obj_id,size,ttl,rtt,cacheable) or as an NGINX access log:
 * `nginx-json` in the cachetrain JSON format (nginx/cachetrain.conf), `nginx-combined` in cachetrain_text
 * (combined + $msec "$upstream_cache_status" $upstream_response_length $upstream_response_time
 * "$upstream_http_cache_control" "$upstream_http_expires" $upstream_status and three headers, empty). Every request is written as a MISS that carries
 * its upstream size and time (the log of a proxy that stored nothing yet), its TTL as
 * `Cache-Control: max-age=N`, an uncacheable one as `no-store`; keys are the request URIs (the log's
 * proxy_cache_key is $request_uri). Reading such a log back gives the same requests as the CSV.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ColdrlError } from '../errors.js';
import { FLAG_UNCACHEABLE, type Trace } from '../trace.js';

export type WorkloadFormat = 'csv' | 'nginx-json' | 'nginx-combined';
export const WORKLOAD_FORMATS: readonly WorkloadFormat[] = ['csv', 'nginx-json', 'nginx-combined'];

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const p3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** Milliseconds as nginx writes seconds with ms resolution ($msec, $upstream_response_time). */
export function msText(ms: number): string {
  const m = Math.round(ms);
  return `${Math.floor(m / 1000)}.${p3(m % 1000)}`;
}

/** Epoch seconds as $time_local in UTC: 14/Nov/2023:22:13:20 +0000. */
export function timeLocalText(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  return `${p2(d.getUTCDate())}/${MON[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

function cacheControl(t: Trace, i: number): string {
  if ((t.flags[i]! & FLAG_UNCACHEABLE) !== 0 || !(t.ttl[i]! > 0)) return 'no-store';
  return Number.isFinite(t.ttl[i]!) ? `max-age=${t.ttl[i]}` : '';
}

export function csvHeader(): string { return 'timestamp,obj_id,size,ttl,rtt,cacheable'; }

export function csvLine(t: Trace, i: number): string {
  const ttl = t.ttl[i]!;
  return `${t.time[i]},${t.key(t.id[i]!)},${t.size[i]},${Number.isFinite(ttl) ? ttl : ''},${t.rtt[i]},${(t.flags[i]! & FLAG_UNCACHEABLE) !== 0 ? 0 : 1}`;
}

export function jsonLine(t: Trace, i: number): string {
  const size = t.size[i]!, rtt = msText(t.rtt[i]!);
  return `{"ts":${msText(t.time[i]! * 1000)},"key":${JSON.stringify(String(t.key(t.id[i]!)))},"method":"GET","status":200,` +
    `"cache":"MISS","bytes_sent":${size + 312},"body_bytes":${size},"up_status":"200","up_len":"${size}","up_ct":"0.001",` +
    `"up_ht":"${rtt}","up_rt":"${rtt}","req_time":${rtt},"up_cc":"${cacheControl(t, i)}","up_expires":"",` +
    `"cc":"${cacheControl(t, i)}","expires":"","last_mod":"","clen":"${size}"}`;
}

export function textLine(t: Trace, i: number): string {
  const size = t.size[i]!;
  const cc = cacheControl(t, i);
  return `10.0.0.1 - - [${timeLocalText(t.time[i]!)}] "GET ${t.key(t.id[i]!)} HTTP/1.1" 200 ${size} "-" "coldrl-workload" ` +
    `${msText(t.time[i]! * 1000)} "MISS" ${size} ${msText(t.rtt[i]!)} "${cc || '-'}" "-" 200 "-" "-" "-"`;
}

/** Writes the trace to `out` in the given format (synchronously, in 1 MiB pieces). */
export function writeTrace(t: Trace, format: WorkloadFormat, out: string): void {
  const line = format === 'csv' ? csvLine : format === 'nginx-json' ? jsonLine : format === 'nginx-combined' ? textLine : null;
  if (!line) throw new ColdrlError('COLDRL_ERR_USAGE', `unknown output format "${format}" (known: ${WORKLOAD_FORMATS.join(', ')})`);
  let fd: number;
  try { fd = openSync(out, 'w'); } catch (e) {
    throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${out}: cannot write (${(e as Error).message})`);
  }
  try {
    let buf: string[] = format === 'csv' ? [csvHeader()] : [];
    let bytes = 0;
    for (let i = 0; i < t.length; i++) {
      const s = line(t, i);
      buf.push(s);
      bytes += s.length;
      if (bytes > 1 << 20) { writeSync(fd, `${buf.join('\n')}\n`); buf = []; bytes = 0; }
    }
    if (buf.length) writeSync(fd, `${buf.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
}
