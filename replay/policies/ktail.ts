/**
 * The K-candidate family: on each eviction, a candidate source (replay/candidates.ts; DEFAULT_SOURCE,
 * `large`, unless named; `tail` is the Cold-RL paper's) picks K resident objects, their features
 * (replay/features.ts) are computed, a scorer ranks them, and victims are taken by descending score until
 * the incoming object fits (selectVictims). The learned policy, the oracles and hand-written rules plug in as scorers.
 * Invariants: `recency` holds exactly the resident objects, most recent at the head; pool[0..poolSize) holds
 * exactly the resident ids with pos[id] their index. O(K) per eviction plus the scorer; O(1) per hit.
 */
import { FEATURE_COUNT, MAX_CANDIDATES } from '../features.js';
import { DList } from '../dlist.js';
import { Fenwick } from '../fenwick.js';
import { ColdrlError } from '../errors.js';
import { countBoundSource, DEFAULT_SOURCE, perObjectScores, selectVictims, SOURCES, type CandidateSource, type CandidateView } from '../candidates.js';
import type { Policy, SimContext } from '../policy.js';
import type { Scorer } from '../scorer.js';

export interface KCandidateOptions {
  k: number;
  source?: CandidateSource;
  seed?: number;
  /**
   * Evictions during requests before this one (SimContext.index) are plain LRU, not the scorer's (PolicyOptions.modelFrom):
   * the cache NGINX had before the model was switched on. Default 0: the scorer decides from the first.
   */
  lruUntil?: number;
}

/** Parses "K[:SOURCE]" (e.g. "32", "64:sample"); defaults K=16, source DEFAULT_SOURCE (docs/candidates.md). */
export function parseKParam(param: string | undefined): { k: number; source: CandidateSource } {
  const [kText, srcName] = (param ?? '').split(':');
  const k = kText ? Number(kText) : 16;
  if (!Number.isInteger(k) || k < 1 || k > MAX_CANDIDATES) throw new ColdrlError('COLDRL_ERR_USAGE', `K must be an integer in 1..${MAX_CANDIDATES} (got ${kText})`);
  const source = SOURCES[srcName ?? DEFAULT_SOURCE];
  if (!source) throw new ColdrlError('COLDRL_ERR_USAGE', `unknown candidate source "${srcName}" (known: ${Object.keys(SOURCES).join(', ')})`);
  return { k, source };
}

export class KCandidatePolicy implements Policy, CandidateView {
  readonly name: string;
  readonly async: boolean;
  readonly recency = new DList();
  pool = new Int32Array(0);
  poolSize = 0;
  private pos = new Int32Array(0);
  readonly k: number;
  readonly source: CandidateSource;
  /** Scratch buffers, allocated once. */
  readonly ids = new Int32Array(MAX_CANDIDATES);
  readonly features = new Float32Array(MAX_CANDIDATES * FEATURE_COUNT);
  readonly scores = new Float32Array(MAX_CANDIDATES);
  readonly sizes = new Float64Array(MAX_CANDIDATES);
  readonly victims = new Uint8Array(MAX_CANDIDATES);
  private readonly order = new Int32Array(MAX_CANDIDATES);
  private rng: number;
  /** Decisions taken (one per evict() call). */
  decisions = 0;
  private readonly lruUntil: number;

  constructor(protected readonly ctx: SimContext, readonly scorer: Scorer, opts: KCandidateOptions) {
    this.k = opts.k;
    this.source = opts.source ?? SOURCES[DEFAULT_SOURCE]!;
    this.bytes = this.source.weighted ? new Fenwick() : null;
    this.name = `k${this.k}-${this.source.name}-${scorer.name}`;
    this.async = scorer.async === true;
    this.rng = (opts.seed ?? 1) >>> 0 || 1;
    this.lruUntil = opts.lruUntil ?? 0;
  }

  get last(): Float64Array { return this.ctx.objects.last; }
  get size(): Float64Array { return this.ctx.objects.size; }
  get requests(): Float64Array { return this.ctx.objects.requests; }
  get first(): Float64Array { return this.ctx.objects.first; }
  get now(): number { return this.ctx.now; }
  /** Resident sizes by id, kept only for a source that draws by size. */
  readonly bytes: Fenwick | null;

