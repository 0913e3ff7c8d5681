import { parseArgs } from 'node:util';
import { ColdrlError } from '../errors.js';
import { WORKLOADS } from '../workloads/index.js';
import { WORKLOAD_FORMATS, writeTrace, type WorkloadFormat } from '../workloads/write.js';

export const summary = 'write a seeded workload (trap, cdn, video, loop, ...: coldrl workload --help lists them) as CSV or NGINX log';

export function help(): string {
  return `coldrl workload NAME --seed N --out FILE [--format csv|nginx-json|nginx-combined] [--requests N]

Generates a seeded, deterministic workload and writes it as a trace.

  NAME              ${Object.keys(WORKLOADS).join(' | ')}
  --seed N          seed (default 1)
  --out FILE        output file
  --format F        csv (timestamp,obj_id,size,ttl,rtt,cacheable; default), nginx-json (cachetrain JSON lines)
                    or nginx-combined (combined + cache fields: the cachetrain_text log_format)
  --requests N      number of requests (default: the workload's own)

Workloads:
${Object.entries(WORKLOADS).map(([k, w]) => `  ${k.padEnd(8)} ${w.summary} (${w.requests} requests)`).join('\n')}

Replay one: coldrl replay --trace FILE --format nginx --policy all --cache-size 25m --semantics nginx`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' }, out: { type: 'string' }, format: { type: 'string', default: 'csv' },
      requests: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) { console.log(help()); return 0; }
  const name = positionals[0];
  const w = name ? WORKLOADS[name] : undefined;
  if (!w) throw new ColdrlError('COLDRL_ERR_USAGE', `workload: name one of ${Object.keys(WORKLOADS).join(', ')}`);
  if (!values.out) throw new ColdrlError('COLDRL_ERR_USAGE', 'workload: --out FILE is required');
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new ColdrlError('COLDRL_ERR_USAGE', `workload: --seed must be an integer (got ${values.seed})`);
  const requests = values.requests !== undefined ? Number(values.requests) : w.requests;
  if (!Number.isInteger(requests) || requests < 1) throw new ColdrlError('COLDRL_ERR_USAGE', `workload: --requests must be a positive integer`);
  if (!WORKLOAD_FORMATS.includes(values.format as WorkloadFormat)) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `workload: --format must be one of ${WORKLOAD_FORMATS.join(', ')}`);
  }
  const t = w.generate(seed, requests);
  writeTrace(t, values.format as WorkloadFormat, values.out);
  let bytes = 0;
  for (let i = 0; i < t.length; i++) bytes += t.size[i]!;
  process.stderr.write(`${t.name}: ${t.length} requests, ${t.objects} objects, ${(t.uniqueBytes / 2 ** 20).toFixed(1)} MiB unique, ` +
    `${(bytes / 2 ** 30).toFixed(2)} GiB requested -> ${values.out} (${values.format})\n`);
  return 0;
}
