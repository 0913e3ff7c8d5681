/**
 * `coldrl bench learn`: trains the learned policy and evaluates it on data it has not seen, beside LRU, the
 * Cold-RL paper's five baselines (lru, lfu, size, adaptive-lru, hybrid), GDSF, Belady, the K-candidate
 * oracle (the ceiling of any policy over the same candidates) and the hand-written rule over the same
 * candidates (ktail-rule: the ablation). Prints the share of the LRU -> oracle gap the model closes.
 *   trap     trained on trap seed 1, evaluated on trap seed 2, one model per cache size (25m, 100m, 400m)
 *   tragen   ../shared/traces/tragen_cdn.csv: trained on the first half, evaluated on the second, 1% and 5%
 *   trace    any trace or log archive given with --trace (yours): the same half split, --trace-sizes
 * Training uses the newest stretch of the training half, as `coldrl train` does (--train-on recent; on
 * trap, tragen and CloudPhysics that is the whole half). Replays use nginx semantics, the training
 * environment's.
 * Long-running: a benchmark, never a test.
 */
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ColdrlError } from '../replay/errors.js';
import { logFormatName, logReadOptions, openSource, reportReader } from '../replay/formats/index.js';
import type { LogReadOptions } from '../replay/formats/nginx-source.js';
import type { NginxRules } from '../replay/cache.js';
import { replayTrace } from '../replay/run.js';
import { parseCacheSize, parseDuration, resolveCacheSize } from '../replay/size.js';
import { DEFAULT_DB, Store, storePath } from '../replay/store.js';
import { loadTrace, type Trace } from '../replay/trace.js';
import { trap } from '../replay/workloads/trap.js';
import { resolveBackend, type BackendName } from '../trainer/backend.js';
import { RECENT_EVICTIONS_PER_DECISION, runTraining } from '../trainer/training.js';
import { DEFAULT_HPARAMS, type HParams } from '../trainer/hparams.js';

export const summary = 'train and evaluate the learned policy on the reference workloads';

export function help(): string {
  return `coldrl bench learn [options]

  --only LIST       trap, tragen, trace (default: trap,tragen; with --trace: trace)
  --trap-sizes L    trap cache sizes (default 25m,100m,400m)
  --tragen-sizes L  tragen cache sizes, of the evaluation half's unique bytes (default 1%,5%)
  --traces DIR      folder holding tragen_cdn.csv (default ../shared/traces)
  --trace FILE      also (or, without --only, only) this trace or log archive: trained on its first half of
                    requests, evaluated on the second, like tragen
  --format NAME     its format (as coldrl replay --format; default: by file name)
  --log-format F, --nginx-conf FILE, --log-format-name N, --key-from K, --ignore-headers L, --cache-valid L,
                    --default-ttl TIME, --skip-bad
                    how its NGINX logs are read, as coldrl replay and coldrl train read them
  --inactive TIME   its proxy_cache_path inactive= (600, 10m), in training and in the evaluation
  --min-uses N      its proxy_cache_min_uses (default 1), in training and in the evaluation
  --trace-sizes L   its cache sizes, of the evaluation half's unique bytes or absolute (default 1%,5%)
  --steps N         decisions per training run (default ${DEFAULT_HPARAMS.totalDecisions})
  --k K             candidates (default ${DEFAULT_HPARAMS.k})
  --candidates SRC  candidate source (default ${DEFAULT_HPARAMS.candidates}); the rule and the oracle use it too
  --set LIST        other hyperparameters, name=value,... (trainer/hparams.ts names, e.g. gamma=0,hidden=32)
  --policies LIST   policies evaluated beside the model (default ${BASELINES.join(',')},rule,oracle);
                    rule, idle-size and oracle name the K-candidate ones over the model's K and source
  --seed S          training seed (default 1)
  --train-on WHICH  recent (default, as coldrl train): the newest stretch of the training half that gives LRU
                    ${RECENT_EVICTIONS_PER_DECISION} evictions per decision; all: the whole half from its first request
  --reward R        horizon (default) or paper; --ablate-reward also trains the other one
  --out DIR         where models go (default .)
  --db FILE         store for runs and evaluations (default ./${DEFAULT_DB}; none: no store)
  --backend B       tfjs backend (default wasm)
  --json            one JSON line per evaluation`;
}

const BASELINES = ['lru', 'lfu', 'size', 'adaptive-lru', 'hybrid', 'gdsf', 'belady'];

/** Applies "name=value,..." to a copy of hp: numbers, true/false, or strings, typed by the default's type. */
export function applySets(hp: HParams, list: string): HParams {
  const out = { ...hp } as Record<string, unknown>;
  for (const item of list.split(',').filter(Boolean)) {
    const [name, text] = item.split('=');
    if (!name || text === undefined || !(name in DEFAULT_HPARAMS)) throw new ColdrlError('COLDRL_ERR_USAGE', `bench learn: --set ${item}: unknown hyperparameter`);
    const kind = typeof DEFAULT_HPARAMS[name as keyof HParams];
    const v = kind === 'number' ? Number(text) : kind === 'boolean' ? text === 'true' : text;
    if (kind === 'number' && !Number.isFinite(v)) throw new ColdrlError('COLDRL_ERR_USAGE', `bench learn: --set ${item}: not a number`);
    if (kind === 'boolean' && text !== 'true' && text !== 'false') throw new ColdrlError('COLDRL_ERR_USAGE', `bench learn: --set ${item}: true or false`);
    out[name] = v;
  }
  return out as unknown as HParams;
}

