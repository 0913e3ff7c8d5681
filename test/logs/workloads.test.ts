/** Seeded workloads: determinism, the trap workload's published shape, and exact round trips through logs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSource } from '../../replay/formats/index.js';
import { loadTrace, type Trace } from '../../replay/trace.js';
import { WORKLOADS } from '../../replay/workloads/index.js';
import { writeTrace } from '../../replay/workloads/write.js';
import { runCli, tempDir } from '../helpers.js';

function columns(t: Trace) {
  const n = t.length;
  return {
    time: Array.from(t.time.subarray(0, n)), key: Array.from(t.id.subarray(0, n), (id) => t.key(id)),
    size: Array.from(t.size.subarray(0, n)), ttl: Array.from(t.ttl.subarray(0, n)),
    rtt: Array.from(t.rtt.subarray(0, n)), flags: Array.from(t.flags.subarray(0, n)),
  };
}

test('the trap workload has the shape of trap-workload.md and is deterministic per seed', () => {
  const a = WORKLOADS.trap!.generate(1);
  assert.equal(a.length, 25_000);
  assert.ok(a.objects > 900 && a.objects < 1200, `distinct objects ${a.objects}`);
  let bytes = 0, large = 0, lastTime = 0;
  for (let i = 0; i < a.length; i++) {
    bytes += a.size[i]!;
    if (Number(String(a.key(a.id[i]!)).slice(6)) >= 1700) large++;
    assert.ok(a.time[i]! > lastTime, 'times increase');
    lastTime = a.time[i]!;
    assert.ok(a.ttl[i]! >= 7200 && a.ttl[i]! <= 86_400 && a.rtt[i]! > 0);
  }
  assert.ok(bytes > 9e9 && bytes < 11.5e9, `requested bytes ${bytes}`);
  assert.ok(large / a.length > 0.86 && large / a.length < 0.93, `share of large objects ${large / a.length}`);
  assert.deepEqual(columns(WORKLOADS.trap!.generate(1, 500)), columns(WORKLOADS.trap!.generate(1, 500)));
  assert.notDeepEqual(columns(WORKLOADS.trap!.generate(2, 500)).key, columns(WORKLOADS.trap!.generate(1, 500)).key);
});

for (const name of Object.keys(WORKLOADS)) {
  test(`${name}: the CSV and both NGINX log forms read back as the same request sequence`, async (t) => {
    const dir = tempDir(t);
    const w = WORKLOADS[name]!.generate(7, 3000);
    const csv = join(dir, 'w.csv');
    writeTrace(w, 'csv', csv);
    const fromCsv = columns(await loadTrace(openSource(csv, 'csv')));
    assert.deepEqual(fromCsv, columns(w));
    if (name === 'scan') assert.ok(fromCsv.flags.some((f) => f === 1), 'scan has uncacheable requests');
    for (const format of ['nginx-json', 'nginx-combined'] as const) {
      const log = join(dir, `access.${format}.log`);
      writeTrace(w, format, log);
      for (const reader of [format, 'nginx']) {
        const back = columns(await loadTrace(openSource(log, reader)));
        assert.deepEqual(back, fromCsv, `${format} read as ${reader}`);
      }
    }
  });
}

test('drift: the most requested objects of the first 20,000 requests are not those of the last 20,000', () => {
  const w = WORKLOADS.drift!.generate(7);
  const top = (from: number) => {
    const counts = new Map<number, number>();
    for (let i = from; i < from + 20_000; i++) counts.set(w.id[i]!, (counts.get(w.id[i]!) ?? 0) + 1);
    return new Set([...counts].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([id]) => id));
  };
  const first = top(0), last = top(w.length - 20_000);
  const kept = [...first].filter((id) => last.has(id)).length;
  assert.ok(kept <= 10, `${kept} of the 20 most requested objects stayed on top`);
});

test('coldrl workload writes the same seeded file twice and rejects bad arguments', (t) => {
  const dir = tempDir(t);
  const out = (n: number) => join(dir, `trap${n}.log`);
  for (const n of [1, 2]) {
    const r = runCli(['workload', 'trap', '--seed', '3', '--requests', '2000', '--format', 'nginx-json', '--out', out(n)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /trap\(seed=3\): 2000 requests/);
  }
  assert.equal(readFileSync(out(1), 'utf8'), readFileSync(out(2), 'utf8'));
  assert.equal(readFileSync(out(1), 'utf8').split('\n').length, 2001);
  assert.equal(runCli(['workload', 'nope', '--out', out(3)]).code, 2);
  assert.equal(runCli(['workload', 'trap', '--out', out(3), '--format', 'xml']).code, 2);
});
