/**
 * The K-candidate interface: "here are K resident objects with their features; which of them go?".
 * The learned policy (replay/policies/ktail.ts with a model scorer), the sidecar and the NGINX module all
 * speak it. Candidates are always ordered OLDEST LAST ACCESS FIRST (index 0 = least recently used), whatever
 * source picked them, so "plain LRU" over a candidate set is always "take them in order".
 *
 * Victim selection (the one rule everyone applies to scores): visit candidates by descending score (ties:
 * lower index first), evicting each, until the freed bytes reach `need`; at least one victim. With no scores
 * (fallback), visit in index order: that is LRU over the candidates.
 *
 * Candidate sources (pluggable, named) state their cost per eviction:
 *  - tail    the K least-recently-used resident objects (the paper's design). O(K).
 * More sources (uniform sample, mixed) are added in this file's SOURCES table.
 */
import type { DList } from './dlist.js';

/** What a source reads from the K-candidate policy: the recency list and a dense pool of resident ids. */
export interface CandidateView {
  /** Recency order of resident objects (head = most recent, tail = least recent). */
  readonly recency: DList;
  /** Dense array of resident ids (for O(1) uniform sampling); pool[0 .. poolSize). */
  readonly pool: Int32Array;
  readonly poolSize: number;
  /** Last access time per id (seconds) for ordering samples oldest first. */
  readonly last: Float64Array;
  /** Uniform random number in [0, 1), seeded. */
  random(): number;
}

export interface CandidateSource {
  readonly name: string;
  /** Writes up to k distinct resident ids into out[0..], oldest last access first; returns how many. */
  collect(view: CandidateView, k: number, out: Int32Array): number;
}

/** The K least-recently-used objects: walk the recency list from its tail. Cost O(K). */
export const tailSource: CandidateSource = {
  name: 'tail',
  collect(view, k, out) {
    const r = view.recency;
    let n = 0;
    for (let id = r.tail; id >= 0 && n < k; id = r.prev[id]!) out[n++] = id;
    return n;
  },
};

export const SOURCES: Record<string, CandidateSource> = { tail: tailSource };

/**
 * Applies the victim rule. scores may be null (fallback: index order). sizes[i] = bytes of candidate i.
 * Writes victim flags (1 = evict) into victims[0..n) and returns the number of victims.
 * No allocation: `order` is scratch space of at least n entries.
 */
export function selectVictims(scores: Float32Array | null, sizes: Float64Array, n: number, need: number,
  victims: Uint8Array, order: Int32Array): number {
  for (let i = 0; i < n; i++) { victims[i] = 0; order[i] = i; }
  if (scores) {
    // insertion sort by descending score, stable (n <= 64)
    for (let i = 1; i < n; i++) {
      const v = order[i]!;
      const s = scores[v]!;
      let j = i - 1;
      while (j >= 0 && scores[order[j]!]! < s) { order[j + 1] = order[j]!; j--; }
      order[j + 1] = v;
    }
  }
  let freed = 0;
  let count = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r]!;
    if (scores && Number.isNaN(scores[i]!)) continue;
    victims[i] = 1;
    count++;
    freed += sizes[i]!;
    if (freed >= need) break;
  }
  return count;
}
