import type { ObjectTable } from './objects.js';

/**
 * The policy interface: the steps of libCacheSim's cache_get_base loop that differ between policies.
 * The shared loop (replay/cache.ts) does lookup, expiry, admission size checks, byte accounting and stats;
 * a policy keeps only its own order/priority structures.
 *
 * Rules every policy keeps:
 *  - onInsert(id) is called after the object is marked resident and its state (size, created, ...) is set.
 *  - evict(need) removes AT LEAST ONE resident object, each through ctx.evict(id), which does the byte
 *    accounting; `need` is how many bytes are still missing for the incoming object (a hint: the loop calls
 *    evict again until the object fits).
 *  - onRemove(id) is called when the loop removes a resident object for its own reasons (TTL expiry,
 *    nginx `inactive`): drop it from the policy's structures, without calling ctx.evict.
 *  - No allocation per request: per-id state lives in typed arrays sized by reserve().
 */
export interface Policy {
  readonly name: string;
  /** Ids < capacity may appear; called before first use and whenever the object table grows. */
  reserve(capacity: number): void;
  onHit(id: number): void;
  onInsert(id: number): void;
  evict(need: number): void | Promise<void>;
  onRemove(id: number): void;
  /** Optional admission filter, asked on a miss before any eviction; false = do not store. */
  admit?(id: number, size: number): boolean;
  /** Optional self-check at the end of a run; throw ColdrlError('COLDRL_ERR_INVARIANT') on violation. */
  check?(): void;
  /** True when evict() may return a Promise (the loop then runs asynchronously). */
  readonly async?: boolean;
}

/** What a policy sees of the simulator. Fields are updated in place by the loop before each step. */
export interface SimContext {
  readonly objects: ObjectTable;
  /** Cache capacity in bytes. */
  readonly capacity: number;
  /** Bytes currently used. */
  readonly used: number;
  /** Time of the current request, seconds. */
  readonly now: number;
  /** nginx semantics: objects idle this many seconds leave the cache before the next request (0 = never). */
  readonly inactive: number;
  /** Index of the current request in the trace (0-based). */
  readonly index: number;
  /** Index of the next request for the current object (Infinity if none); only with next uses computed. */
  readonly nextUse: number;
  /** Next-use index of every resident object's last request (Infinity = never); only when computed. */
  readonly nextUseOf: Float64Array;
  /**
   * The eviction under way is for the keys zone's node count alone (replay/cache.ts keysLimit), not for
   * bytes: K-candidate policies then rank per object (replay/candidates.ts countBoundSource).
   */
  readonly countBound: boolean;
  /** Removes resident object `id` to make room (byte accounting, stats). Policies call this from evict(). */
  evict(id: number): void;
}

export interface PolicyOptions {
  /** Extra parameter text after a colon in the policy name, e.g. "ktail:16". */
  param?: string;
  /** Seed for policies that draw random numbers. */
  seed?: number;
  /**
   * The learned policy (`coldrl:FILE`) decides evictions from this request on (SimContext.index); before it
   * the cache evicts in LRU order, as NGINX did before the model was switched on (ReplayOptions.modelFrom).
   */
  modelFrom?: number;
}

export type PolicyFactory = (ctx: SimContext, opts: PolicyOptions) => Policy;

/** Registry entry: one line per policy in replay/registry.ts. */
export interface PolicyInfo {
  /** Name used on the command line (lowercase). */
  name: string;
  /** One-line description for --help. */
  summary: string;
  /** True when the policy needs next-use information (the whole trace in memory). */
  offline?: boolean;
  /** Left out of `--policy all` (needs a parameter such as a model path). */
  hidden?: boolean;
  factory: PolicyFactory;
  /** Optional async set-up before any cache is built (e.g. loading a model file); called with the parameter. */
  prepare?(param: string | undefined): Promise<void>;
}
