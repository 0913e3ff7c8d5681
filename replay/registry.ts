/**
 * The one policy registry: name -> factory. Adding a policy = one file in replay/policies/, one line here,
 * one golden test. Names are lowercase; a parameter may follow a colon (e.g. `ktail-oracle:32`).
 */
import { ColdrlError } from './errors.js';
import type { PolicyFactory, PolicyInfo, PolicyOptions } from './policy.js';
import { LruPolicy } from './policies/lru.js';
import { KCandidatePolicy, parseKParam } from './policies/ktail.js';
import { lruScorer, oracleScorer, oracleSizeScorer } from './scorer.js';

const POLICIES: PolicyInfo[] = [
  { name: 'lru', summary: 'least recently used (the NGINX default)', factory: (ctx) => new LruPolicy(ctx) },
  // K-candidate family: NAME[:K[:SOURCE]], K default 16, source default tail (replay/candidates.ts)
  { name: 'ktail', summary: 'K-candidate interface, LRU order over the candidates (equals LRU on the tail)', hidden: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, lruScorer, { ...parseKParam(o.param), seed: o.seed }) },
  { name: 'ktail-oracle', summary: 'K-candidate oracle: evict the candidate whose next use is farthest (ceiling of K-candidate designs)', offline: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, oracleScorer, { ...parseKParam(o.param), seed: o.seed }) },
  { name: 'ktail-oracle-size', summary: 'K-candidate oracle, size-aware: evict max (next use distance x size)', offline: true,
    factory: (ctx, o) => new KCandidatePolicy(ctx, oracleSizeScorer, { ...parseKParam(o.param), seed: o.seed }) },
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
