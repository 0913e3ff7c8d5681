/**
 * The exported ONNX graph computes what the tfjs model computes: onnxruntime-node against tfjs (wasm) on
 * random inputs (batched, masked, K < 64) and on candidates recorded from a real replay; max abs error 1e-5.
 * Also: the loader refuses another feature spec and corrupt files, and `coldrl:FILE` replays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { GOALS } from '../../replay/candidates.js';
import { FEATURE_COUNT, FEATURE_SPEC_VERSION, unscaleFeature } from '../../replay/features.js';
import { Rng, Zipf } from '../../replay/rng.js';
import { ColdrlModel, loadOrt } from '../../replay/model.js';
import { Cache } from '../../replay/cache.js';
import { KCandidatePolicy } from '../../replay/policies/ktail.js';
import { lruScorer, type Scorer } from '../../replay/scorer.js';
import { traceFromArrays } from '../../replay/trace.js';
import { replayTrace } from '../../replay/run.js';
import { isColdrlError } from '../../replay/errors.js';
import { Forward, initWeights, scoringOf, type NetworkWeights } from '../../trainer/network.js';
import { QNetwork } from '../../trainer/model.js';
import { checkParity } from '../../trainer/parity.js';
import { buildOnnx, writeOnnx } from '../../trainer/onnx-export.js';
import { tempDir } from '../helpers.js';

const F = FEATURE_COUNT;
const H = 32;

function weights(seed: number): NetworkWeights {
  const rng = new Rng(seed);
  const w = initWeights(F, H, rng);
  for (const b of [w.b1, w.b2, w.ba, w.bv]) for (let i = 0; i < b.length; i++) b[i] = rng.uniform(-0.2, 0.2);
  return w;
}

function meta(k: number, version: number = FEATURE_SPEC_VERSION, count: number = F): Record<string, string> {
  return { 'coldrl.feature_spec_version': String(version), 'coldrl.feature_count': String(count), 'coldrl.k': String(k), 'coldrl.candidates': 'tail' };
}

/** A small Zipf trace with mixed sizes, replayed through the K-tail policy; returns the recorded candidate sets. */
function realCandidates(k: number, max: number): { features: Float32Array; n: number }[] {
  const rng = new Rng(7);
  const z = new Zipf(400, 0.9);
  const sizes = Array.from({ length: 400 }, () => Math.floor(rng.uniform(1000, 200000)));
  let t = 0;
  const rows = Array.from({ length: 6000 }, () => { const key = z.draw(rng); t += rng.exp(1); return { time: t, key, size: sizes[key]!, ttl: rng.uniform(600, 7200) }; });
  const trace = traceFromArrays('zipf', rows);
  const got: { features: Float32Array; n: number }[] = [];
  const rec: Scorer = { name: 'rec', score(ctx, ids, f, n, out) { if (got.length < max && ctx.index % 7 === 0) got.push({ features: f.slice(0, n * F), n }); lruScorer.score(ctx, ids, f, n, out); } };
  const cache = new Cache((ctx) => new KCandidatePolicy(ctx, rec, { k }), { capacity: 2_000_000, semantics: 'nginx' });
  for (let i = 0; i < trace.length; i++) cache.access(trace, i);
  assert.ok(got.length >= 20, `recorded ${got.length} decisions`);
  return got;
}

