import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ColdrlError, outputError } from '../../replay/errors.js';
import { DEFAULT_DB, Store } from '../../replay/store.js';
import { writeReport } from '../report/html.js';

export const summary = 'write an HTML report with charts from the store';

export function help(): string {
  return `coldrl report [--db FILE] [--out DIR]

Writes DIR/index.html with SVG charts beside it: hit ratio against cache size per policy (from the
evaluations), the training curve of every run, and the latest sidecar latency benchmark.

  --db FILE   store (default ./${DEFAULT_DB})
  --out DIR   output folder (default ./coldrl-report)`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { db: { type: 'string', default: DEFAULT_DB }, out: { type: 'string', default: 'coldrl-report' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { console.log(help()); return 0; }
  if (!existsSync(values.db!)) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${values.db}: no such store`);
  const store = new Store(values.db!);
  try {
    let r: ReturnType<typeof writeReport>;
    try { r = writeReport(store, values.out!); } catch (e) { throw outputError(e, values.out!, 'cannot write the report there'); }
    console.log(`report: ${r.html} (${r.images.length} charts)`);
  } finally {
    store.close();
  }
  return 0;
}
