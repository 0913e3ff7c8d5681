/**
 * Golden tests against libCacheSim's published miss ratios (../shared/traces/README.md).
 * Exact policies must match request AND byte miss ratios to the 4th decimal; the others within 0.005.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSource } from '../../replay/formats/index.js';
import { loadTrace, type Trace } from '../../replay/trace.js';
import { replayTrace } from '../../replay/run.js';
import { TRACES } from '../helpers.js';

type Row = Record<string, [number, number][]>;
const FRACTIONS = [0.01, 0.05, 0.10, 0.25];

// [request miss, byte miss] at 0.01, 0.05, 0.10, 0.25 of unique bytes.
export const TRAGEN: Row = {
  lru: [[0.7376, 0.7387], [0.6792, 0.6799], [0.6646, 0.6659], [0.6512, 0.6525]],
  fifo: [[0.7391, 0.7402], [0.6801, 0.6808], [0.6652, 0.6665], [0.6515, 0.6529]],
  clock: [[0.7393, 0.7393], [0.6806, 0.6822], [0.6654, 0.6662], [0.6518, 0.6527]],
  sieve: [[0.7937, 0.7937], [0.7106, 0.7101], [0.6853, 0.6855], [0.6606, 0.6605]],
  lfu: [[0.9709, 0.9685], [0.9325, 0.9295], [0.8822, 0.8813], [0.7424, 0.7395]],
  gdsf: [[0.6921, 0.7737], [0.6597, 0.7069], [0.6512, 0.6822], [0.6436, 0.6570]],
  // ARC: libCacheSim's C crashes where a list it pops is empty; ours falls through to the other list there.
  arc: [[0.8951, 0.8939], [0.8486, 0.8463], [0.8113, 0.8104], [0.7182, 0.7160]],
  s3fifo: [[0.8217, 0.8223], [0.7255, 0.7268], [0.6895, 0.6905], [0.6525, 0.6538]],
  size: [[0.8069, 0.9708], [0.7416, 0.9238], [0.7052, 0.8778], [0.6617, 0.7614]],
  belady: [[0.6488, 0.6502], [0.6405, 0.6415], [0.6405, 0.6415], [0.6405, 0.6415]],
  // BeladySize samples 128 resident objects per eviction (as libCacheSim does) from our own seeded
  // generator, so it lands near, not on, libCacheSim's draw.
  'belady-size': [[0.6426, 0.6521], [0.6405, 0.6415], [0.6405, 0.6415], [0.6405, 0.6415]],
};
export const CLOUDPHYSICS: Row = {
  lru: [[0.8339, 0.9800], [0.8229, 0.9690], [0.8097, 0.9518], [0.7200, 0.8420]],
  fifo: [[0.8368, 0.9804], [0.8232, 0.9687], [0.8075, 0.9509], [0.7385, 0.8727]],
  clock: [[0.8328, 0.9798], [0.8224, 0.9690], [0.8086, 0.9520], [0.7172, 0.8390]],
  sieve: [[0.8231, 0.9776], [0.8108, 0.9608], [0.7903, 0.9296], [0.6756, 0.7944]],
  lfu: [[0.8231, 0.9776], [0.8108, 0.9608], [0.7903, 0.9296], [0.6756, 0.7944]],
  gdsf: [[0.8209, 0.9796], [0.7919, 0.9688], [0.7582, 0.9509], [0.6365, 0.8164]],
  arc: [[0.8222, 0.9769], [0.8022, 0.9461], [0.7688, 0.9026], [0.6543, 0.7578]],
  s3fifo: [[0.8229, 0.9766], [0.8031, 0.9479], [0.7356, 0.8619], [0.6742, 0.7529]],
  belady: [[0.8005, 0.9393], [0.7234, 0.8250], [0.6513, 0.7320], [0.5449, 0.5877]],
};
/** Policies held to the 4th decimal; every other policy in the tables is held to 0.005. */
const EXACT = new Set(['lru', 'fifo', 'clock', 'sieve']);

const cache = new Map<string, Promise<Trace>>();
function trace(name: string): Promise<Trace> {
  if (!cache.has(name)) cache.set(name, loadTrace(openSource(join(TRACES, name), 'csv')));
  return cache.get(name)!;
}

for (const [file, table] of [['tragen_cdn.csv', TRAGEN], ['cloudphysics_og.csv', CLOUDPHYSICS]] as const) {
  for (const [policy, expected] of Object.entries(table)) {
    test(`${policy} reproduces libCacheSim on ${file}`, async () => {
      const t = await trace(file);
      for (let k = 0; k < FRACTIONS.length; k++) {
        const cap = Math.floor(t.uniqueBytes * FRACTIONS[k]!);
        const r = await replayTrace(t, policy, cap, `${FRACTIONS[k]}`);
        const [miss, byteMiss] = expected[k]!;
        const tol = EXACT.has(policy) ? 0.00005 + 1e-12 : 0.005;
        assert.ok(Math.abs(r.missRatio - miss) <= tol, `${policy} ${file} @${FRACTIONS[k]}: miss ${r.missRatio.toFixed(5)} vs ${miss}`);
        assert.ok(Math.abs(r.byteMissRatio - byteMiss) <= tol, `${policy} ${file} @${FRACTIONS[k]}: byte miss ${r.byteMissRatio.toFixed(5)} vs ${byteMiss}`);
      }
    });
  }
}

test('unique bytes match the README', async () => {
  assert.equal((await trace('tragen_cdn.csv')).uniqueBytes, 120552986624);
  assert.equal((await trace('cloudphysics_og.csv')).uniqueBytes, 2029769728);
});
