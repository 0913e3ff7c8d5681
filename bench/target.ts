/**
 * `coldrl bench target`: how well a training label ranks the candidates when it is known exactly, with no
 * network (docs/training.md, "The hit-logit objective"). A learned policy can at best rank by its label's
 * conditional mean; if a lookup table of that mean ranks worse than a hand-written rule, no network trained
 * on the label will beat the rule.
 *
 * On the first half of a trace, `size x idle` over the K candidates (ktail-idle-size, the behaviour policy)
 * replays at the cache size, and every candidate's label is averaged per cell of (size octave, half-octave
 * of idle seconds, lifetime-request class: 40 x 48 x 6 cells). On the second half the table ranks the
 * candidates: evict the one with the fewest expected hits per byte, -mean(label) x weight. Labels, as in
 * trainer/dqn.ts: a candidate's next request at dt seconds, before its TTL ends, is worth
 *   soft  exp(-dt / span)      hard  1 if dt <= span, else 0
 * with span = horizon x the running mean idle time of victims; weights: `capped` = min(8, the candidates'
 * mean size / size) (objective q's per-byte weight), `size` = 1 / size. Beside the tables: `size x idle`
 * itself and rounded to the same cells (what the cells alone cost). Replays in nginx semantics.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Cache } from '../replay/cache.js';
import { ColdrlError } from '../replay/errors.js';
import { openSource } from '../replay/formats/index.js';
import { KCandidatePolicy, parseKParam, type KCandidateOptions } from '../replay/policies/ktail.js';
import type { SimContext } from '../replay/policy.js';
import { idleSizeScorer, type Scorer } from '../replay/scorer.js';
import { parseCacheSize, resolveCacheSize } from '../replay/size.js';
import { loadTrace, type Trace } from '../replay/trace.js';

export const summary = 'how well a training label ranks candidates when known exactly (a lookup table, no network)';

export function help(): string {
  return `coldrl bench target [options]

Builds a lookup table of a training label (its mean per size x idle x requests cell) on the first half of
a trace and evicts by it on the second half, with no network: the best any learned policy trained on that
label can rank. Beside it, the hand-written size x idle over the same candidates.

  --trace FILE      trace or log archive (default ../shared/traces/tragen_cdn.csv)
  --format NAME     its format (as coldrl replay --format; default: by file name)
  --cache-size S    of the evaluation half's unique bytes, or absolute (default 1%; the training half gets
                    the same share of its own)
  --k K             candidates (default 64)
  --candidates SRC  candidate source (default large)
  --horizons LIST   span of a hit, in running mean victim idle times (default 0.1,0.25,1,4)
  --labels LIST     soft, hard (default both)
  --weights LIST    capped (objective q's min(8, mean size / size)), size (1 / size) (default both)
  --json            one JSON line per measurement`;
}

const NS = 40, NI = 48, NR = 6, CELLS = NS * NI * NR;

/** The cell of a candidate: size octave, half-octave of idle seconds, lifetime-request class. */
function cellOf(o: SimContext['objects'], id: number, now: number): number {
  const s = Math.min(NS - 1, Math.floor(Math.log2(o.size[id]! + 1)));
  const i = Math.min(NI - 1, Math.floor(2 * Math.log2(now - o.last[id]! + 1)));
  const q = o.requests[id]!;
  const r = q <= 1 ? 0 : q <= 2 ? 1 : q <= 4 ? 2 : q <= 8 ? 3 : q <= 32 ? 4 : 5;
  return (s * NI + i) * NR + r;
}

type Label = 'soft' | 'hard';
interface Table { label: Label; horizon: number; sum: Float64Array; count: Float64Array }

/** The behaviour policy, recording every candidate's labels into the tables after each decision. */
class Recorder extends KCandidatePolicy {
  private idleMean = 0;
  constructor(ctx: SimContext, opts: KCandidateOptions, private readonly trace: Trace, private readonly tables: Table[]) {
    super(ctx, idleSizeScorer, opts);
  }

  override apply(n: number, need: number): void {
    super.apply(n, need);
    const ctx = this.ctx, o = ctx.objects, now = ctx.now, ids = this.ids;
    for (let j = 0; j < n; j++) if (this.victims[j] === 1) this.idleMean += 0.01 * (now - o.last[ids[j]!]! - this.idleMean);
    for (let j = 0; j < n; j++) {
      const id = ids[j]!;
      const u = ctx.nextUseOf[id]!;
      const t = u === Infinity ? Infinity : this.trace.time[u]!;
      const dt = t - now, cell = cellOf(o, id, now), live = t < o.expires[id]!;
      for (const tb of this.tables) {
        const span = Math.max(1e-9, tb.horizon * this.idleMean);
        tb.sum[cell] += !live ? 0 : tb.label === 'soft' ? Math.exp(-dt / span) : dt <= span ? 1 : 0;
        tb.count[cell]++;
      }
    }
  }
}

