import { ColdrlError } from './errors.js';
import { ObjectTable } from './objects.js';
import type { Policy, PolicyFactory, PolicyOptions, SimContext } from './policy.js';
import { FLAG_NO_LOOKUP, FLAG_UNCACHEABLE, type RequestBatch } from './trace.js';

/**
 * The one shared access loop (libCacheSim's cache_get_base): find -> can it be stored? -> evict until it
 * fits -> insert. Policies implement only the steps (replay/policy.ts).
 *
 * Two semantics:
 *  - plain: the rules of ../shared/traces/README.md. A hit needs only the id to be resident; the object keeps
 *    the size it was inserted with; an object larger than the cache is a miss and is not inserted; no TTL.
 *  - nginx: like plain, plus per-object TTL (a request for an object whose TTL has passed is a miss, counted
 *    as `expired`, that refetches and re-stores it with the new size and TTL), optional `inactive` expiry
 *    (an object not requested for `inactive` seconds is removed before the next request is served, as
 *    NGINX's cache manager does), an optional keys-zone node limit (below), and uncacheable
 *    requests/responses (flag bit, or TTL <= 0), which store nothing: a request that skips the cache
 *    (FLAG_NO_LOOKUP) is a miss and does not touch the resident copy; an uncacheable response finds a fresh
 *    copy a hit (NGINX serves it without asking the upstream), an expired one a miss that removes it (NGINX
 *    leaves the stale file until the manager removes it); and
 *    optional proxy_cache_min_uses (below).
 *
 * proxy_cache_min_uses (nginx semantics, `minUses` > 1): NGINX counts the requests for a key in its keys-zone
 * node, created by the first request, and stores a response only once its node has counted `minUses`
 * (ngx_http_file_cache_exists: NGX_HTTP_CACHE_SCARCE before that). The node goes with the cached object
 * (evicted, removed by `inactive` or by a full keys zone) and, while nothing is cached, after `inactive`
 * seconds without a request; an expired copy keeps it, so its refetch is stored. An uncacheable request
 * counts a use too, as the lookup came before the response that was not stored, unless it never reached the
 * lookup (FLAG_NO_LOOKUP: a method NGINX does not cache, proxy_cache_bypass). Uncached nodes take no room
 * in the simulated keys zone (in NGINX they do, with minUses > 1 only: with 1, ngx_http_file_cache_free
 * frees such a node when its request ends).
 *
 * The keys zone (nginx semantics, `keysLimit`: keysZoneNodes() of proxy_cache_path's keys_zone size) holds
 * one node per cached object. The first time a new object finds it full, NGINX's worker removes the LRU
 * tail itself (forced_expire: the policy has no say) and sets the node watermark to 7/8 of the count; from
 * then on the cache manager evicts, through the policy, whenever the count reaches the watermark
 * (ngx_http_file_cache_exists, _set_watermark and _manager). Like max_size, that is simulated at once,
 * before the new object is stored, rather than on the manager's next run.
 */
export type Semantics = 'plain' | 'nginx';

export interface CacheOptions {
  capacity: number;
  semantics?: Semantics;
  /** nginx semantics: remove objects idle for this many seconds (proxy_cache_path inactive=); 0 = off. */
  inactive?: number;
  /** nginx semantics: the keys zone's node limit (keysZoneNodes); 0 = unbounded. */
  keysLimit?: number;
  /** nginx semantics: proxy_cache_min_uses, the requests a key needs before a response is stored; default 1. */
  minUses?: number;
  /** Next-use index per request (Trace.nextUse()), needed by offline policies. */
  nextUse?: Float64Array | null;
}

/** What NGINX's configuration adds to the simulated cache, nginx semantics only (each off when absent). */
export type NginxRules = Pick<CacheOptions, 'inactive' | 'keysLimit' | 'minUses'>;

