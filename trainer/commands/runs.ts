/** `coldrl runs`: lists the training runs, models and evaluations of the store (replay/store.ts). */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ColdrlError } from '../../replay/errors.js';
import { DEFAULT_DB, Store } from '../../replay/store.js';

export const summary = 'list training runs, models and evaluations in the store';

export function help(): string {
  return `coldrl runs [--db FILE] [--json]

Lists training runs (id, status, trace, seed, backend, start, end, and the last logged loss and hit ratio of
the training pass, exploration included: not a held-out figure), the models they exported (path, sha256)
and the evaluations recorded (policy, trace, cache size, hit ratios; held-out checks among them).

  --db FILE   store (default ./${DEFAULT_DB})
  --json      one JSON object: { runs, models, evaluations }`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { db: { type: 'string', default: DEFAULT_DB }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) { console.log(help()); return 0; }
  if (!existsSync(values.db!)) throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `runs: no store ${values.db}`);
  const store = new Store(values.db!);
  try {
    const runs = store.runs().map((r) => ({ ...r, hparams: JSON.parse(r.hparams) as unknown, last: store.lastMetrics(r.id) }));
    const models = store.models().map((m) => ({ ...m, metadata: JSON.parse(m.metadata) as unknown }));
    const evaluations = store.evaluations();
    if (values.json) { console.log(JSON.stringify({ runs, models, evaluations })); return 0; }
    console.log(`runs (${runs.length})`);
    for (const r of runs) {
      const l = r.last;
      console.log(`  ${String(r.id).padStart(4)}  ${r.status.padEnd(11)} seed ${r.seed}  ${r.backend.padEnd(6)} ${r.started} -> ${r.ended ?? '-'}  ` +
        `loss ${l['losses/td_loss']?.toFixed(4) ?? '-'} training hit ${l['charts/hit_ratio']?.toFixed(4) ?? '-'}  ${r.trace}`);
    }
    console.log(`models (${models.length})`);
    for (const m of models) console.log(`  ${String(m.id).padStart(4)}  run ${m.run ?? '-'}  ${m.sha256.slice(0, 12)}  ${m.path}`);
    console.log(`evaluations (${evaluations.length})`);
    for (const e of evaluations) {
      console.log(`  ${String(e.id).padStart(4)}  ${e.policy.padEnd(24)} ${e.cache_size.padEnd(6)} hit ${e.hit_ratio.toFixed(4)} byte ${e.byte_hit_ratio.toFixed(4)}  ${e.trace}`);
    }
    return 0;
  } finally {
    store.close();
  }
}
