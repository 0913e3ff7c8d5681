/**
 * Feature parity between the module and replay/: the `coldrl features` lines a module logs
 * (coldrl_log_features on) against what replay/ computes from the same access log (Cache in nginx
 * semantics, replayed up to each decision's `now`).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Cache } from '../../replay/cache.js';
import { FEATURE_COUNT } from '../../replay/features.js';
import { openSource } from '../../replay/formats/index.js';
import type { LogReadOptions } from '../../replay/formats/nginx-source.js';
import { policyFactory } from '../../replay/registry.js';
import { loadTrace } from '../../replay/trace.js';
import { keysOf } from '../helpers.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** One logged candidate: its decision, the decision's time (ms), its key (md5 hex) and the features sent. */
export interface LoggedCandidate { decision: string; index: string; nowMs: number; key: string; sent: number[] }

export function loggedCandidates(errorLog: string): LoggedCandidate[] {
  const bits = new DataView(new ArrayBuffer(4));
  return errorLog.split('\n')
    .map((l) => /coldrl features (\d+) i:(\d+) now:(\d+) key:([0-9a-f]{32}) blocks:\d+ f:([0-9a-f,]+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      decision: m[1]!, index: m[2]!, nowMs: Number(m[3]), key: m[4]!,
      sent: m[5]!.split(',').map((h) => { bits.setUint32(0, parseInt(h, 16)); return bits.getFloat32(0); }),
    }));
}

/** Asserts every logged candidate's features equal replay/'s to 2e-6; returns how many were compared. */
export async function assertFeatureParity(errorLog: string, accessLog: string, read: LogReadOptions = {}): Promise<number> {
  const trace = await loadTrace(openSource(`nginx-json:${accessLog}`, undefined, read));
  const idOfMd5 = new Map(keysOf(trace).map((k, id) => [md5(String(k)), id]));
  const out = new Float32Array(FEATURE_COUNT);
  let compared = 0;
  for (const c of loggedCandidates(errorLog)) {
    const id = idOfMd5.get(c.key);
    assert.ok(id !== undefined, `candidate ${c.key} is in the access log`);
    const cache = new Cache(policyFactory('lru').factory, { capacity: 1e15, semantics: 'nginx' });
    for (let i = 0; i < trace.length && Math.round(trace.time[i]! * 1000) <= c.nowMs; i++) cache.access(trace, i);
    cache.objects.features(id, c.nowMs / 1000, out, 0);
    assert.equal(c.sent.length, FEATURE_COUNT);
    for (let f = 0; f < FEATURE_COUNT; f++) {
      assert.ok(Math.abs(c.sent[f]! - out[f]!) <= 2e-6, `decision ${c.decision} candidate ${c.index} feature ${f}: module ${c.sent[f]} vs replay ${out[f]}`);
    }
    compared++;
  }
  return compared;
}