interface Row { workload: string; size: string; policy: string; hitRatio: number; byteHitRatio: number; trainSeconds?: number }

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' }, trace: { type: 'string' }, format: { type: 'string' }, 'trace-sizes': { type: 'string', default: '1%,5%' }, 'trap-sizes': { type: 'string', default: '25m,100m,400m' },
      'tragen-sizes': { type: 'string', default: '1%,5%' }, traces: { type: 'string', default: '../shared/traces' },
      steps: { type: 'string' }, k: { type: 'string' }, candidates: { type: 'string' }, set: { type: 'string', default: '' },
      policies: { type: 'string', default: [...BASELINES, 'rule', 'oracle'].join(',') }, seed: { type: 'string', default: '1' }, reward: { type: 'string', default: 'horizon' },
      'ablate-reward': { type: 'boolean', default: false }, out: { type: 'string', default: '.' }, db: { type: 'string', default: DEFAULT_DB },
      backend: { type: 'string', default: 'wasm' }, 'train-on': { type: 'string', default: 'recent' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      'log-format': { type: 'string' }, 'nginx-conf': { type: 'string' }, 'log-format-name': { type: 'string' }, 'key-from': { type: 'string' }, 'ignore-headers': { type: 'string' }, 'cache-valid': { type: 'string' },
      'default-ttl': { type: 'string' }, 'skip-bad': { type: 'boolean', default: false }, inactive: { type: 'string' },
      'min-uses': { type: 'string' },
    },
    strict: true,
  });
  if (values.help) { console.log(help()); return 0; }
  const reward = values.reward as HParams['reward'];
  if (reward !== 'horizon' && reward !== 'paper') throw new ColdrlError('COLDRL_ERR_USAGE', 'bench learn: --reward must be horizon or paper');
  const trainOn = values['train-on'];
  if (trainOn !== 'recent' && trainOn !== 'all') throw new ColdrlError('COLDRL_ERR_USAGE', 'bench learn: --train-on must be recent or all');
  const base: HParams = applySets({
    ...DEFAULT_HPARAMS, seed: Number(values.seed), reward,
    ...(values.steps ? { totalDecisions: Number(values.steps) } : {}), ...(values.k ? { k: Number(values.k) } : {}),
    ...(values.candidates ? { candidates: values.candidates } : {}),
  }, values.set!);
  const kSpec = `${base.k}:${base.candidates}`;
  const named: Record<string, string> = { rule: `ktail-rule:${kSpec}`, 'idle-size': `ktail-idle-size:${kSpec}`, oracle: `ktail-oracle:${kSpec}` };
  const others = values.policies!.split(',').filter(Boolean).map((p) => named[p] ?? p);
  const only = new Set((values.only ?? (values.trace ? 'trace' : 'trap,tragen')).split(','));
  for (const w of only) if (w !== 'trap' && w !== 'tragen' && w !== 'trace') throw new ColdrlError('COLDRL_ERR_USAGE', `bench learn: --only ${w}: trap, tragen or trace`);
  if (only.has('trace') && !values.trace) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench learn: --only trace needs --trace FILE');
  const backend = await resolveBackend(values.backend as BackendName);
  const rows: Row[] = [];
  const db = storePath(values.db!);
  const store = db === null ? null : new Store(db);
  const notes: string[] = [];
  const emit = (r: Row) => { rows.push(r); if (values.json) console.log(JSON.stringify(r)); };

  const evaluate = async (workload: string, train: Trace, test: Trace, sizeText: string, rules: NginxRules = {}) => {
    const size = parseCacheSize(sizeText);
    const capTrain = resolveCacheSize(size, train.uniqueBytes);
    const cap = resolveCacheSize(size, test.uniqueBytes);
    if (capTrain >= train.uniqueBytes) {
      // the cache holds the whole training trace: no eviction happens, so there is nothing to learn (or decide)
      process.stderr.write(`${workload} ${sizeText}: the cache holds the whole training trace; no model trained\n`);
      notes.push(`${workload} ${sizeText}: no model trained (the cache holds the whole training trace: no eviction decision exists)`);
    }
    const rewards: HParams['reward'][] = values['ablate-reward'] ? [reward, reward === 'horizon' ? 'paper' : 'horizon'] : [reward];
    const policies: [string, string, number?][] = [];
    for (const rw of capTrain >= train.uniqueBytes ? [] : rewards) {
      const hp = { ...base, reward: rw };
      const out = join(values.out!, `learn-${workload}-${sizeText.replace('%', 'pct')}-${rw}-s${hp.seed}.onnx`);
      process.stderr.write(`training ${workload} ${sizeText} (${rw}, ${hp.totalDecisions} decisions, K=${hp.k})...\n`);
      const o = await runTraining({ hp, traceName: train.name, trace: train, capacity: capTrain, cacheSizeText: sizeText, inactive: rules.inactive, minUses: rules.minUses, out, db, backend: backend.backend, recent: trainOn === 'recent', progress: !values.json });
      policies.push([`coldrl:${out}`, `coldrl(${rw})`, o.result.seconds]);
    }
    for (const p of others) policies.push([p, p]);
    for (const [spec, label, secs] of policies) {
      const r = await replayTrace(test, spec, cap, sizeText, { semantics: 'nginx', ...rules });
      store?.addEvaluation({ run: null, model: spec.startsWith('coldrl:') ? spec.slice(7) : null, policy: label, trace: test.name, cacheSize: sizeText, cacheBytes: cap, hitRatio: r.hitRatio, byteHitRatio: r.byteHitRatio });
      emit({ workload, size: sizeText, policy: label, hitRatio: r.hitRatio, byteHitRatio: r.byteHitRatio, ...(secs !== undefined ? { trainSeconds: secs } : {}) });
    }
  };

  /** First half of the requests to train, second half to evaluate (the tragen protocol). */
  const halves = async (file: string, format?: string, read: LogReadOptions = {}): Promise<[Trace, Trace]> => {
    const src = openSource(file, format, read);
    let whole: Trace;
    try { whole = await loadTrace(src); } finally { reportReader(file, src.stats); }
    const h = whole.halves();
    if (!h) throw new ColdrlError('COLDRL_ERR_USAGE', `bench learn: ${file}: too few requests to split in two halves`);
    return h;
  };
  try {
    if (only.has('trap')) {
      const tr = trap(1), te = trap(2);
      tr.name = 'trap(seed 1)'; te.name = 'trap(seed 2)';
      for (const s of values['trap-sizes']!.split(',')) await evaluate('trap', tr, te, s);
    }
    if (only.has('tragen')) {
      const [tr, te] = await halves(join(values.traces!, 'tragen_cdn.csv'));
      for (const s of values['tragen-sizes']!.split(',')) await evaluate('tragen', tr, te, s);
    }
    if (only.has('trace')) {
      values['log-format-name'] = logFormatName('bench learn', values.trace!, values.format, { nginxConf: values['nginx-conf'], logFormatName: values['log-format-name'], logFormat: values['log-format'] });
      if (values['nginx-conf'] !== undefined && values['log-format-name'] === undefined) {
        throw new ColdrlError('COLDRL_ERR_USAGE', 'bench learn: --nginx-conf needs --log-format-name (its access_log names no log_format it defines, or several)');
      }
      const read: LogReadOptions = {
        skipBad: values['skip-bad'], ...logReadOptions(values),
        ...(values['default-ttl'] !== undefined ? { defaultTtl: parseDuration(values['default-ttl'], 'bench learn: --default-ttl') } : {}),
      };
      const inactive = values.inactive === undefined ? 0 : parseDuration(values.inactive, 'bench learn: --inactive');
      const minUses = values['min-uses'] === undefined ? 1 : Number(values['min-uses']);
      if (!(Number.isInteger(minUses) && minUses >= 1)) throw new ColdrlError('COLDRL_ERR_USAGE', `bench learn: --min-uses must be an integer >= 1 (got ${values['min-uses']})`);
      const [tr, te] = await halves(values.trace!, values.format, read);
      const name = basename(values.trace!).replace(/[*?[\]]/g, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'trace';
      for (const s of values['trace-sizes']!.split(',')) await evaluate(name, tr, te, s, { inactive, minUses });
    }
  } finally {
    store?.close();
  }
  if (!values.json) { printSummary(rows, kSpec); for (const n of notes) console.log(`\nnote: ${n}`); }
  return 0;
}

function printSummary(rows: Row[], kSpec: string): void {
  const groups = new Map<string, Row[]>();
  for (const r of rows) { const key = `${r.workload} ${r.size}`; if (!groups.has(key)) groups.set(key, []); groups.get(key)!.push(r); }
  for (const [key, rs] of groups) {
    const lru = rs.find((r) => r.policy === 'lru')?.hitRatio ?? NaN;
    const oracle = rs.find((r) => r.policy === `ktail-oracle:${kSpec}`)?.hitRatio ?? NaN;
    console.log(`\n${key}  (share of the LRU -> K=${kSpec} oracle gap closed; nginx semantics)`);
    for (const r of rs) {
      const gap = oracle > lru ? ((r.hitRatio - lru) / (oracle - lru) * 100).toFixed(1) + '%' : '-';
      console.log(`  ${r.policy.padEnd(26)} hit ${r.hitRatio.toFixed(4)}  byte ${r.byteHitRatio.toFixed(4)}  gap ${gap.padStart(7)}${r.trainSeconds !== undefined ? `  trained in ${r.trainSeconds.toFixed(0)} s` : ''}`);
    }
  }
}