export class CacheStats {
  requests = 0;
  hits = 0;
  bytesRequested = 0;
  byteHits = 0;
  evictions = 0;
  /** Misses on resident objects whose TTL had passed (nginx semantics). */
  expired = 0;
  /** Objects removed by `inactive` (nginx semantics). */
  inactiveRemovals = 0;
  /**
   * LRU-tail objects removed because the keys zone was full (nginx semantics, keysLimit): at most one a run,
   * and not zeroed by a warm-up's end (reset), so that it says whether the zone filled at all.
   */
  zoneFull = 0;
  /** Requests that could not be cached (not stored). */
  uncacheable = 0;
  /** Misses for objects larger than the cache (not stored). */
  tooLarge = 0;
  /** Misses whose key had fewer than proxy_cache_min_uses requests (not stored; nginx's SCARCE). */
  scarce = 0;
  /** Misses the policy's admission filter refused. */
  notAdmitted = 0;
  get hitRatio(): number { return this.requests ? this.hits / this.requests : 0; }
  get byteHitRatio(): number { return this.bytesRequested ? this.byteHits / this.bytesRequested : 0; }
  /** Zeroes every count (Cache.startCounting). */
  reset(): void {
    this.requests = this.hits = this.bytesRequested = this.byteHits = this.evictions = 0;
    this.expired = this.inactiveRemovals = this.uncacheable = this.tooLarge = this.notAdmitted = this.scarce = 0;
  }
}

export class Cache implements SimContext {
  readonly objects = new ObjectTable();
  readonly capacity: number;
  readonly semantics: Semantics;
  readonly inactive: number;
  readonly keysLimit: number;
  readonly minUses: number;
  /** minUses > 1: each key's keys-zone node, its requests (0: no node) and its last request's time. */
  private nodeUses = new Uint32Array(0);
  private nodeSeen = new Float64Array(0);
  /** The node count the manager keeps the cache below, once the keys zone has been full. */
  private watermark = Infinity;
  /** SimContext.countBound: set around each eviction. */
  countBound = false;
  readonly stats = new CacheStats();
  readonly policy: Policy;
  used = 0;
  now = 0;
  index = 0;
  /** cache.index when the counts were last zeroed (startCounting). */
  private countedFrom = 0;
  nextUse = Infinity;
  nextUseOf = new Float64Array(0);
  private readonly nextUses: Float64Array | null;
  /** Resident objects and bytes, recomputed independently for the end-of-run check. */
  private residentCount = 0;
  /** Objects in the cache now. */
  get residents(): number { return this.residentCount; }
  // Recency list over all resident objects, kept only for `inactive` expiry and the keys zone's LRU
  // removals (index-based, no allocation).
  private readonly recency: boolean;
  private rPrev = new Int32Array(0);
  private rNext = new Int32Array(0);
  private rHead = -1;
  private rTail = -1;

  constructor(factory: PolicyFactory, opts: CacheOptions, popts: PolicyOptions = {}) {
    if (!(opts.capacity > 0)) throw new ColdrlError('COLDRL_ERR_BAD_CACHE_SIZE', `cache capacity must be positive (got ${opts.capacity})`);
    this.capacity = opts.capacity;
    this.semantics = opts.semantics ?? 'plain';
    this.inactive = this.semantics === 'nginx' ? opts.inactive ?? 0 : 0;
    this.keysLimit = this.semantics === 'nginx' ? opts.keysLimit ?? 0 : 0;
    if (!(this.keysLimit >= 0 && Number.isInteger(this.keysLimit))) throw new ColdrlError('COLDRL_ERR_BAD_CACHE_SIZE', `keys zone node limit must be a whole number (got ${opts.keysLimit})`);
    this.minUses = this.semantics === 'nginx' ? opts.minUses ?? 1 : 1;
    if (!(this.minUses >= 1 && Number.isInteger(this.minUses))) throw new ColdrlError('COLDRL_ERR_USAGE', `proxy_cache_min_uses must be a whole number >= 1 (got ${opts.minUses})`);
    this.recency = this.inactive > 0 || this.keysLimit > 0;
    this.nextUses = opts.nextUse ?? null;
    this.policy = factory(this, popts);
    this.reserve(this.objects.capacity);
  }

  private reserve(c: number): void {
    if (this.nextUses) {
      const b = new Float64Array(c).fill(Infinity);
      b.set(this.nextUseOf.subarray(0, Math.min(this.nextUseOf.length, c)));
      this.nextUseOf = b;
    }
    if (this.minUses > 1) {
      const u = new Uint32Array(c); u.set(this.nodeUses); this.nodeUses = u;
      const t = new Float64Array(c); t.set(this.nodeSeen); this.nodeSeen = t;
    }
    if (this.recency) {
      const p = new Int32Array(c).fill(-1); p.set(this.rPrev); this.rPrev = p;
      const n = new Int32Array(c).fill(-1); n.set(this.rNext); this.rNext = n;
    }
    this.policy.reserve(c);
  }