  /** xorshift32 in [0, 1). */
  random(): number {
    let x = this.rng;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.rng = x;
    return x / 4294967296;
  }

  reserve(c: number): void {
    this.recency.reserve(c);
    this.bytes?.reserve(c);
    if (c > this.pool.length) {
      const p = new Int32Array(c); p.set(this.pool); this.pool = p;
      const q = new Int32Array(c); q.set(this.pos); this.pos = q;
    }
  }

  onHit(id: number): void { this.recency.moveToHead(id); }

  onInsert(id: number): void {
    this.recency.pushHead(id);
    this.pos[id] = this.poolSize;
    this.pool[this.poolSize++] = id;
    this.bytes?.add(id, this.ctx.objects.size[id]!);
  }

  onRemove(id: number): void {
    this.recency.unlink(id);
    this.bytes?.add(id, -this.bytes.weight(id));
    const i = this.pos[id]!;
    const lastId = this.pool[--this.poolSize]!;
    this.pool[i] = lastId;
    this.pos[lastId] = i;
  }

  /** Collects candidates (from `source`) and their features into the scratch buffers; returns n. */
  gather(source = this.source): number {
    const n = source.collect(this, this.k, this.ids);
    const o = this.ctx.objects;
    const now = this.ctx.now;
    for (let i = 0; i < n; i++) {
      const id = this.ids[i]!;
      o.features(id, now, this.features, i * FEATURE_COUNT);
      this.sizes[i] = o.size[id]!;
    }
    return n;
  }

  evict(need: number): void | Promise<void> {
    if (this.ctx.index < this.lruUntil) { this.evictLru(need); return; }
    const n = this.gather(this.ctx.countBound ? countBoundSource(this.source) : this.source);
    if (n === 0) throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.name}: nothing to evict`);
    this.decisions++;
    const r = this.scorer.score(this.ctx, this.ids, this.features, n, this.scores);
    if (r) return r.then(() => this.apply(n, need));
    this.apply(n, need);
  }

  /**
   * LRU, before lruUntil: the least recently used, one after another until `need` is met, K at most (as
   * selectVictims takes the `tail` source's candidates in LRU order); not a decision.
   */
  private evictLru(need: number): void {
    const size = this.ctx.objects.size;
    if (this.recency.tail < 0) throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.name}: nothing to evict`);
    let freed = 0;
    for (let k = 0; k < this.k && this.recency.tail >= 0; k++) {
      const id = this.recency.tail;
      freed += size[id]!;
      this.onRemove(id);
      this.ctx.evict(id);
      if (freed >= need) break;
    }
  }

  /** Evicts the victims chosen from the current scores. */
  apply(n: number, need: number): void {
    const sizeTerm = this.scorer.sizeTerm;
    if (sizeTerm && this.ctx.countBound) perObjectScores(this.scores, this.features, n, sizeTerm);
    this.take(n, need);
  }

  /** Evicts candidates by descending score until `need` is met (selectVictims). */
  private take(n: number, need: number): void {
    if (selectVictims(this.scores, this.sizes, n, need, this.victims, this.order) === 0) {
      throw new ColdrlError('COLDRL_ERR_MODEL', `${this.name}: every one of ${n} candidates was scored NaN: no victim`);
    }
    for (let i = 0; i < n; i++) if (this.victims[i] === 1) { this.onRemove(this.ids[i]!); this.ctx.evict(this.ids[i]!); }
  }

  check(): void {
    const o = this.ctx.objects;
    let n = 0;
    for (let id = this.recency.head; id >= 0; id = this.recency.next[id]!) {
      if (o.resident[id] !== 1) throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.name}: ${id} listed but not resident`);
      n++;
    }
    if (n !== this.recency.length || n !== this.poolSize) throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.name}: list ${n}, length ${this.recency.length}, pool ${this.poolSize}`);
    for (let i = 0; i < this.poolSize; i++) if (this.pos[this.pool[i]!] !== i) throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.name}: pool index broken at ${i}`);
    if (this.bytes) {
      let bytes = 0;
      for (let i = 0; i < this.poolSize; i++) bytes += o.size[this.pool[i]!]!;
      if (bytes !== this.bytes.total) throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.name}: ${this.bytes.total} weighted bytes for ${bytes} resident`);
    }
  }
}