test('onnxruntime equals tfjs and the plain forward pass (random and real inputs, masked)', async (t) => {
  await tf.setBackend('wasm');
  const dir = tempDir(t);
  const w = weights(3);
  const net = new QNetwork(w, false);
  t.after(() => net.dispose());
  const file = join(dir, 'm.onnx');
  writeOnnx(file, w, meta(64));
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(file);
  t.after(() => session.release());
  const K = 64, B = 5;
  const rng = new Rng(11);
  const x = new Float32Array(B * K * F).map(() => rng.next());
  const mask = new Float32Array(B * K);
  const ns = [64, 1, 16, 33, 7];
  ns.forEach((n, b) => { for (let i = 0; i < n; i++) mask[b * K + i] = 1; });
  const want = net.apply(tf.tensor3d(x, [B, K, F]), tf.tensor2d(mask, [B, K]));
  const wantData = want.dataSync();
  want.dispose();
  const r = await session.run({ features: new ort.Tensor('float32', x, [B, K, F]), mask: new ort.Tensor('float32', mask, [B, K]) });
  const got = r.scores!.data as Float32Array;
  let maxErr = 0;
  for (let i = 0; i < B * K; i++) {
    if (mask[i] === 0) { assert.equal(got[i], -1e9); assert.equal(wantData[i], -1e9); continue; }
    maxErr = Math.max(maxErr, Math.abs(got[i]! - wantData[i]!));
  }
  assert.ok(maxErr <= 1e-5, `random: max abs error ${maxErr}`);

  // Real candidates, through the loader (batch 1, n candidates) and the trainer's plain forward pass.
  const model = await ColdrlModel.load(file);
  t.after(() => model.close());
  assert.equal(model.k, 64);
  assert.match(model.version, /^[0-9a-f]{12}$/);
  const fwd = new Forward(w);
  const out = new Float32Array(64);
  const plain = new Float32Array(64);
  const sync = new Float32Array(64);
  assert.equal(model.hasSync, true, 'the native synchronous session loads');
  // The same file through onnxruntime-node's public API: the native path must give the same bits.
  const pub = await ColdrlModel.load(file, { native: false });
  t.after(() => pub.close());
  assert.equal(pub.hasSync, false);
  assert.throws(() => pub.scoreSync(new Float32Array(F), 1, out), /no synchronous session/);
  let maxReal = 0, maxPlain = 0, decisions = 0;
  for (const k of [16, 64]) {
    for (const c of realCandidates(k, 40)) {
      await pub.score(c.features, c.n, out);
      model.scoreSync(c.features, c.n, sync);
      for (let i = 0; i < c.n; i++) assert.equal(sync[i], out[i], 'the native session gives the same bits as the public one');
      await model.score(c.features, c.n, sync);
      for (let i = 0; i < c.n; i++) assert.equal(sync[i], out[i], 'score (native) gives the same bits as the public one');
      const padded = new Float32Array(K * F); padded.set(c.features);
      const m = new Float32Array(K); m.fill(1, 0, c.n);
      const q = net.apply(tf.tensor3d(padded, [1, K, F]), tf.tensor2d(m, [1, K]));
      const qd = q.dataSync(); q.dispose();
      fwd.run(c.features, c.n, plain);
      for (let i = 0; i < c.n; i++) {
        maxReal = Math.max(maxReal, Math.abs(out[i]! - qd[i]!));
        maxPlain = Math.max(maxPlain, Math.abs(plain[i]! - qd[i]!));
      }
      decisions++;
    }
  }
  assert.ok(decisions >= 40);
  assert.ok(maxReal <= 1e-5, `real: max abs error ${maxReal}`);
  assert.ok(maxPlain <= 1e-5, `plain forward: max abs error ${maxPlain}`);
});