  /** Removes resident `id` to make room. Called by policies from evict(). */
  evict(id: number): void {
    const o = this.objects;
    if (o.resident[id] !== 1) throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.policy.name}: evicted object ${id} is not resident`);
    this.drop(id);
    this.stats.evictions++;
  }

  private drop(id: number): void {
    const o = this.objects;
    o.resident[id] = 0;
    this.used -= o.size[id]!;
    this.residentCount--;
    if (this.recency) this.unlinkRecency(id);
    if (this.minUses > 1) this.nodeUses[id] = 0; // the keys-zone node goes with the object
  }

  /** Removes a resident object for the loop's own reasons (expiry); the policy forgets it. */
  private remove(id: number): void {
    this.policy.onRemove(id);
    this.drop(id);
  }

  /** Serves request i of batch b. Returns true on a hit. Synchronous policies only. */
  access(b: RequestBatch, i: number): boolean {
    const id = this.begin(b, i);
    if (this.lookup(b, i, id)) return true;
    const size = b.size[i]!;
    if (!this.canStore(b, i, id, size)) return false;
    const policy = this.policy;
    if (this.residentCount >= this.keysLimit && this.keysLimit > 0) this.zoneFull();
    while (this.mustEvict(size)) {
      this.countBound = this.used + size <= this.capacity;
      policy.evict(Math.max(1, this.used + size - this.capacity));
    }
    this.insert(b, i, id, size);
    return false;
  }

  /** Same as access() for policies whose evict() may be asynchronous (a model behind onnxruntime). */
  async accessAsync(b: RequestBatch, i: number): Promise<boolean> {
    const id = this.begin(b, i);
    if (this.lookup(b, i, id)) return true;
    const size = b.size[i]!;
    if (!this.canStore(b, i, id, size)) return false;
    const policy = this.policy;
    if (this.residentCount >= this.keysLimit && this.keysLimit > 0) this.zoneFull();
    while (this.mustEvict(size)) {
      this.countBound = this.used + size <= this.capacity;
      const r = policy.evict(Math.max(1, this.used + size - this.capacity));
      if (r) await r;
    }
    this.insert(b, i, id, size);
    return false;
  }

  /** Storing `size` more bytes needs an eviction first: max_size, or the node watermark (count < it after). */
  private mustEvict(size: number): boolean {
    return this.used + size > this.capacity || (this.residentCount > 0 && this.residentCount + 1 >= this.watermark);
  }

  /** A worker found the keys zone full: the watermark is set and the LRU tail removed, whatever the policy. */
  private zoneFull(): void {
    const n = this.residentCount;
    this.watermark = n - Math.floor(n / 8);
    this.stats.zoneFull++;
    this.remove(this.rTail);
  }

  private begin(b: RequestBatch, i: number): number {
    const id = b.id[i]!;
    const o = this.objects;
    if (id >= o.capacity) {
      o.ensure(id + 1);
      this.reserve(o.capacity);
    }
    const now = b.time[i]!;
    this.now = now;
    this.nextUse = this.nextUses ? this.nextUses[this.index]! : Infinity;
    const st = this.stats;
    st.requests++;
    st.bytesRequested += b.size[i]!;
    if (o.requests[id]++ === 0) o.first[id] = now;
    if (this.inactive > 0) {
      const limit = now - this.inactive;
      while (this.rTail >= 0 && o.last[this.rTail]! <= limit) {
        st.inactiveRemovals++;
        this.remove(this.rTail);
      }
    }
    return id;
  }

  /** Hit path; returns false when the request must be served as a miss. */
  private lookup(b: RequestBatch, i: number, id: number): boolean {
    const o = this.objects;
    if (o.resident[id] !== 1) return false;
    if (this.semantics === 'nginx') {
      // a request that skips the cache (a method it does not serve, proxy_cache_bypass); a response that
      // would not be stored is never fetched while a fresh copy is there: that one is a hit
      if ((b.flags[i]! & FLAG_NO_LOOKUP) !== 0) return false;
      if (o.expires[id]! <= this.now) {
        this.stats.expired++;
        this.remove(id);
        if (this.minUses > 1) { // NGINX keeps the node, fresh (not idle: `inactive` spared the copy): the refetch is stored
          this.nodeUses[id] = this.minUses;
          this.nodeSeen[id] = this.now;
        }
        return false;
      }
    }
    const st = this.stats;
    st.hits++;
    st.byteHits += b.size[i]!;
    o.prev[id] = o.last[id]!;
    o.last[id] = this.now;
    o.hits[id]++;
    if (this.nextUses) this.nextUseOf[id] = this.nextUse;
    if (this.recency) { this.unlinkRecency(id); this.pushRecency(id); }
    this.policy.onHit(id);
    this.index++;
    return true;
  }

  private canStore(b: RequestBatch, i: number, id: number, size: number): boolean {
    const st = this.stats;
    if (this.semantics === 'nginx' && ((b.flags[i]! & FLAG_UNCACHEABLE) !== 0 || !(b.ttl[i]! > 0))) {
      if (this.minUses > 1 && (b.flags[i]! & FLAG_NO_LOOKUP) === 0) this.usedEnough(id);
      st.uncacheable++;
      this.index++;
      return false;
    }
    if (!(size > 0)) throw new ColdrlError('COLDRL_ERR_BAD_SIZE', `request ${this.index}: size must be positive (got ${size})`);
    if (this.minUses > 1 && !this.usedEnough(id)) {
      st.scarce++;
      this.index++;
      return false;
    }
    if (size > this.capacity) {
      st.tooLarge++;
      this.index++;
      return false;
    }
    const admit = this.policy.admit;
    if (admit !== undefined && !admit.call(this.policy, id, size)) {
      st.notAdmitted++;
      this.index++;
      return false;
    }
    return true;
  }

  /** Counts a request in the key's keys-zone node (a new one if it had none, or was idle `inactive` s): enough to store? */
  private usedEnough(id: number): boolean {
    const now = this.now;
    if (this.inactive > 0 && this.nodeSeen[id]! <= now - this.inactive) this.nodeUses[id] = 0;
    this.nodeSeen[id] = now;
    return ++this.nodeUses[id]! >= this.minUses;
  }

  private insert(b: RequestBatch, i: number, id: number, size: number): void {
    const o = this.objects;
    const now = this.now;
    o.resident[id] = 1;
    o.size[id] = size;
    o.created[id] = now;
    o.last[id] = now;
    o.prev[id] = -1;
    o.hits[id] = 0;
    o.expires[id] = this.semantics === 'nginx' ? now + b.ttl[i]! : Infinity;
    o.rtt[id] = b.rtt[i]!;
    this.used += size;
    this.residentCount++;
    if (this.nextUses) this.nextUseOf[id] = this.nextUse;
    if (this.recency) this.pushRecency(id);
    this.policy.onInsert(id);
    this.index++;
  }

  private pushRecency(id: number): void {
    this.rPrev[id] = -1;
    this.rNext[id] = this.rHead;
    if (this.rHead >= 0) this.rPrev[this.rHead] = id; else this.rTail = id;
    this.rHead = id;
  }

  private unlinkRecency(id: number): void {
    const p = this.rPrev[id]!;
    const n = this.rNext[id]!;
    if (p >= 0) this.rNext[p] = n; else this.rHead = n;
    if (n >= 0) this.rPrev[n] = p; else this.rTail = p;
    this.rPrev[id] = -1;
    this.rNext[id] = -1;
  }

  /** Zeroes the counts: the requests after this one are counted alone (the end of a warm-up). */
  startCounting(): void {
    this.stats.reset();
    this.countedFrom = this.index;
  }

  /** End-of-run invariants: used bytes within capacity and equal to the recomputed resident total. */
  check(): void {
    const o = this.objects;
    let bytes = 0;
    let count = 0;
    for (let id = 0; id < o.capacity; id++) if (o.resident[id] === 1) { bytes += o.size[id]!; count++; }
    const fail = (m: string) => { throw new ColdrlError('COLDRL_ERR_INVARIANT', `${this.policy.name}: ${m}`); };
    if (this.used > this.capacity) fail(`used ${this.used} B above capacity ${this.capacity} B`);
    if (bytes !== this.used) fail(`used bytes ${this.used} differ from recomputed ${bytes}`);
    if (count !== this.residentCount) fail(`resident count ${this.residentCount} differs from recomputed ${count}`);
    if (this.keysLimit > 0 && (count > this.keysLimit || count >= this.watermark)) fail(`${count} objects above the keys zone's ${Math.min(this.keysLimit, this.watermark - 1)}`);
    const st = this.stats;
    if (st.hits > st.requests || st.byteHits > st.bytesRequested) fail('hits above requests');
    if (this.index - this.countedFrom !== st.requests) fail(`served ${this.index - this.countedFrom} of ${st.requests} requests`);
    this.policy.check?.();
  }
}