/** Evict by the table: the fewest expected (label) points per byte first. */
function tableScorer(tb: Table, weight: 'capped' | 'size'): Scorer {
  return {
    name: `table-${tb.label}-${tb.horizon}-${weight}`,
    score(ctx, ids, _f, n, out) {
      const o = ctx.objects;
      let mean = 0;
      for (let i = 0; i < n; i++) mean += o.size[ids[i]!]!;
      mean /= n;
      for (let i = 0; i < n; i++) {
        const id = ids[i]!, c = cellOf(o, id, ctx.now);
        // a cell seen fewer than 5 times leans on a small prior
        const p = tb.count[c]! >= 5 ? tb.sum[c]! / tb.count[c]! : (tb.sum[c]! + 0.01) / (tb.count[c]! + 1);
        out[i] = -p * (weight === 'capped' ? Math.min(8, mean / o.size[id]!) : 1 / o.size[id]!);
      }
    },
  };
}

/** size x idle rounded to the cells: what the cells' resolution alone costs. */
const roundedIdleSize: Scorer = {
  name: 'idle-size-rounded',
  score(ctx, ids, _f, n, out) {
    const o = ctx.objects;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      out[i] = Math.floor(Math.log2(o.size[id]! + 1)) + Math.floor(2 * Math.log2(ctx.now - o.last[id]! + 1)) / 2;
    }
  },
};

function list<T extends string>(text: string, allowed: readonly T[], flag: string): T[] {
  const got = text.split(',').filter(Boolean);
  for (const g of got) if (!allowed.includes(g as T)) throw new ColdrlError('COLDRL_ERR_USAGE', `bench target: ${flag} ${g}: one of ${allowed.join(', ')}`);
  return got as T[];
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string', default: join('..', 'shared', 'traces', 'tragen_cdn.csv') }, format: { type: 'string' },
      'cache-size': { type: 'string', default: '1%' }, k: { type: 'string', default: '64' }, candidates: { type: 'string', default: 'large' },
      horizons: { type: 'string', default: '0.1,0.25,1,4' }, labels: { type: 'string', default: 'soft,hard' }, weights: { type: 'string', default: 'capped,size' },
      json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) { console.log(help()); return 0; }
  const kp = parseKParam(`${v.k}:${v.candidates}`);
  const horizons = v.horizons!.split(',').filter(Boolean).map(Number);
  if (horizons.length === 0 || !horizons.every((h) => h > 0 && Number.isFinite(h))) throw new ColdrlError('COLDRL_ERR_USAGE', 'bench target: --horizons must be positive numbers');
  const labels = list(v.labels!, ['soft', 'hard'] as const, '--labels');
  const weights = list(v.weights!, ['capped', 'size'] as const, '--weights');
  const h = (await loadTrace(openSource(v.trace!, v.format))).halves();
  if (!h) throw new ColdrlError('COLDRL_ERR_USAGE', `bench target: ${v.trace}: too few requests to split in two halves`);
  const [train, test] = h;
  const size = parseCacheSize(v['cache-size']!);
  const capTrain = resolveCacheSize(size, train.uniqueBytes), capTest = resolveCacheSize(size, test.uniqueBytes);

  const tables: Table[] = [];
  for (const label of labels) for (const horizon of horizons) tables.push({ label, horizon, sum: new Float64Array(CELLS), count: new Float64Array(CELLS) });
  const rec = new Cache((ctx) => new Recorder(ctx, { ...kp, seed: 1 }, train, tables), { capacity: capTrain, semantics: 'nginx', nextUse: train.nextUse() });
  for (let i = 0; i < train.length; i++) rec.access(train, i);
  const cells = tables[0] ? tables[0].count.reduce((a, c) => a + (c > 0 ? 1 : 0), 0) : 0;

  const evaluate = (scorer: Scorer): number => {
    const c = new Cache((ctx) => new KCandidatePolicy(ctx, scorer, { ...kp, seed: 1 }), { capacity: capTest, semantics: 'nginx' });
    for (let i = 0; i < test.length; i++) c.access(test, i);
    return c.stats.hitRatio;
  };
  const where = `${v.trace}, second half at ${v['cache-size']} (${capTest} B), K=${kp.k} ${kp.source.name}`;
  const emit = (what: string, hitRatio: number, extra: Record<string, unknown> = {}) => {
    if (v.json) console.log(JSON.stringify({ trace: v.trace, cacheSize: v['cache-size'], cacheBytes: capTest, k: kp.k, candidates: kp.source.name, what, ...extra, hitRatio }));
    else console.log(`  ${what.padEnd(46)} ${hitRatio.toFixed(4)}`);
  };
  if (!v.json) {
    console.log(`${where}; tables from the first half under size x idle (hit ratio there ${rec.stats.hitRatio.toFixed(4)}, ${cells} cells seen)`);
  }
  emit('size x idle (ktail-idle-size)', evaluate(idleSizeScorer));
  emit('size x idle rounded to the cells', evaluate(roundedIdleSize));
  for (const tb of tables) {
    for (const weight of weights) emit(`table: ${tb.label} label, horizon ${tb.horizon}, weight ${weight}`, evaluate(tableScorer(tb, weight)), { label: tb.label, horizon: tb.horizon, weight });
  }
  return 0;
}
