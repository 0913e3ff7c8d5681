/**
 * The one policy registry: name -> factory. Adding a policy = one file in replay/policies/, one line here,
 * one golden test. Names are lowercase; a parameter may follow a colon (e.g. `ktail-oracle:32`).
 */
import { ColdrlError } from './errors.js';
import type { PolicyFactory, PolicyInfo, PolicyOptions } from './policy.js';
import { LruPolicy } from './policies/lru.js';
import { FifoPolicy } from './policies/fifo.js';
import { ClockPolicy } from './policies/clock.js';
import { SievePolicy } from './policies/sieve.js';
import { LfuPolicy } from './policies/lfu.js';
import { GdsfPolicy } from './policies/gdsf.js';
import { ArcPolicy } from './policies/arc.js';
import { S3FifoPolicy } from './policies/s3fifo.js';
import { SizePolicy } from './policies/size.js';
import { AdaptiveLruPolicy } from './policies/adaptive-lru.js';
import { HybridPolicy } from './policies/hybrid.js';
import { BeladyPolicy } from './policies/belady.js';
import { BeladySizePolicy } from './policies/belady-size.js';
import { KCandidatePolicy, parseKParam } from './policies/ktail.js';
import { idleSizeScorer, lruScorer, oracleScorer, oracleSizeScorer, ruleScorer } from './scorer.js';
import { modelKParam, modelScorer, prepareModel, preparedModel } from './model.js';

const POLICIES: PolicyInfo[] = [
  { name: 'lru', summary: 'least recently used (the NGINX default)', factory: (ctx) => new LruPolicy(ctx) },
  { name: 'fifo', summary: 'first in, first out', factory: (ctx) => new FifoPolicy(ctx) },
  { name: 'clock', summary: 'CLOCK / second chance, 1-bit (libCacheSim Clock)', factory: (ctx) => new ClockPolicy(ctx) },
  { name: 'sieve', summary: 'SIEVE (NSDI 24): FIFO with a moving hand and visited bits', factory: (ctx) => new SievePolicy(ctx) },
  { name: 'lfu', summary: 'least frequently used since insertion, FIFO among equals', factory: (ctx) => new LfuPolicy(ctx) },
  { name: 'gdsf', summary: 'greedy-dual-size-frequency: L + freq x 1e6 / size', factory: (ctx) => new GdsfPolicy(ctx) },
  { name: 'arc', summary: 'adaptive replacement cache, in bytes (libCacheSim ARC)', factory: (ctx) => new ArcPolicy(ctx) },
  { name: 's3fifo', summary: 'S3-FIFO, small queue 10%, 2 moves (s3fifo:RATIO to change)', factory: (ctx, o) => new S3FifoPolicy(ctx, o) },
  { name: 'size', summary: 'largest object first', factory: (ctx) => new SizePolicy(ctx) },
  { name: 'adaptive-lru', summary: 'LRU evicting objects over 50 KB first (adaptive-lru:BYTES)', factory: (ctx, o) => new AdaptiveLruPolicy(ctx, o) },
  { name: 'hybrid', summary: 'recency/size hybrid: max idle requests x size over size-class LRU tails', factory: (ctx) => new HybridPolicy(ctx) },
  { name: 'belady', summary: 'offline optimum: evict the farthest next use', offline: true, factory: (ctx) => new BeladyPolicy(ctx) },
  { name: 'belady-size', summary: 'offline: evict max (next use - now) x size, 128 samples (libCacheSim)', offline: true, factory: (ctx, o) => new BeladySizePolicy(ctx, o) },
  // K-candidate family: NAME[:K[:SOURCE]], K default 16, source default DEFAULT_SOURCE = overdue (replay/candidates.ts)
  { name: 'ktail', summary: 'K-candidate interface, LRU order over the candidates (equals LRU on the tail)', hidden: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, lruScorer, { ...parseKParam(o.param), seed: o.seed }) },
  { name: 'ktail-oracle', summary: 'K-candidate oracle: evict the candidate whose next use is farthest (ceiling of K-candidate designs)', offline: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, oracleScorer, { ...parseKParam(o.param), seed: o.seed }) },
  { name: 'ktail-oracle-size', summary: 'K-candidate oracle, size-aware: evict max (next use distance x size)', offline: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, oracleSizeScorer, { ...parseKParam(o.param), seed: o.seed }) },
  { name: 'ktail-rule', summary: 'K-candidate hand-written rule: evict lowest lifetime requests/(size x idle) (ablation baseline)', hidden: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, ruleScorer, { ...parseKParam(o.param), seed: o.seed }) },
  { name: 'ktail-idle-size', summary: 'K-candidate hand-written rule without frequency: evict max size x idle (hybrid over the candidates)', hidden: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, idleSizeScorer, { ...parseKParam(o.param), seed: o.seed }) },
  // the learned policy: coldrl:FILE[:K[:SOURCE]] (K and source default to the model's metadata); loaded by prepare()
  { name: 'coldrl', summary: 'learned policy: ONNX model from `coldrl train` over K candidates (coldrl:FILE[:K[:SOURCE]])', hidden: true,
    prepare: async (p) => { await prepareModel(p); },
    factory: (ctx, o) => new KCandidatePolicy(ctx, modelScorer(preparedModel(o.param)), { ...parseKParam(modelKParam(o.param)), seed: o.seed, lruUntil: o.modelFrom }) },
];

const byName = new Map(POLICIES.map((p) => [p.name, p]));

/** Adds a policy defined outside replay/ (e.g. the learned policy, whose model loader lives elsewhere). */
export function registerPolicy(info: PolicyInfo): void {
  if (byName.has(info.name)) throw new Error(`policy ${info.name} registered twice`);
  POLICIES.push(info);
  byName.set(info.name, info);
}

export function listPolicies(): readonly PolicyInfo[] {
  return POLICIES;
}

/** Splits "name:param" and finds the entry; unknown names get COLDRL_ERR_UNKNOWN_POLICY. */
export function findPolicy(spec: string): { info: PolicyInfo; opts: PolicyOptions } {
  const t = spec.trim();
  const colon = t.indexOf(':');
  const name = (colon >= 0 ? t.slice(0, colon) : t).toLowerCase();
  const info = byName.get(name);
  if (!info) {
    throw new ColdrlError('COLDRL_ERR_UNKNOWN_POLICY', `unknown policy "${name}" (known: ${POLICIES.map((p) => p.name).join(', ')})`);
  }
  return { info, opts: colon >= 0 ? { param: t.slice(colon + 1) } : {} };
}

export function policyFactory(spec: string): { factory: PolicyFactory; opts: PolicyOptions; info: PolicyInfo } {
  const { info, opts } = findPolicy(spec);
  return { factory: info.factory, opts, info };
}

/** Expands "all" and comma lists; checks every name. */
export function expandPolicies(list: string): string[] {
  const out: string[] = [];
  for (const raw of list.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    if (s.toLowerCase() === 'all') { for (const p of POLICIES) if (!p.hidden) out.push(p.name); continue; }
    findPolicy(s);
    out.push(s);
  }
  if (out.length === 0) throw new ColdrlError('COLDRL_ERR_UNKNOWN_POLICY', 'no policy given');
  return out;
}
