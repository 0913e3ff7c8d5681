/**
 * The main job in its quick form: `coldrl demo --quick` writes every artefact it promises (logs archive,
 * model, store rows, report with images) and its summary names the learned policy and the baselines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../replay/store.js';
import { readOnnxMetadata } from '../../replay/model.js';
import { FEATURE_SPEC_VERSION } from '../../replay/features.js';
import { runCli, tempDir } from '../helpers.js';

test('coldrl demo --quick produces logs, model, store rows and the report', async (t) => {
  const dir = tempDir(t, 'coldrl-demo-');
  const out = join(dir, 'demo');
  const r = runCli(['demo', '--quick', '--out', out], { timeout: 300_000 });
  assert.equal(r.code, 0, `demo failed:\n${r.stderr}\n${r.stdout}`);
  for (const f of ['logs/train/access.log', 'logs/train/access.log.1', 'logs/train/access.log.2.gz', 'logs/eval/access.log', 'model.onnx', 'model.onnx.ckpt.json', 'coldrl.db', 'report/index.html']) {
    assert.ok(existsSync(join(out, f)), `missing ${f}`);
  }
  const gz = readFileSync(join(out, 'logs/train/access.log.2.gz'));
  assert.equal(gz[0], 0x1f, 'the oldest rotated log is gzipped');
  const meta = readOnnxMetadata(readFileSync(join(out, 'model.onnx')));
  assert.equal(meta['coldrl.feature_spec_version'], String(FEATURE_SPEC_VERSION));
  const images = readdirSync(join(out, 'report')).filter((f) => f.endsWith('.svg'));
  assert.ok(images.some((f) => f.startsWith('hitratio-')), 'hit ratio chart');
  assert.ok(images.some((f) => f.startsWith('training-')), 'training curve');
  assert.ok(images.includes('sidecar-latency.svg'), 'sidecar latency chart');
  const html = readFileSync(join(out, 'report/index.html'), 'utf8');
  for (const img of images) assert.ok(html.includes(img), `report links ${img}`);
  for (const img of images) assert.match(readFileSync(join(out, 'report', img), 'utf8'), /^<svg[^>]*>[\s\S]*<path|<rect/);

  const store = new Store(join(out, 'coldrl.db'));
  try {
    const runs = store.runs();
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, 'done');
    assert.equal(store.models().length, 1);
    const evals = store.evaluations();
    const policies = new Set(evals.map((e) => e.policy));
    for (const p of ['lru', 'lfu', 'size', 'adaptive-lru', 'hybrid', 'gdsf', 'belady']) assert.ok(policies.has(p), `evaluation of ${p}`);
    assert.ok([...policies].some((p) => p.startsWith('coldrl:')), 'evaluation of the learned policy');
    assert.ok([...policies].some((p) => p.startsWith('ktail-oracle')), 'evaluation of the K-candidate oracle');
    for (const metric of ['charts/hit_ratio', 'charts/byte_hit_ratio']) assert.ok(store.series(runs[0]!.id, metric).length > 0, `training metric ${metric}`);
    const bench = store.benchmarks();
    const parity = JSON.parse(bench.find((b) => b.name === 'parity')!.result) as { maxAbsError: number; maxRelError: number };
    assert.ok(parity.maxRelError <= 1e-5 && parity.maxAbsError <= 1e-4, JSON.stringify(parity));
    const sidecar = JSON.parse(bench.find((b) => b.name === 'sidecar')!.result) as { requests: number; p50us: number };
    assert.ok(sidecar.requests > 0 && sidecar.p50us > 0, 'sidecar benchmark figures');
    const minutes = store.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'sidecar_minutes'").get() as { n: number };
    assert.equal(minutes.n, 1, 'the sidecar wrote its per-minute table');
  } finally {
    store.close();
  }
  assert.match(r.stdout, /coldrl \(learned\)/);
  assert.match(r.stdout, /parity: max relative error/);
});

test('coldrl demo --steps and --seed take integers only, as train: one line, exit 2, nothing written', (t) => {
  const dir = tempDir(t, 'coldrl-demo-');
  for (const [flag, value] of [['--steps', 'abc'], ['--seed', 'abc'], ['--steps', '1e3'], ['--steps', '0'], ['--seed', '4294967296']] as const) {
    const r = runCli(['demo', '--quick', '--out', join(dir, 'demo'), flag, value], { timeout: 30_000 });
    assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, new RegExp(`^coldrl: demo: ${flag} must be an integer in \\d+\\.\\.\\d+ \\(got ${value}\\) \\[COLDRL_ERR_USAGE\\]$`, 'm'));
    assert.ok(!existsSync(join(dir, 'demo')), 'nothing written');
  }
});

test('coldrl demo --db FILE appends to that store, never deletes it: a file that is not a store is refused and kept', (t) => {
  const dir = tempDir(t, 'coldrl-demo-');
  const db = join(dir, 'mine.db');
  writeFileSync(db, 'not a store, and not the demo\'s to delete\n');
  // the demo deleted it (with -wal and -shm) and ran on a new store in its place
  const r = runCli(['demo', '--quick', '--out', join(dir, 'demo'), '--db', db], { timeout: 30_000 });
  assert.equal(r.code, 2, `${r.stderr}${r.stdout}`);
  assert.match(r.stderr, /mine\.db: cannot open the store/);
  assert.equal(readFileSync(db, 'utf8'), 'not a store, and not the demo\'s to delete\n');
});
