/**
 * The webgpu code path without a GPU (issue 7): Dawn's OpenGL ES backend over Mesa's software renderer
 * (EGL_PLATFORM=surfaceless; install with test/gpu/setup-mesa.sh) trains a few steps of the GPU-built DQN
 * step and must agree with wasm (same seed, weights, data and indices) to a relative error under 1e-3.
 * It FAILS when no WebGPU adapter can be had, with the reason: the GPU path must not rot unseen.
 * COLDRL_SKIP_WEBGPU=1 skips it explicitly (reported as skipped, with that reason).
 * It also checks the trainer's learners (trainer/learner.ts): the GPU learner on webgpu against
 * trainer/model.ts's steps on wasm on the same ring buffer and samples (warm-start regression steps, Double-DQN
 * steps, a target sync), and the real trainer (trainer/dqn.ts train) picking the GPU learner on webgpu.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { FEATURE_COUNT } from '../../replay/features.js';
import { isColdrlError } from '../../replay/errors.js';
import { resolveBackend } from '../../trainer/backend.js';
import { agreement, checkRun, filledBuffer, learnerAgreement, learnerRun, maxError } from '../../bench/gpu/check.js';
import { trap } from '../../replay/workloads/trap.js';
import { newMinibatch, train } from '../../trainer/dqn.js';
import { DEFAULT_HPARAMS, type HParams } from '../../trainer/hparams.js';
import { GpuLearner, TfjsLearner } from '../../trainer/learner.js';
import { HEADS } from '../../trainer/network.js';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers.js';

process.env.EGL_PLATFORM ??= 'surfaceless';
const skip = process.env.COLDRL_SKIP_WEBGPU === '1' ? 'COLDRL_SKIP_WEBGPU=1' : false;
const o = { f: FEATURE_COUNT, h: 16, k: 8, batch: 16, steps: 4, seed: 3, rows: 128, splitK: 4 };

test('auto never picks a software or fallback adapter; bad names are usage errors', async () => {
  const r = await resolveBackend('auto');
  assert.equal(r.tf.getBackend(), r.backend);
  if (r.backend === 'webgpu') {
    assert.ok(r.adapter && !r.adapter.isFallbackAdapter, 'fallback adapter chosen by auto');
    assert.doesNotMatch(`${r.adapter.device} ${r.adapter.description}`, /llvmpipe|lavapipe|swiftshader/i);
  } else {
    assert.equal(r.adapter, undefined);
  }
  await assert.rejects(resolveBackend('nope' as 'auto'), (e: unknown) => isColdrlError(e) && e.code === 'COLDRL_ERR_USAGE');
  let hasNode = true;
  try { createRequire(import.meta.url).resolve('@tensorflow/tfjs-node'); } catch { hasNode = false; }
  if (!hasNode) await assert.rejects(resolveBackend('tensorflow'), (e: unknown) => isColdrlError(e) && e.code === 'COLDRL_ERR_BACKEND');
});

test('webgpu (Dawn OpenGL ES on Mesa) trains the same numbers as wasm', { skip }, async () => {
  const wasm = await resolveBackend('wasm');
  const ref = await checkRun(wasm.tf, 'fused', o);
  assert.ok(ref.losses.every((l) => Number.isFinite(l) && l > 0), 'wasm losses are finite and positive');
  let gpu;
  try {
    gpu = await resolveBackend('webgpu');
  } catch (e) {
    assert.fail(`no WebGPU adapter here: ${(e as Error).message}. Run test/gpu/setup-mesa.sh as root (Mesa llvmpipe + EGL), `
      + 'or set COLDRL_SKIP_WEBGPU=1 to skip this test knowingly.');
  }
  assert.equal(gpu.tf.getBackend(), 'webgpu');
  const got = await checkRun(gpu.tf, 'fused', o);
  const a = agreement(got, ref);
  assert.ok(maxError(a) < 1e-3, `webgpu vs wasm relative errors ${JSON.stringify(a)}`);
  // the training moved the weights: the comparison is not between two untouched initialisations
  assert.notDeepEqual(Array.from(got.qN), Array.from(got.q0));
  // and the tfjs autodiff step on webgpu agrees with the hand-written backward pass on wasm
  const auto = agreement(await checkRun(gpu.tf, 'autodiff', o), ref);
  assert.ok(maxError(auto) < 1e-3, `webgpu autodiff vs wasm fused ${JSON.stringify(auto)}`);
  await wasm.tf.setBackend('wasm');
});

test('the GPU learner on webgpu takes the same steps as trainer/model.ts on wasm; train() uses it', { skip }, async () => {
  const wasm = await resolveBackend('wasm');
  for (const objective of HEADS) {
    // both regression losses (Huber on Q, logistic on a logit), then Double-DQN steps
    const hp: HParams = { ...DEFAULT_HPARAMS, objective, k: 8, hidden: 16, batchSize: 16, bufferSize: 96, maxGradNorm: 0.5, gamma: 0.9 };
    const buf = filledBuffer(hp, 150);
    assert.equal(buf.pushed, 150);
    await wasm.tf.setBackend('wasm');
    const ref = await learnerRun((w) => new TfjsLearner(hp, w, w, newMinibatch(hp.batchSize, hp.k)), hp, buf);
    assert.ok(ref.losses.every((x) => Number.isFinite(x) && x > 0), `${objective}: model.ts losses ${ref.losses}`);
    assert.notDeepEqual(Array.from(ref.weights), Array.from((await learnerRun((w) => new TfjsLearner({ ...hp, learningRate: 0 }, w, w, newMinibatch(hp.batchSize, hp.k)), hp, buf)).weights), 'the steps moved the weights');
    await resolveBackend('webgpu');
    let gl: GpuLearner | null = null;
    const got = await learnerRun((w) => (gl = new GpuLearner(hp, w, w, 1)), hp, buf);
    assert.equal(gl!.uploads, 1, 'one upload of the whole ring, none while nothing new was pushed');
    const a = learnerAgreement(got, ref);
    assert.ok(Math.max(a.losses, a.weights, a.target) < 1e-3, `${objective}: GPU learner vs model.ts relative errors ${JSON.stringify(a)}; losses ${got.losses} vs ${ref.losses}`);
  }

  // the real trainer on webgpu: GPU learner, chunked uploads, finite loss
  const small: HParams = { ...DEFAULT_HPARAMS, k: 8, hidden: 16, batchSize: 32, totalDecisions: 900, learningStarts: 200, logFrequency: 300, trainFrequency: 8, targetNetworkFrequency: 20 };
  const t = trap(1, 4000);
  const r = await train(small, { capacity: 4 * 1024 * 1024, pass: async function* () { yield t; } });
  assert.match(r.learner, /^gpu fused/);
  assert.ok(r.gradSteps >= 80 && Number.isFinite(r.last.loss), `gradSteps ${r.gradSteps} loss ${r.last.loss}`);
  await wasm.tf.setBackend('wasm');
  const r2 = await train(small, { capacity: 4 * 1024 * 1024, pass: async function* () { yield t; } });
  assert.match(r2.learner, /^tfjs autodiff/);
});

test('coldrl train --backend webgpu, both steps: the exported model scores as the trainer network', { skip }, (t) => {
  // no synchronous read-back (webgpu in Node has none) and no 8-input addN (Dawn's OpenGL ES path) on the way
  const dir = tempDir(t);
  const trace = join(dir, 'trap.csv');
  const w = runCli(['workload', 'trap', '--seed', '1', '--out', trace]);
  assert.equal(w.code, 0, w.stderr);
  for (const [step, learner] of [['fused', /^gpu fused/], ['autodiff', /^tfjs autodiff/]] as const) {
    const r = runCli(['train', '--trace', trace, '--cache-size', '25m', '--steps', '600', '--k', '16', '--hidden', '16', '--backend', 'webgpu',
      '--gpu-step', step, '--out', join(dir, `${step}.onnx`), '--db', join(dir, 'c.db'), '--json'], { env: { EGL_PLATFORM: process.env.EGL_PLATFORM } });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backend: string; learner: string; parity: { cases: number; maxRelError: number } };
    assert.match(j.backend, /^webgpu/);
    assert.match(j.learner, learner);
    assert.ok(j.parity.cases >= 32 && j.parity.maxRelError <= 1e-5, `${step}: ${JSON.stringify(j.parity)}`);
  }
});
