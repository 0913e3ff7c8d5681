/**
 * End-of-run self-checks shared by the policies: every failure is a ColdrlError 'COLDRL_ERR_INVARIANT'
 * naming the policy. Walks are O(n) and run once per replay, never per request.
 */
import { ColdrlError } from '../errors.js';
import type { DList } from '../dlist.js';
import type { IndexedHeap } from '../heap.js';
import type { SimContext } from '../policy.js';

export function fail(policy: string, msg: string): never {
  throw new ColdrlError('COLDRL_ERR_INVARIANT', `${policy}: ${msg}`);
}

/** Number of resident objects, recomputed from the object table. */
export function residentCount(ctx: SimContext): number {
  const r = ctx.objects.resident;
  let n = 0;
  for (let id = 0; id < ctx.objects.capacity; id++) if (r[id] === 1) n++;
  return n;
}

/**
 * Walks a list head to tail: links consistent both ways, member flags set, length and (when `sizeOf` is
 * given) byte total as recorded; `resident` = whether members must be resident (false for ghost lists).
 * Returns the number of members.
 */
export function checkList(ctx: SimContext, policy: string, label: string, list: DList, resident: boolean, sizeOf?: (id: number) => number): number {
  let n = 0;
  let bytes = 0;
  let prev = -1;
  for (let id = list.head; id >= 0; id = list.next[id]!) {
    if (list.prev[id] !== prev) fail(policy, `${label}: broken back link at ${id}`);
    if (list.member[id] !== 1) fail(policy, `${label}: ${id} linked but not marked a member`);
    if ((ctx.objects.resident[id] === 1) !== resident) fail(policy, `${label}: ${id} is ${resident ? 'not ' : ''}resident`);
    if (sizeOf) bytes += sizeOf(id);
    prev = id;
    if (++n > list.length) fail(policy, `${label}: longer than its length ${list.length} (cycle?)`);
  }
  if (prev !== list.tail) fail(policy, `${label}: tail ${list.tail} is not the last linked id ${prev}`);
  if (n !== list.length) fail(policy, `${label}: ${n} linked, length says ${list.length}`);
  if (sizeOf && bytes !== list.bytes) fail(policy, `${label}: ${bytes} B linked, byte count says ${list.bytes}`);
  return n;
}

/** Heap order, position index, every member resident and exactly the resident objects held. */
export function checkHeap(ctx: SimContext, policy: string, heap: IndexedHeap): void {
  const fault = heap.verify();
  if (fault) fail(policy, fault);
  heap.forEach((id) => { if (ctx.objects.resident[id] !== 1) fail(policy, `heap holds ${id}, which is not resident`); });
  const n = residentCount(ctx);
  if (heap.length !== n) fail(policy, `heap holds ${heap.length} objects, ${n} are resident`);
}

/** The listed objects are exactly the resident ones. */
export function checkCovers(ctx: SimContext, policy: string, listed: number): void {
  const n = residentCount(ctx);
  if (listed !== n) fail(policy, `${listed} objects listed, ${n} are resident`);
}