for (const goal of GOALS) {
  test(`the hit-logit head, goal ${goal}: the ONNX graph, tfjs and the plain forward pass give the same ${goal === 'hits' ? 'per-byte' : 'per-object'} scores`, async (t) => {
    await tf.setBackend('wasm');
    const dir = tempDir(t);
    const w = weights(4);
    const scoring = scoringOf('hit-logit', goal);
    const file = join(dir, 'logit.onnx');
    writeOnnx(file, w, { ...meta(64), 'coldrl.objective': 'hit-logit', 'coldrl.goal': goal }, scoring);
    const model = await ColdrlModel.load(file);
    t.after(() => model.close());
    // what replay and the sidecar read from the file: the goal, and no size term to drop for a per-object ranking
    assert.equal(model.goal, goal);
    assert.equal(model.sizeTerm, goal === 'hits' ? Math.log1p(unscaleFeature(1, 1)) : 0);
    const net = new QNetwork(w, false);
    t.after(() => net.dispose());
    const fwd = new Forward(w, scoring), raw = new Forward(w);
    const out = new Float32Array(64), plain = new Float32Array(64), z = new Float32Array(64);
    let maxRel = 0, cases = 0;
    for (const c of realCandidates(64, 30)) {
      await model.score(c.features, c.n, out);
      fwd.run(c.features, c.n, plain);
      raw.run(c.features, c.n, z);
      const want = tf.tidy(() => net.scores(tf.tensor3d(c.features, [1, c.n, F]), tf.ones([1, c.n]) as tf.Tensor2D, scoring).dataSync());
      for (let i = 0; i < c.n; i++) {
        // the head's definition, from the raw output: -log sigmoid(z), + log(1 + size) for the hit ratio
        const size = unscaleFeature(1, c.features[i * F + 1]!);
        const byHand = -Math.log(1 / (1 + Math.exp(-z[i]!))) + (goal === 'hits' ? Math.log1p(size) : 0);
        for (const v of [out[i]!, want[i]!, byHand]) maxRel = Math.max(maxRel, Math.abs(v - plain[i]!) / Math.max(1, Math.abs(plain[i]!)));
      }
      cases++;
    }
    assert.ok(maxRel <= 1e-5, `hit-logit scores: max relative error ${maxRel} over ${cases} decisions`);
    const report = await checkParity(file, w, realCandidates(16, 20), scoring);
    assert.ok(report.maxAbsError <= 1e-4 && report.cases >= 40, JSON.stringify(report));
    // the same weights exported with the q head, or for the other goal, score differently: the scoring is in the file
    const qFile = join(dir, 'q.onnx'), otherFile = join(dir, 'other.onnx');
    writeOnnx(qFile, w, meta(64));
    writeOnnx(otherFile, w, meta(64), scoringOf('hit-logit', goal === 'hits' ? 'bytes' : 'hits'));
    for (const f of [qFile, otherFile]) assert.ok((await checkParity(f, w, realCandidates(16, 20), scoring)).maxAbsError > 1e-2, f);
  });
}

test('the loader refuses another feature spec, a corrupt file, a missing file', async (t) => {
  const dir = tempDir(t);
  const w = weights(4);
  const other = join(dir, 'v2.onnx');
  writeOnnx(other, w, meta(16, FEATURE_SPEC_VERSION + 1));
  const fewer = join(dir, 'f6.onnx');
  writeOnnx(fewer, w, meta(16, FEATURE_SPEC_VERSION, 6));
  const corrupt = join(dir, 'bad.onnx');
  const bytes = buildOnnx(w, meta(16));
  writeFileSync(corrupt, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const code = async (p: string) => { try { await ColdrlModel.load(p); return 'loaded'; } catch (e) { return isColdrlError(e) ? e.code : String(e); } };
  assert.equal(await code(other), 'COLDRL_ERR_FEATURE_SPEC');
  assert.equal(await code(fewer), 'COLDRL_ERR_FEATURE_SPEC');
  assert.equal(await code(corrupt), 'COLDRL_ERR_MODEL');
  assert.equal(await code(join(dir, 'none.onnx')), 'COLDRL_ERR_FILE_NOT_FOUND');
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'not a model at all');
  assert.equal(await code(junk), 'COLDRL_ERR_MODEL');
});

test('replay --policy coldrl:FILE runs the model through the K-candidate policy', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'm.onnx');
  writeOnnx(file, weights(5), meta(16));
  const rng = new Rng(2);
  const rows = Array.from({ length: 3000 }, (_, i) => { const key = rng.int(300); return { time: i, key, size: 1000 + (key * 7919) % 50000 }; });
  const trace = traceFromArrays('u', rows);
  const learned = await replayTrace(trace, `coldrl:${file}`, 1_000_000, '1m');
  const learned32 = await replayTrace(trace, `coldrl:${file}:32`, 1_000_000, '1m');
  const lru = await replayTrace(trace, 'lru', 1_000_000, '1m');
  assert.equal(learned.requests, 3000);
  assert.ok(learned.evictions > 100);
  assert.ok(learned.hitRatio > 0 && learned.hitRatio < 1);
  // an untrained net ranks differently from LRU: the counts differ from LRU's
  assert.notEqual(learned.hits, lru.hits);
  assert.notEqual(learned.hits, learned32.hits);
});
