/**
 * Smoke test of the real `coldrl train` CLI with tiny step counts on a small generated trace: the ONNX file
 * loads and replays, the store holds the run, its metrics and the model, `coldrl runs` lists them, and
 * --resume continues from the checkpoint. The warm start's regression step learns a representable ranking, and
 * train() runs the warm start and the Double-DQN phase in one run.
 */
import { spawn } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname as dirOf, join } from 'node:path';
import { DEFAULT_SOURCE } from '../../replay/candidates.js';
import { ColdrlModel } from '../../replay/model.js';
import { isColdrlError } from '../../replay/errors.js';
import { openSource } from '../../replay/formats/index.js';
import { HOLDOUT_KEY, holdoutOf, type Holdout } from '../../replay/holdout.js';
import { replayTrace, type ReplayOptions } from '../../replay/run.js';
import { parseCacheSize, resolveCacheSize } from '../../replay/size.js';
import { loadTrace } from '../../replay/trace.js';
import { Rng, Zipf } from '../../replay/rng.js';
import { Store } from '../../replay/store.js';
import * as tf from '@tensorflow/tfjs';
import { FEATURE_COUNT, unscaleFeature } from '../../replay/features.js';
import { trap } from '../../replay/workloads/trap.js';
import { WORKLOADS } from '../../replay/workloads/index.js';
import { writeTrace as writeWorkload } from '../../replay/workloads/write.js';
import { resolveBackend } from '../../trainer/backend.js';
import { checkpointOf, exportedWeights, newMinibatch, train, type Checkpoint } from '../../trainer/dqn.js';
import { AUTO_BYTES_SOURCES, AUTO_SOURCES, bestSource, type SourceChoice } from '../../trainer/source-choice.js';
import { recentStart, runTraining } from '../../trainer/training.js';
import { DEFAULT_HPARAMS } from '../../trainer/hparams.js';
import { QNetwork, regressStep } from '../../trainer/model.js';
import { hitLogitScore, initWeights, LOG_SIZE_CAP, scoringOf } from '../../trainer/network.js';
import { CLI, runCli, tempDir } from '../helpers.js';

function writeTrace(path: string): void {
  const rng = new Rng(5);
  const z = new Zipf(600, 0.8);
  const sizes = Array.from({ length: 600 }, () => Math.floor(rng.uniform(2000, 120000)));
  const lines = ['timestamp,obj_id,size,ttl'];
  let t = 0;
  for (let i = 0; i < 5000; i++) { const k = z.draw(rng); t += rng.exp(1); lines.push(`${t.toFixed(3)},o${k},${sizes[k]},${Math.floor(rng.uniform(600, 3600))}`); }
  writeFileSync(path, lines.join('\n') + '\n');
}

test('coldrl train writes a loadable ONNX model and the run rows; --resume continues', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const out = join(dir, 'models', 'new', 'm.onnx'); // a folder that does not exist yet is created
  const db = join(dir, 'coldrl.db');
  const args = ['train', '--trace', trace, '--cache-size', '2m', '--out', out, '--db', db, '--k', '8', '--hidden', '16', '--seed', '3', '--json'];
  const r1 = runCli([...args, '--steps', '600']);
  assert.equal(r1.code, 0, r1.stderr);
  const j1 = JSON.parse(r1.stdout.trim().split('\n').pop()!) as { decisions: number; gradientSteps: number; run: number; sha256: string; interrupted: boolean; parity: { cases: number; maxRelError: number } };
  assert.equal(j1.decisions, 600);
  assert.ok(j1.parity.cases >= 32 && j1.parity.maxRelError <= 1e-5, `export parity ${JSON.stringify(j1.parity)}`);
  assert.ok(j1.gradientSteps > 0, 'some gradient steps ran');
  assert.equal(j1.interrupted, false);
  assert.ok(existsSync(`${out}.ckpt.json`));

  const m = await ColdrlModel.load(out);
  t.after(() => m.close());
  assert.equal(m.k, 8);
  assert.equal(m.metadata['coldrl.trace'], trace);
  assert.equal(m.metadata['coldrl.seed'], '3');
  assert.equal(m.metadata['coldrl.objective'], 'hit-logit');
  assert.equal(holdoutOf(m.metadata)?.from, 4500, 'the last tenth held out by default');
  assert.equal(m.sha256, j1.sha256);

  const store = new Store(db);
  const runs = store.runs();
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.status, 'done');
  assert.equal(JSON.parse(runs[0]!.hparams).k, 8);
  assert.ok(Number(store.db.prepare('SELECT COUNT(*) AS n FROM metrics WHERE run = ?').pluck().get(runs[0]!.id)) > 0);
  assert.equal(store.models()[0]!.sha256, j1.sha256);
  store.close();

  // --resume: continues from the checkpoint's 600 decisions to a new total, in the same run
  const r2 = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', out, '--db', db, '--resume', '--steps', '900', '--json']);
  assert.equal(r2.code, 0, r2.stderr);
  const j2 = JSON.parse(r2.stdout.trim().split('\n').pop()!) as { decisions: number; gradientSteps: number; run: number; sha256: string };
  assert.equal(j2.decisions, 900);
  assert.ok(j2.gradientSteps > j1.gradientSteps);
  assert.equal(j2.run, j1.run);
  assert.notEqual(j2.sha256, j1.sha256);
  assert.equal(JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')).decisions, 900);

  const rr = runCli(['runs', '--db', db]);
  assert.equal(rr.code, 0, rr.stderr);
  assert.match(rr.stdout, /runs \(1\)/);
  assert.match(rr.stdout, /models \(2\)/);

  const rep = runCli(['replay', '--trace', trace, '--cache-size', '2m', '--policy', `coldrl:${out},lru`, '--json', '--threads', '1']);
  assert.equal(rep.code, 0, rep.stderr);
  const lines = rep.stdout.trim().split('\n').map((l) => JSON.parse(l) as { policy: string; requests: number });
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.requests, 5000);

  const bad = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'x.onnx'), '--db', db, '--k', '65']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--k must be/);
  for (const [flag, value, msg] of [['--objective', 'dqn', /--objective must be/], ['--horizon', '0', /--horizon must be/], ['--candidates', 'lru', /--candidates must be auto or one of tail, sample/]] as const) {
    const b = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'x.onnx'), '--db', db, flag, value]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, msg);
  }
  // the previous objective, as the help says to ask for it
  const qOut = join(dir, 'q.onnx');
  // (and without a held-out check: none in the output nor in the model; and without a store, as serve's --db none)
  const rq = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', qOut, '--db', 'none', '--k', '8', '--hidden', '16', '--steps', '300', '--objective', 'q', '--horizon', '1', '--holdout', '0', '--json'], { cwd: dir });
  assert.equal(rq.code, 0, rq.stderr);
  const jq = JSON.parse(rq.stdout.trim().split('\n').pop()!) as { hparams: { objective: string; horizonFactor: number }; holdout: unknown; db: unknown; run: unknown };
  assert.deepEqual([jq.db, jq.run, existsSync(join(dir, 'none'))], [null, null, false], '--db none writes no store');
  assert.equal(jq.hparams.horizonFactor, 1);
  assert.equal(jq.holdout, null);
  const mq = await ColdrlModel.load(qOut);
  t.after(() => mq.close());
  assert.equal(mq.metadata['coldrl.objective'], 'q');
  assert.equal(mq.metadata[HOLDOUT_KEY], undefined);
});

/** b decisions of k candidates with uniform random features and label(features); the last candidate padded in every row. */
function syntheticMinibatch(rng: Rng, b: number, k: number, label: (x: Float32Array) => number) {
  const mb = newMinibatch(b, k);
  for (let i = 0; i < b * k; i++) {
    const x = mb.s.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT);
    for (let f = 0; f < FEATURE_COUNT; f++) x[f] = rng.next();
    const present = i % k < k - 1;
    mb.mask[i] = present ? 1 : 0;
    mb.labels[i] = present ? label(x) : 0;
  }
  return mb;
}

test('the warm start regression pulls every candidate toward its label; train() runs both phases', async () => {
  await resolveBackend('wasm');
  const rng = new Rng(7);
  const k = 6, mb = syntheticMinibatch(rng, 16, k, (x) => -x[1]!); // label = -(feature 1): a rule the net can represent
  const net = new QNetwork(initWeights(FEATURE_COUNT, 16, rng));
  const opt = tf.train.adam(1e-2);
  const first = (await regressStep(net, opt, mb, 10).data())[0]!;
  let last = first;
  for (let i = 0; i < 150; i++) { const l = regressStep(net, opt, mb, 10); if (i === 149) last = (await l.data())[0]!; l.dispose(); }
  assert.ok(last < first / 5, `regression loss ${first} -> ${last}`);
  const q = tf.tidy(() => net.apply(tf.tensor3d(mb.s, [mb.b, k, FEATURE_COUNT]), tf.tensor2d(mb.mask, [mb.b, k])).arraySync());
  let agree = 0;
  for (let b = 0; b < mb.b; b++) {
    let qa = 0, la = 0;
    for (let c = 1; c < k - 1; c++) { if (q[b]![c]! > q[b]![qa]!) qa = c; if (mb.labels[b * k + c]! > mb.labels[b * k + la]!) la = c; }
    if (qa === la) agree++;
  }
  assert.ok(agree >= 12, `argmax Q = argmax label in ${agree}/16 rows`);
  net.dispose(); opt.dispose();

  const hp = { ...DEFAULT_HPARAMS, objective: 'q' as const, k: 8, hidden: 16, totalDecisions: 800, learningStarts: 200, warmStartDecisions: 400, logFrequency: 200 };
  const t = trap(1, 3000);
  const r = await train(hp, { capacity: 3 * 1024 * 1024, pass: async function* () { yield t; } });
  assert.equal(r.decisions, 800);
  assert.ok(r.gradSteps >= 140 && Number.isFinite(r.last.loss), `gradSteps ${r.gradSteps} loss ${r.last.loss}`);
  // the hit-logit objective is a regression target only: a Double-DQN phase is refused up front
  await assert.rejects(train({ ...hp, objective: 'hit-logit' }, { capacity: 3 * 1024 * 1024, pass: async function* () { yield t; } }),
    (e: Error) => isColdrlError(e) && e.code === 'COLDRL_ERR_USAGE' && /warmStartDecisions/.test(e.message));
});

test('the hit-logit objective: logistic regression of soft hits; the head ranks expected hits per byte', async () => {
  await resolveBackend('wasm');
  const rng = new Rng(8);
  const k = 6, mb = syntheticMinibatch(rng, 32, k, (x) => 1 - x[6]!); // soft hit = 1 - idle feature: recent candidates come back
  const net = new QNetwork(initWeights(FEATURE_COUNT, 16, rng));
  const opt = tf.train.adam(1e-2);
  const first = (await regressStep(net, opt, mb, 10, 1, 'hit-logit').data())[0]!;
  let last = first;
  for (let i = 0; i < 200; i++) { const l = regressStep(net, opt, mb, 10, 1, 'hit-logit'); if (i === 199) last = (await l.data())[0]!; l.dispose(); }
  // the logistic loss of a soft label y cannot go below its entropy: compare the excess over it
  let entropy = 0, present = 0;
  for (let i = 0; i < mb.b * k; i++) if (mb.mask[i] === 1) { const y = mb.labels[i]!; entropy -= (y > 0 ? y * Math.log(y) : 0) + (y < 1 ? (1 - y) * Math.log(1 - y) : 0); present++; }
  entropy /= present;
  assert.ok(last - entropy < (first - entropy) / 5, `logistic loss ${first} -> ${last} (entropy ${entropy})`);
  const x = tf.tensor3d(mb.s, [mb.b, k, FEATURE_COUNT]), m = tf.tensor2d(mb.mask, [mb.b, k]);
  const z = tf.tidy(() => net.apply(x, m).arraySync()), s = tf.tidy(() => net.scores(x, m, scoringOf('hit-logit', 'hits')).arraySync());
  let err = 0;
  for (let b = 0; b < mb.b; b++) for (let c = 0; c < k - 1; c++) {
    const i = b * k + c;
    err = Math.max(err, Math.abs(1 / (1 + Math.exp(-z[b]![c]!)) - mb.labels[i]!));
    // score = -log p + log(1 + size): the expected hits per byte, negated, in log space
    const size = unscaleFeature(1, mb.s[i * FEATURE_COUNT + 1]!);
    assert.ok(Math.abs(s[b]![c]! - (-Math.log(1 / (1 + Math.exp(-z[b]![c]!))) + Math.log1p(size))) < 1e-3 * Math.max(1, Math.abs(s[b]![c]!)));
    assert.equal(hitLogitScore(z[b]![c]!, mb.s[i * FEATURE_COUNT + 1]!, LOG_SIZE_CAP) > hitLogitScore(z[b]![c]!, mb.s[i * FEATURE_COUNT + 1]! / 2, LOG_SIZE_CAP), true, 'larger = evict first at equal hit chance');
  }
  assert.ok(err < 0.15, `fitted hit chance within ${err} of the label`);
  assert.equal(s[0]![k - 1], -1e9, 'padded slots keep PADDED_SCORE');
  x.dispose(); m.dispose(); net.dispose(); opt.dispose();
});

test('weight averaging: the average of the late online snapshots is exported; off, the final weights', async () => {
  await resolveBackend('wasm');
  const hp = { ...DEFAULT_HPARAMS, k: 8, hidden: 16, totalDecisions: 800, learningStarts: 200, logFrequency: 100, actSyncFrequency: 5, averageFraction: 0.5 };
  const t = trap(1, 3000);
  const r = await train({ ...hp, logFrequency: 400 }, { capacity: 3 * 1024 * 1024, pass: async function* () { yield t; } });
  // gradient steps every 4 decisions from decision 200: ~150 steps, a snapshot every 5, half of them in the last 400 decisions
  assert.ok(r.averaged !== null && r.averagedSnapshots >= 10, `${r.averagedSnapshots} snapshots`);
  let diff = 0;
  for (let i = 0; i < r.online.w1.length; i++) diff = Math.max(diff, Math.abs(r.averaged!.w1[i]! - r.online.w1[i]!));
  assert.ok(diff > 0, 'the average differs from the final weights');
  assert.equal(exportedWeights(r), r.averaged);
  const off = await train({ ...hp, averageFraction: 0 }, { capacity: 3 * 1024 * 1024, pass: async function* () { yield t; } });
  assert.equal(off.averaged, null);
  assert.equal(exportedWeights(off), off.online);

  // Stopped inside the averaged part and resumed: the checkpoint carries the running mean on.
  // (the replay buffer is not checkpointed: it refills over learningStarts decisions after the resume)
  const hpR = { ...hp, learningStarts: 100 };
  let late = false;
  const part = await train(hpR, { capacity: 3 * 1024 * 1024, pass: async function* () { yield t; } },
    { onLog: (p) => { late ||= p.decisions >= 500; }, shouldStop: () => late });
  assert.ok(part.interrupted && part.decisions > 400 && part.decisions < 800 && part.averagedSnapshots > 0, `stopped at ${part.decisions}, ${part.averagedSnapshots} snapshots`);
  const ck = JSON.parse(JSON.stringify(checkpointOf(hpR, part, null))) as Checkpoint;
  assert.equal(ck.averagedSnapshots, part.averagedSnapshots);
  const rest = await train(hpR, { capacity: 3 * 1024 * 1024, pass: async function* () { yield t; } }, { resume: ck });
  assert.equal(rest.decisions, 800);
  assert.ok(rest.averagedSnapshots > part.averagedSnapshots, `${part.averagedSnapshots} -> ${rest.averagedSnapshots} snapshots`);
  const fresh = await train(hpR, { capacity: 3 * 1024 * 1024, pass: async function* () { yield t; } }, { resume: { ...ck, averaged: undefined, averagedSnapshots: undefined } });
  assert.equal(rest.averagedSnapshots, part.averagedSnapshots + fresh.averagedSnapshots, 'the resumed mean counts the snapshots taken before the stop');
});

test('bench learn --trace: trains on the first half of any trace, evaluates on the second beside the baselines', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const db = join(dir, 'runs', 'new', 'coldrl.db'); // the store makes its folder
  const r = runCli(['bench', 'learn', '--trace', trace, '--trace-sizes', '1m', '--steps', '300', '--k', '8',
    '--set', 'hidden=16,learningStarts=100', '--policies', 'lru,gdsf,idle-size,oracle', '--out', dir, '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { workload: string; size: string; policy: string; hitRatio: number });
  assert.deepEqual(rows.map((x) => x.policy), ['coldrl(horizon)', 'lru', 'gdsf', `ktail-idle-size:8:${DEFAULT_SOURCE}`, `ktail-oracle:8:${DEFAULT_SOURCE}`]);
  for (const x of rows) {
    assert.equal(x.workload, 'small.csv');
    assert.ok(x.hitRatio > 0 && x.hitRatio < 1, `${x.policy} ${x.hitRatio}`);
  }
  assert.ok(existsSync(join(dir, 'learn-small.csv-1m-horizon-s1.onnx')));
  const store = new Store(db);
  assert.equal(store.db.prepare('SELECT COUNT(*) FROM evaluations').pluck().get(), 5);
  store.close();
  // --db none: no store, as for train and serve (it once wrote an SQLite file named "none")
  // (and --min-uses: the evaluation replays the second half under proxy_cache_min_uses 2)
  const noStore = runCli(['bench', 'learn', '--trace', trace, '--trace-sizes', '1m', '--steps', '300', '--k', '8', '--min-uses', '2',
    '--set', 'hidden=16,learningStarts=100', '--policies', 'lru', '--out', dir, '--db', 'none', '--json'], { cwd: dir });
  assert.equal(noStore.code, 0, noStore.stderr);
  assert.ok(!existsSync(join(dir, 'none')), 'no file named none');
  const second = (await loadTrace(openSource(trace, 'csv'))).halves()![1];
  const lru = noStore.stdout.trim().split('\n').map((l) => JSON.parse(l) as { policy: string; hitRatio: number }).find((x) => x.policy === 'lru')!;
  assert.equal(lru.hitRatio, (await replayTrace(second, 'lru', parseCacheSize('1m').bytes, '1m', { semantics: 'nginx', minUses: 2 })).hitRatio);
  const bad = runCli(['bench', 'learn', '--only', 'trace']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--only trace needs --trace FILE/);
  // the same requests as logs in the operator's own log_format, named by the access_log of a config
  const log = join(dir, 'access.log');
  writeFileSync(log, readFileSync(trace, 'utf8').trim().split('\n').slice(1).map((l) => {
    const [ts, key, size] = l.split(',');
    return `${ts}|MISS|200|GET|/${key}|${size}|0.010`;
  }).join('\n') + '\n');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `log_format mine '$msec|$upstream_cache_status|$status|$request_method|$request_uri|$upstream_response_length|$upstream_response_time';\naccess_log ${log} mine;\n`);
  const logs = runCli(['bench', 'learn', '--trace', log, '--nginx-conf', conf, '--default-ttl', '1h', '--inactive', '10m', '--trace-sizes', '1m', '--steps', '300', '--k', '8',
    '--set', 'hidden=16,learningStarts=100', '--policies', 'lru', '--out', dir, '--db', db, '--json']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stderr, /reading the logs in log_format mine/);
  assert.match(logs.stderr, /access\.log: lines read 5000, requests used 5000, skipped 0/);
  assert.deepEqual(logs.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { policy: string }).policy), ['coldrl(horizon)', 'lru']);
});

test('coldrl train --holdout: trains on the first requests, checks the model on the rest beside LRU and GDSF', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const db = join(dir, 'coldrl.db');
  const whole = await loadTrace(openSource(trace, 'csv'));
  // a size in bytes streams the file; a percentage loads it (both splits are checked)
  for (const [size, name] of [['2m', 'streamed.onnx'], ['2%', 'loaded.onnx']] as const) {
    const out = join(dir, name);
    const r = runCli(['train', '--trace', trace, '--cache-size', size, '--out', out, '--db', db, '--k', '8', '--hidden', '16', '--steps', '400', '--holdout', '0.2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { holdout: Holdout; requestsRead: number };
    assert.ok(j.requestsRead > 0 && j.requestsRead <= 4000, `the trainer replayed ${j.requestsRead} of the first 4000 requests only`);
    assert.equal(j.holdout.from, 4000);
    assert.equal(j.holdout.requests, 1000);
    assert.equal(j.holdout.fraction, 0.2);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
    const cap = resolveCacheSize(parseCacheSize(size), whole.uniqueBytes);
    // the same figures from replays made here, counting the last 1000 requests; the model's from the written file
    for (const [policy, key] of [['lru', 'lru'], ['gdsf', 'gdsf'], [`coldrl:${out}`, 'model']] as const) {
      const e = await replayTrace(whole, policy, cap, size, { semantics: 'nginx', warmUp: 4000, modelFrom: j.holdout.modelFrom });
      assert.equal(e.requests, 1000);
      assert.equal(j.holdout.hitRatio[key], e.hitRatio, `${size} ${key}`);
      if (key === 'model') assert.equal(j.holdout.evictions, e.evictions);
    }
    assert.ok(j.holdout.evictions > 0, 'the cache is full when the held-out requests start');
    // and from the command line, as docs/training.md tells an operator to reproduce it; a coldrl: policy
    // replays in nginx semantics without being told (the streamed run omits the flag), plain only when asked
    const replay = (semantics: string[]) => runCli(['replay', '--trace', trace, '--cache-size', size, ...semantics, '--warm-up', '4000',
      '--model-from', String(j.holdout.modelFrom ?? 0), '--policy', `coldrl:${out},lru,gdsf`, '--json', '--threads', '1']);
    const rep = replay(name === 'streamed.onnx' ? [] : ['--semantics', 'nginx']);
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(/replay: nginx semantics/.test(rep.stderr), name === 'streamed.onnx', rep.stderr);
    const figures = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as { requests: number; hitRatio: number }).map((x) => [x.requests, x.hitRatio]);
    assert.deepEqual(figures(rep.stdout), [[1000, j.holdout.hitRatio.model], [1000, j.holdout.hitRatio.lru], [1000, j.holdout.hitRatio.gdsf]]);
    const plain = replay(['--semantics', 'plain']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.notDeepEqual(figures(plain.stdout), figures(rep.stdout), 'the TTLs expire: plain semantics count other hits');
    const m = await ColdrlModel.load(out);
    t.after(() => m.close());
    assert.deepEqual(holdoutOf(m.metadata), j.holdout);
  }
  const store = new Store(db);
  const ev = store.evaluations();
  store.close();
  assert.deepEqual(ev.map((e) => e.policy), ['model', 'lru', 'gdsf', 'model', 'lru', 'gdsf']);
  assert.match(ev[0]!.trace, /held out from request 4000/);

  const over = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'x.onnx'), '--db', db, '--holdout', '0.6']);
  assert.equal(over.code, 2);
  assert.match(over.stderr, /--holdout must be a share in 0\.\.0\.5/);
  const changed = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'streamed.onnx'), '--db', db, '--resume', '--steps', '500', '--holdout', '0']);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /--holdout cannot change on resume/);
});

test('coldrl train --goal bytes: a model for the byte hit ratio, ranked per object over uniform candidates, checked by bytes', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const out = join(dir, 'bytes.onnx');
  const base = ['train', '--trace', trace, '--cache-size', '2m', '--out', out, '--db', 'none', '--holdout', '0.2'];
  const r = runCli([...base, '--steps', '2000', '--goal', 'bytes', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { holdout: Holdout; hparams: { goal: string; candidates: string } };
  assert.deepEqual([j.hparams.goal, j.hparams.candidates, j.holdout.goal], ['bytes', 'sample', 'bytes']);
  const m = await ColdrlModel.load(out);
  t.after(() => m.close());
  // what replay and the sidecar read: the goal, the source, and scores without a size term to drop
  assert.deepEqual([m.metadata['coldrl.goal'], m.metadata['coldrl.candidates'], m.goal, m.sizeTerm], ['bytes', 'sample', 'bytes', 0]);
  // the margin in bytes is the replays' own
  const whole = await loadTrace(openSource(trace, 'csv'));
  const cap = parseCacheSize('2m').bytes;
  const model = await replayTrace(whole, `coldrl:${out}`, cap, '2m', { semantics: 'nginx', warmUp: 4000 });
  const lru = await replayTrace(whole, 'lru', cap, '2m', { semantics: 'nginx', warmUp: 4000 });
  assert.equal(j.holdout.bytesOverLru, model.byteHits - lru.byteHits);
  assert.equal(j.holdout.byteHitRatio!.model, model.byteHitRatio);
  // it learned its goal: on this trace (sizes 2-120 KB, popularity independent of size) the byte hit ratio
  // measured .354-.368 with seeds 1-3, against LRU's .227 and GDSF's .264 (a goal-hits model: .254-.271)
  const b = j.holdout.byteHitRatio!;
  assert.ok(b.model! > Math.max(b.lru!, b.gdsf!) + 0.03, JSON.stringify(b));

  const resumed = runCli([...base, '--resume', '--steps', '2100', '--goal', 'hits']);
  assert.equal(resumed.code, 2);
  assert.match(resumed.stderr, /trained for goal bytes; --goal cannot change on resume/);
  for (const [extra, msg] of [[['--goal', 'both'], /--goal must be hits or bytes \(got both\)/], [['--goal', 'bytes', '--objective', 'q'], /--goal bytes needs --objective hit-logit/]] as const) {
    const bad = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'x.onnx'), '--db', 'none', ...extra]);
    assert.equal(bad.code, 2, extra.join(' '));
    assert.match(bad.stderr, msg);
  }
});

/** A setting the run recorded (model metadata, checkpoint field) and that --resume refuses to change. */
async function assertKept(t: TestContext, out: string, args: string[], meta: [string, string], ckpt: [keyof Checkpoint, unknown],
  change: [string, string]): Promise<void> {
  const m = await ColdrlModel.load(out);
  t.after(() => m.close());
  assert.equal(m.metadata[meta[0]], meta[1]);
  assert.equal((JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Checkpoint)[ckpt[0]], ckpt[1]);
  const changed = runCli([...args, '--resume', '--steps', '400', ...change]);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, new RegExp(`${change[0]} cannot change on resume`));
}

/**
 * A small training run on a fresh small.csv with `rule` (e.g. --inactive 40s) whose held-out figures must be
 * the replays' under `rules`, for the model, LRU and GDSF; `rules` must change LRU's.
 */
async function heldOutUnder(t: TestContext, rule: string[], rules: ReplayOptions): Promise<{ dir: string; out: string; args: string[]; holdout: Holdout }> {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace); // one request a second on average: in the 2 MiB cache, 40 s idle removes objects that LRU would still hold
  const out = join(dir, 'm.onnx');
  const args = ['train', '--trace', trace, '--cache-size', '2m', '--out', out, '--db', 'none', '--k', '8', '--hidden', '8', '--steps', '300', '--holdout', '0.2', '--json'];
  const r = runCli([...args, ...rule]);
  assert.equal(r.code, 0, r.stderr);
  const { holdout } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { holdout: Holdout };
  const whole = await loadTrace(openSource(trace, 'csv'));
  for (const [policy, key] of [['lru', 'lru'], ['gdsf', 'gdsf'], [`coldrl:${out}`, 'model']] as const) {
    const e = await replayTrace(whole, policy, parseCacheSize('2m').bytes, '2m', { semantics: 'nginx', ...rules, warmUp: 4000 });
    assert.equal(holdout.hitRatio[key], e.hitRatio, key);
    if (key === 'lru') {
      const without = await replayTrace(whole, policy, parseCacheSize('2m').bytes, '2m', { semantics: 'nginx', warmUp: 4000 });
      assert.notEqual(without.hitRatio, e.hitRatio, `${rule.join(' ')} changes the figures checked`);
    }
  }
  return { dir, out, args, holdout };
}

test('coldrl train --min-uses: proxy_cache_min_uses in training and in the held-out check; kept by --resume', async (t) => {
  const { out, args } = await heldOutUnder(t, ['--min-uses', '2'], { minUses: 2 });
  await assertKept(t, out, args, ['coldrl.min_uses', '2'], ['minUses', 2], ['--min-uses', '3']);
  // --ignore-headers and --cache-valid (how NGINX logs are read) are kept the same way
  const read = runCli([...args, '--out', join(dirOf(out), 'read.onnx'), '--cache-valid', '404 1m', '--ignore-headers', 'Set-Cookie']);
  assert.equal(read.code, 0, read.stderr);
  const reading = { ignoreHeaders: ['set-cookie'], cacheValid: [{ status: 404, ttl: 60 }] };
  assert.deepEqual((JSON.parse(readFileSync(join(dirOf(out), 'read.onnx.ckpt.json'), 'utf8')) as Checkpoint).reading, reading);
  const changed = runCli([...args, '--out', join(dirOf(out), 'read.onnx'), '--resume', '--steps', '400', '--cache-valid', '404 2m']);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /--ignore-headers or --cache-valid cannot change on resume/);
  const bad = runCli([...args, '--min-uses', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--min-uses must be an integer in 1\.\.1000000 \(got 0\)/);
});

test('coldrl train --inactive: nginx\'s inactive= in training and in the held-out check; kept by --resume; the lines printed', async (t) => {
  const { dir, out, args, holdout } = await heldOutUnder(t, ['--inactive', '40s'], { inactive: 40 });
  await assertKept(t, out, args, ['coldrl.inactive', '40'], ['inactive', 40], ['--inactive', '1h']);
  // the same cache read from the proxy_cache_path NGINX runs: max_size=2m, inactive=40s
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, 'http { proxy_cache_path /var/cache/nginx levels=1:2 keys_zone=web:8m max_size=2m inactive=40s; }\n');
  const fromConf = runCli([...args.filter((a, i) => a !== '--cache-size' && args[i - 1] !== '--cache-size'), '--out', join(dir, 'conf.onnx'),
    '--nginx-conf', conf, '--cache-zone', 'web']);
  assert.equal(fromConf.code, 0, fromConf.stderr);
  assert.deepEqual((JSON.parse(fromConf.stdout.trim().split('\n').pop()!) as { holdout: Holdout }).holdout.hitRatio, holdout.hitRatio);
  // printed: the held-out line, and the candidate source to set in nginx.conf
  const text = runCli([...args.filter((a) => a !== '--json'), '--out', join(dir, 'aged.onnx'), '--candidates', 'aged']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^held-out hit ratio 0\.\d{4} \(LRU .*\); byte hit ratio 0\.\d{4} \(LRU 0\.\d{4}, GDSF 0\.\d{4}\)$/m);
  assert.match(text.stdout, /^in nginx\.conf beside it: coldrl_k 8; coldrl_candidates aged;$/m);
  assert.doesNotMatch(text.stderr, /inactive/, 'no note for a CSV trace');
  // NGINX logs without --inactive: a note that NGINX removes idle objects and the simulation does not
  const log = join(dir, 'access.log');
  assert.equal(runCli(['workload', 'trap', '--seed', '1', '--requests', '3000', '--format', 'nginx-json', '--out', log]).code, 0);
  const logArgs = ['train', '--trace', log, '--cache-size', '2m', '--db', 'none', '--k', '8', '--hidden', '8', '--steps', '200', '--holdout', '0'];
  const noted = runCli([...logArgs, '--out', join(dir, 'log.onnx')]);
  assert.equal(noted.code, 0, noted.stderr);
  assert.match(noted.stderr, /^note: NGINX removes cached objects idle for proxy_cache_path's inactive= .* Pass --inactive/m);
  const bad = runCli([...args, '--inactive', 'ten minutes']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /train: --inactive: cannot parse the time "ten minutes"/);
});

/**
 * `coldrl train` for ten million decisions on a trace held in memory (a percentage cache size without a
 * spool loads it: the loop never waits on a read), sent `signal` 4 s in: its exit code and stdout.
 */
async function stopLongRun(trace: string, out: string, db: string, extra: string[], signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [CLI, 'train', '--trace', trace, '--cache-size', '5%', '--spool-dir', 'none', '--out', out, '--db', db, '--k', '8', '--hidden', '8',
    '--steps', '10000000', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  await new Promise((r) => setTimeout(r, 4000)); // set up, and well into training
  child.kill(signal);
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exit;
  clearTimeout(killer);
  return { code, stdout };
}

test('Ctrl-C stops coldrl train on a trace held in memory: the model so far, the checkpoint, exit 130', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const out = join(dir, 'm.onnx');
  const { code, stdout } = await stopLongRun(trace, out, 'none', ['--holdout', '0'], 'SIGINT');
  assert.equal(code, 130, `exit code (stdout: ${stdout.slice(-300)})`);
  assert.match(stdout, /^interrupted on requests /m);
  assert.ok(existsSync(out) && existsSync(`${out}.ckpt.json`), 'the model so far and the checkpoint are written');
});

test('Ctrl-C during the held-out check, streamed from the spool or in memory: the model is written without its figures, exit 130', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'cdn.csv');
  writeWorkload(WORKLOADS.cdn!.generate(1, 300_000), 'csv', trace);
  for (const extra of [[], ['--spool-dir', 'none']]) {
    const out = join(dir, `m${extra.length}.onnx`);
    const child = spawn(process.execPath, [CLI, 'train', '--trace', trace, '--cache-size', '1%', '--out', out, '--db', 'none', '--k', '8', '--hidden', '8',
      '--steps', '200', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    // the checked file is written (under a temporary name of its own) just before the check replays all 300,000 requests under it
    const tmp = () => readdirSync(dir).filter((f) => f.startsWith(`m${extra.length}.onnx.`) && f.endsWith('.tmp.onnx'));
    const until = Date.now() + 120_000;
    while (tmp().length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(tmp().length, 1, 'the check started');
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exit;
    clearTimeout(killer);
    const what = extra.join(' ') || 'spooled';
    assert.equal(code, 130, `${what}: exit code (stdout: ${stdout.slice(-300)})`);
    assert.match(stdout, /^held-out check interrupted: the model is written without its figures/m, what);
    assert.deepEqual(tmp(), [], what);
    // the training completed: its checkpoint is written with the model, after the check
    assert.equal((JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Checkpoint).decisions, 200, what);
    const m = await ColdrlModel.load(out);
    t.after(() => m.close());
    assert.equal(m.metadata[HOLDOUT_KEY], undefined, what);
    assert.equal(m.metadata['coldrl.decisions'], '200', what);
  }
});

test('coldrl train --cache-size in %: counted as the trace is spooled, with the figures of the trace loaded whole (--spool-dir none)', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const run = (extra: string[]) => {
    const r = runCli(['train', '--trace', trace, '--cache-size', '5%', '--out', join(dir, `m${extra.length}.onnx`), '--db', 'none', '--k', '8', '--hidden', '8', '--steps', '300', '--holdout', '0.2', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return { j: JSON.parse(r.stdout.trim().split('\n').pop()!) as { capacity: number; holdout: Holdout }, stderr: r.stderr };
  };
  const spooled = run([]), loaded = run(['--spool-dir', 'none']);
  assert.match(spooled.stderr, /requests parsed once, spooled in/);
  assert.doesNotMatch(loaded.stderr, /spooled/);
  assert.ok(spooled.j.holdout.hitRatio.lru > 0);
  assert.deepEqual(spooled.j.holdout, loaded.j.holdout);
});

test('coldrl train --keys-zone: the node limit in training and in the held-out check; kept by --resume; from --cache-zone', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace); // 600 objects of 2-120 kB: 8 MiB holds about 140 of them, a 16k keys zone 63
  const out = join(dir, 'm.onnx');
  const args = ['train', '--trace', trace, '--cache-size', '8m', '--inactive', '1d', '--out', out, '--db', 'none', '--k', '8', '--hidden', '8', '--steps', '300', '--holdout', '0.2', '--json'];
  const r = runCli([...args, '--keys-zone', '16k']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { holdout: Holdout };
  assert.equal(j.holdout.zoneFull, true);
  assert.match(r.stderr, /note: the keys zone filled/, 'with --json the notes go to stderr');
  assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout is the one JSON line');
  const whole = await loadTrace(openSource(trace, 'csv'));
  const lru = (keysLimit?: number) => replayTrace(whole, 'lru', parseCacheSize('8m').bytes, '8m', { semantics: 'nginx', inactive: 86400, keysLimit, warmUp: 4000 });
  assert.equal(j.holdout.hitRatio.lru, (await lru(63)).hitRatio);
  assert.notEqual(j.holdout.hitRatio.lru, (await lru()).hitRatio, 'the keys zone changes the figures checked');
  await assertKept(t, out, args, ['coldrl.keys_limit', '63'], ['keysLimit', 63], ['--keys-zone', '1m']);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, 'proxy_cache_path /var/cache/nginx keys_zone=web:16k max_size=8m inactive=1d;\n');
  const fromConf = runCli([...args.filter((a, i) => !['--cache-size', '--inactive'].includes(a) && !['--cache-size', '--inactive'].includes(args[i - 1]!)),
    '--out', join(dir, 'conf.onnx'), '--nginx-conf', conf, '--cache-zone', 'web']);
  assert.equal(fromConf.code, 0, fromConf.stderr);
  assert.deepEqual((JSON.parse(fromConf.stdout.trim().split('\n').pop()!) as { holdout: Holdout }).holdout.hitRatio, j.holdout.hitRatio);
  // a keys zone changed in the config since: --resume refuses it, and says where the value came from
  writeFileSync(conf, 'proxy_cache_path /var/cache/nginx keys_zone=web:1m max_size=8m inactive=1d;\n');
  const changed = runCli([...args.filter((a, i) => !['--cache-size', '--inactive'].includes(a) && !['--cache-size', '--inactive'].includes(args[i - 1]!)),
    '--out', join(dir, 'conf.onnx'), '--nginx-conf', conf, '--cache-zone', 'web', '--resume']);
  assert.equal(changed.code, 2, changed.stderr);
  assert.match(changed.stderr, /--keys-zone \(here read from \S+nginx\.conf\) cannot change on resume/);
});

test('coldrl train reads NGINX logs as coldrl replay does: --log-format, --default-ttl (kept by --resume, in the model)', async (t) => {
  const dir = tempDir(t);
  const json = join(dir, 'access.json.log');
  assert.equal(runCli(['workload', 'trap', '--seed', '1', '--requests', '3000', '--format', 'nginx-json', '--out', json]).code, 0);
  // the same requests in a text format of the operator's own, without Cache-Control: no TTL but --default-ttl's
  const fmt = '$msec|$upstream_cache_status|$status|$request_method|$request_uri|$upstream_response_length|$upstream_response_time';
  const log = join(dir, 'access.log');
  writeFileSync(log, readFileSync(json, 'utf8').trim().split('\n').map((l) => {
    const o = JSON.parse(l) as Record<string, string | number>;
    return [o.ts, o.cache, o.status, o.method, o.key, o.up_len, o.up_rt].join('|');
  }).join('\n') + '\n');
  const out = join(dir, 'm.onnx');
  // --replace-below-lru: the runs write over each other whatever the check says (this small model may lose to LRU)
  const args = ['train', '--trace', log, '--format', 'nginx-combined', '--log-format', fmt, '--cache-size', '2m', '--out', out, '--db', 'none',
    '--k', '8', '--hidden', '8', '--steps', '200', '--holdout', '0.2', '--json', '--replace-below-lru'];
  const r = runCli([...args, '--default-ttl', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /access\.log: lines read 3000, requests used 3000, skipped 0/, 'the reader\'s summary, as coldrl replay prints it');
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { holdout: Holdout };
  assert.match(r.stderr, /3000 requests parsed once, spooled in \S+ \([\d.]+ KiB, freed at exit\)/);
  // without the spool (the log parsed on every pass), or where it cannot be written: the same figures, one summary
  for (const spool of ['none', join(dir, 'missing')]) {
    const again = runCli([...args, '--default-ttl', '5', '--spool-dir', spool]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout.trim().split('\n').pop()!) as { holdout: Holdout }).holdout, j.holdout);
    assert.equal(again.stderr.match(/lines read 3000/g)?.length, 1, again.stderr);
    if (spool !== 'none') assert.match(again.stderr, /could not be spooled in \S+missing \(ENOENT[^)]*\); the file is parsed again on every pass/);
  }
  const replay = (ttl: string[]) => {
    const rep = runCli(['replay', '--trace', log, '--format', 'nginx-combined', '--log-format', fmt, ...ttl, '--cache-size', '2m', '--semantics', 'nginx',
      '--warm-up', String(j.holdout.from), '--model-from', String(j.holdout.modelFrom ?? 0), '--policy', `coldrl:${out},lru,gdsf`, '--json', '--threads', '1']);
    assert.equal(rep.code, 0, rep.stderr);
    return Object.fromEntries(rep.stdout.trim().split('\n').map((l) => JSON.parse(l) as { policy: string; hitRatio: number }).map((x) => [x.policy, x.hitRatio]));
  };
  const same = replay(['--default-ttl', '5']);
  assert.deepEqual([j.holdout.hitRatio.model, j.holdout.hitRatio.lru, j.holdout.hitRatio.gdsf], [same[`coldrl:${out}`], same.lru, same.gdsf]);
  assert.notEqual(replay([]).lru, same.lru, 'the default TTL changes the figures checked');
  await assertKept(t, out, args, ['coldrl.default_ttl', '5'], ['defaultTtl', 5], ['--default-ttl', '1m']);
  // without the operator's log_format no line parses
  const unread = runCli(args.filter((a, i) => a !== '--log-format' && args[i - 1] !== '--log-format'));
  assert.notEqual(unread.code, 0);
  assert.match(unread.stderr, /access\.log: no requests read \(lines read 3000, requests used 0, skipped 3000 .*\); do its lines match the log_format\? --log-format, or --nginx-conf with --log-format-name/);
  // --nginx-conf alone: the log_format its access_log names
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `http {\n  log_format mine '${fmt}';\n  log_format other '$msec $request_uri';\n  access_log /var/log/nginx/access.log mine;\n}\n`);
  const fromConf = runCli([...args.filter((a, i) => a !== '--log-format' && args[i - 1] !== '--log-format'), '--default-ttl', '5', '--nginx-conf', conf]);
  assert.equal(fromConf.code, 0, fromConf.stderr);
  assert.match(fromConf.stderr, /reading the logs in log_format mine, the one the access_log of .* names/);
  assert.deepEqual((JSON.parse(fromConf.stdout.trim().split('\n').pop()!) as { holdout: Holdout }).holdout.hitRatio, j.holdout.hitRatio);
});

test('coldrl train --candidates auto: picks the source on the training part\'s last tenth, never on the held-out requests', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const out = join(dir, 'auto.onnx');
  const r = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', out, '--db', join(dir, 'coldrl.db'), '--k', '8', '--hidden', '16', '--steps', '400',
    '--holdout', '0.2', '--candidates', 'auto', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { candidatesAuto: SourceChoice; hparams: { candidates: string }; holdout: Holdout; decisions: number };
  const c = j.candidatesAuto;
  assert.deepEqual(Object.keys(c.hitRatio), [...AUTO_SOURCES]);
  assert.equal(c.from, 3600, 'the validation requests are the last tenth of the 4000 trained on');
  assert.equal(c.decisions, 200);
  assert.equal(j.decisions, 400);
  for (const other of AUTO_SOURCES) assert.ok(c.hitRatio[c.chosen]! >= c.hitRatio[other]!, JSON.stringify(c));
  assert.equal(j.hparams.candidates, c.chosen);
  // the validation figures replay requests 3600..3999 only (warmed up on 0..3599): LRU's, made here
  const whole = await loadTrace(openSource(trace, 'csv'));
  const lru = await replayTrace(whole.slice(0, 4000), 'lru', parseCacheSize('2m').bytes, '2m', { semantics: 'nginx', warmUp: 3600 });
  assert.equal(c.lru, lru.hitRatio);
  const m = await ColdrlModel.load(out);
  t.after(() => m.close());
  assert.equal(m.metadata['coldrl.candidates'], c.chosen);
  assert.deepEqual(JSON.parse(m.metadata['coldrl.candidates_auto']!), c);
  assert.equal(holdoutOf(m.metadata)?.from, 4000);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.auto-')), [], 'the trial models are removed');
  // --goal bytes: the per-object sources, chosen by the bytes served (the same validation requests for all)
  const bytes = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'bytes.onnx'), '--db', 'none', '--k', '8', '--hidden', '16',
    '--steps', '400', '--holdout', '0.2', '--candidates', 'auto', '--goal', 'bytes', '--json']);
  assert.equal(bytes.code, 0, bytes.stderr);
  const jb = JSON.parse(bytes.stdout.trim().split('\n').pop()!) as { candidatesAuto: SourceChoice; hparams: { candidates: string; goal: string } };
  const cb = jb.candidatesAuto;
  assert.deepEqual(Object.keys(cb.byteHitRatio!), [...AUTO_BYTES_SOURCES]);
  for (const other of AUTO_BYTES_SOURCES) assert.ok(cb.byteHitRatio![cb.chosen]! >= cb.byteHitRatio![other]!, JSON.stringify(cb));
  assert.deepEqual([jb.hparams.candidates, jb.hparams.goal], [cb.chosen, 'bytes']);
  assert.ok(cb.lruBytes! > 0 && cb.lruBytes! < 1);
  // the pick, also when every model is below LRU
  assert.equal(bestSource({ large: -30, sample: -10 }), 'sample');
  assert.equal(bestSource({ large: 12, sample: 12 }), 'large', 'a tie keeps the first');
  assert.equal(bestSource({ large: 5, sample: -1 }), 'large');
});

/** n requests of n distinct 100-byte objects: in a 1000-byte cache every request after the tenth evicts one. */
function writeUniques(path: string, n: number): void {
  const lines = ['timestamp,obj_id,size,ttl'];
  for (let i = 0; i < n; i++) lines.push(`${i},u${i},100,86400`);
  writeFileSync(path, lines.join('\n') + '\n');
}

/**
 * n requests: every 10th a new 900-byte object, the others cycling over 2,000 one-byte objects. In a
 * 3,000-byte cache LRU holds about 30 objects and evicts once per request; GDSF keeps the 2,000 small ones
 * beside one large and evicts once per 10 requests (the large one before).
 */
function writeSmallsAndLarge(path: string, n: number): void {
  const lines = ['timestamp,obj_id,size,ttl'];
  for (let i = 0, s = 0, b = 0; i < n; i++) lines.push(i % 10 === 9 ? `${i},b${b++},900,86400` : `${i},s${s++ % 2000},1,86400`);
  writeFileSync(path, lines.join('\n') + '\n');
}

test('recentStart: the newest stretch with the evictions asked for, to 4096 requests, in memory and streamed; the check\'s, at least two cachefuls of LRU and of GDSF', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'uniques.csv');
  writeUniques(file, 20_000);
  const trace = await loadTrace(openSource(file, 'csv'));
  // [s, 20000) holds 20000 - s evictions: the largest multiple of 4096 with 5000 of them is 12288; the
  // cache holds 10 objects, so the check's model needs 20 evictions: the training stretch has them
  assert.deepEqual(await recentStart(trace, 1000, 5000), { train: 12_288, check: 12_288 });
  assert.deepEqual(await recentStart({ path: file }, 1000, 5000), { train: 12_288, check: 12_288 });
  assert.deepEqual(await recentStart({ path: file, limit: 16_000 }, 1000, 5000), { train: 8192, check: 8192 }, 'counted up to the limit only');
  assert.deepEqual(await recentStart(trace, 1000, 1e9), { train: 0, check: 0 }, 'too few evictions anywhere: from the first request');
  // 3000 objects cached: [s, 20000) holds 20000 - max(s, 3000) evictions; 6000 of them from 12288 on
  assert.deepEqual(await recentStart(trace, 300_000, 2000), { train: 16_384, check: 12_288 }, 'the check starts earlier');
  assert.deepEqual(await recentStart(trace, 1_000_000, 2000), { train: 16_384, check: 0 }, 'fewer than two cachefuls anywhere: the check from the first request');
  // LRU alone would start the check with training, at 57344 (two of its cachefuls are 60 requests); GDSF
  // holds 2,001 objects at the split and evicts 4,002 times in the last 40,020 requests: from 16384 on
  const mixed = join(dir, 'mixed.csv');
  writeSmallsAndLarge(mixed, 60_000);
  assert.deepEqual(await recentStart({ path: mixed }, 3000, 1000), { train: 57_344, check: 16_384 }, 'two of GDSF\'s cachefuls too');
});

test('coldrl train --train-on: recent (default) trains on the newest requests before the held-out ones; all from the first; kept by --resume', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'uniques.csv');
  writeUniques(file, 30_000);
  const out = join(dir, 'm.onnx');
  const args = ['train', '--trace', file, '--cache-size', '1000', '--out', out, '--db', 'none', '--k', '8', '--hidden', '8', '--steps', '300', '--json'];
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { trainedFrom: number; requestsRead: number; holdout: Holdout };
  // requests 0..26999 before the held-out tenth; 600 evictions (2 per decision) fit in the last block start,
  // 24576; the requests before it are replayed first (LRU, no decision), so the cache is full when the
  // stretch starts: one decision per request from its first, and 300 decisions end at its 300th (from a
  // cold cache, the first ten requests would fill it and the run end at the 310th)
  assert.deepEqual([j.holdout.from, j.trainedFrom, j.requestsRead], [27_000, 24_576, 300]);
  assert.equal(j.holdout.modelFrom, undefined, 'by default the check asks the model from the first request');
  const fromStretch = runCli([...args, '--check-from', 'stretch', '--out', join(dir, 'stretch.onnx')]);
  assert.equal(fromStretch.code, 0, fromStretch.stderr);
  const stretchJ = JSON.parse(fromStretch.stdout.trim().split('\n').pop()!) as { trainedFrom: number; holdout: Holdout };
  assert.deepEqual([stretchJ.trainedFrom, stretchJ.holdout.modelFrom], [24_576, 24_576], '--check-from stretch: from the training stretch on, which holds two cachefuls of evictions');
  const badCheck = runCli([...args, '--check-from', 'middle']);
  assert.equal(badCheck.code, 2);
  assert.match(badCheck.stderr, /--check-from must be first or stretch \(got middle\)/);
  const noStretch = runCli([...args, '--check-from', 'stretch', '--train-on', 'all']);
  assert.equal(noStretch.code, 2);
  assert.match(noStretch.stderr, /--check-from stretch needs a training stretch/);
  const m = await ColdrlModel.load(out);
  t.after(() => m.close());
  assert.equal(m.metadata['coldrl.trained_requests'], '24576..24875');
  assert.match(m.metadata['coldrl.commit']!, /^[0-9a-f]{12}$/, 'the commit the model was trained at');
  // a checkpoint from before the history (no `history` flag) resumes as it began: recent-cold
  const ck = JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Record<string, unknown>;
  assert.deepEqual([ck.trainOn, ck.history], ['recent', true]);
  delete ck.history;
  writeFileSync(`${out}.ckpt.json`, JSON.stringify(ck));
  const old = runCli([...args, '--resume', '--steps', '400', '--train-on', 'recent']);
  assert.equal(old.code, 2);
  assert.match(old.stderr, /the checkpoint trained on recent-cold requests; --train-on cannot change on resume/);
  const oldResumed = runCli([...args, '--resume', '--steps', '400']);
  assert.equal(oldResumed.code, 0, oldResumed.stderr);
  assert.equal((JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as { trainOn: string }).trainOn, 'recent-cold');
  const resumed = runCli([...args, '--resume', '--steps', '400', '--train-on', 'all']);
  assert.equal(resumed.code, 2);
  assert.match(resumed.stderr, /--train-on cannot change on resume/);
  // recent-cold: the same stretch from an empty cache, as before the history: ten requests fill it
  const cold = runCli([...args, '--train-on', 'recent-cold', '--out', join(dir, 'cold.onnx')]);
  assert.equal(cold.code, 0, cold.stderr);
  const coldJ = JSON.parse(cold.stdout.trim().split('\n').pop()!) as { trainedFrom: number; requestsRead: number };
  assert.deepEqual([coldJ.trainedFrom, coldJ.requestsRead], [24_576, 310]);
  const all = runCli([...args, '--train-on', 'all', '--out', join(dir, 'all.onnx')]);
  assert.equal(all.code, 0, all.stderr);
  const allJ = JSON.parse(all.stdout.trim().split('\n').pop()!) as { trainedFrom: number; holdout: Holdout };
  assert.equal(allJ.trainedFrom, 0);
  assert.equal(allJ.holdout.modelFrom, undefined, 'trained from the first request: the model decides from the first');
  const bad = runCli([...args, '--train-on', 'oldest']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--train-on must be recent, recent-cold, all/);
});

test('coldrl train --resume: a corrupt checkpoint is refused with one line (exit 2) before the trace is read', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const out = join(dir, 'm.onnx');
  const args = ['train', '--trace', trace, '--cache-size', '2m', '--out', out, '--db', 'none', '--k', '8', '--hidden', '8', '--holdout', '0'];
  const r = runCli([...args, '--steps', '200']);
  assert.equal(r.code, 0, r.stderr);
  const good = JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Record<string, unknown>;
  const online = good.online as Record<string, unknown>;
  for (const [ck, msg] of [
    [{ format: 'coldrl-checkpoint-1' }, /no hparams/],
    [{ ...good, online: undefined }, /no online weights/],
    [{ ...good, target: { ...online, w2: [1, 2] } }, /target: checkpoint weight w2: expected 64 numbers/],
    [{ ...good, hparams: { ...(good.hparams as object), hidden: 16 } }, /online weights of \d+ features x 8 hidden, not \d+ x 16/],
    [{ ...good, hparams: { ...(good.hparams as object), objective: 'dqn' } }, /hparams\.objective "dqn"/],
    [{ ...good, decisions: -1 }, /decisions is -1/],
    ['{"format":', /not JSON/],
  ] as const) {
    writeFileSync(`${out}.ckpt.json`, typeof ck === 'string' ? ck : JSON.stringify(ck));
    const b = runCli([...args, '--resume', '--steps', '300']);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /^coldrl: train --resume: \S+m\.onnx\.ckpt\.json is not a usable checkpoint \(/, b.stderr);
    assert.match(b.stderr, msg);
    assert.doesNotMatch(b.stderr + b.stdout, /internal error|spooled/);
  }
});

test('coldrl train: integer options are decimal digits (1e3, 0x20, 1.0 and an empty value are refused)', (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  for (const [flag, value] of [['--steps', '1e3'], ['--k', '0x20'], ['--seed', ''], ['--hidden', '16.0'], ['--min-uses', ' 2']] as const) {
    const r = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'm.onnx'), '--db', 'none', flag, value]);
    assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`train: ${flag} must be an integer in`));
  }
  assert.ok(!existsSync(join(dir, 'm.onnx')));
});

test('coldrl train --out that cannot be written: refused before the trace is read, one line, exit 2', (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  mkdirSync(join(dir, 'models'));
  const cases: [string, RegExp][] = [
    [join(dir, 'models'), /models: is a directory; name the model file to write/], // EISDIR after training and the check
    [join(file, 'm.onnx'), /cannot make the model's folder \S+plain-file \((EEXIST|ENOTDIR)/], // EEXIST after training
  ];
  if (process.getuid?.() !== 0) {
    const ro = join(dir, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    t.after(() => chmodSync(ro, 0o755));
    cases.push([join(ro, 'm.onnx'), /cannot write files in \S+read-only \(EACCES/]); // EACCES on .ckpt.json.tmp after training
  }
  for (const [out, msg] of cases) {
    const r = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', out, '--db', 'none', '--k', '8', '--hidden', '8', '--steps', '200']);
    assert.equal(r.code, 2, `${out}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr + r.stdout, /internal error|spooled|trained on/, 'refused before the trace is read');
  }
  assert.deepEqual(readdirSync(join(dir, 'models')), [], 'nothing left in the folder named');
});

test('an interrupted coldrl train never replaces a model at --out (SIGTERM as Ctrl-C): the checkpoint is written, the run ends interrupted, exit 143', async (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const out = join(dir, 'm.onnx');
  const db = join(dir, 'coldrl.db');
  writeFileSync(out, 'the model in production');
  const { code, stdout } = await stopLongRun(trace, out, db, ['--holdout', '0.1'], 'SIGTERM');
  assert.equal(code, 143, `exit code (stdout: ${stdout.slice(-300)})`);
  assert.match(stdout, /^interrupted on requests /m);
  assert.match(stdout, /^model not written: the one at \S+m\.onnx is kept, as an interrupted run never replaces a model; checkpoint /m);
  assert.equal(readFileSync(out, 'utf8'), 'the model in production');
  const ck = JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Checkpoint;
  assert.ok(ck.decisions > 0, 'the checkpoint, for --resume');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  const store = new Store(db);
  t.after(() => store.close());
  assert.deepEqual(store.runs().map((r) => r.status), ['interrupted']);
  assert.equal(store.models().length, 0, 'no model recorded');
});

test('runTraining stopped while sizing the training stretch writes nothing (no model, no checkpoint) and ends the run interrupted; an error there ends it failed', async (t) => {
  await resolveBackend('wasm');
  const dir = tempDir(t);
  const file = join(dir, 'uniques.csv');
  writeUniques(file, 50_000);
  const db = join(dir, 'coldrl.db');
  const hp = { ...DEFAULT_HPARAMS, k: 8, hidden: 8, totalDecisions: 500, learningStarts: 100 };
  const whole = await loadTrace(openSource(file, 'csv'));
  for (const trace of [{ path: file }, whole]) {
    const out = join(dir, 'm.onnx');
    let asked = 0;
    await assert.rejects(runTraining({ hp, traceName: file, trace, capacity: 1000, cacheSizeText: '1000', out, db, backend: 'wasm', recent: true, shouldStop: () => ++asked > 0 }),
      (e: Error) => isColdrlError(e) && e.code === 'COLDRL_ERR_INTERRUPTED' && /while sizing the training stretch: nothing trained, no model or checkpoint written/.test(e.message));
    assert.ok(asked > 0, 'asked while sizing');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('m.onnx')), [], 'nothing written');
  }
  // a malformed line found while sizing (the file is first read there): the run ends failed, not running
  writeFileSync(file, `${readFileSync(file, 'utf8')}oops\n`);
  await assert.rejects(runTraining({ hp, traceName: file, trace: { path: file }, capacity: 1000, cacheSizeText: '1000', out: join(dir, 'm.onnx'), db, backend: 'wasm', recent: true }),
    (e: Error) => isColdrlError(e) && e.code === 'COLDRL_ERR_BAD_LINE');
  const store = new Store(db);
  t.after(() => store.close());
  assert.deepEqual(store.runs().map((r) => r.status), ['interrupted', 'interrupted', 'failed']);
  assert.ok(store.runs().every((r) => r.ended !== null));
});

test('coldrl train --resume refuses every setting the checkpoint keeps when it differs, the cache size and the trace included (older checkpoints: taken as given)', (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const other = join(dir, 'other.csv');
  writeFileSync(other, readFileSync(trace));
  const out = join(dir, 'm.onnx');
  const base = (tr: string, size: string) => ['train', '--trace', tr, '--cache-size', size, '--out', out, '--db', 'none', '--holdout', '0', '--json'];
  const args = [...base(trace, '2m'), '--k', '8', '--hidden', '8', '--seed', '3'];
  const r = runCli([...args, '--steps', '200']);
  assert.equal(r.code, 0, r.stderr);
  const ck = JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Checkpoint;
  assert.deepEqual([ck.capacity, ck.trace], [2 * 2 ** 20, trace]);
  for (const [flag, value, what] of [['--k', '16', 'decided among 8 candidates'], ['--candidates', 'tail', `took its candidates from ${DEFAULT_SOURCE}`],
    ['--hidden', '16', 'has a hidden width of 8'], ['--seed', '4', 'was seeded with 3'], ['--objective', 'q', 'learned hit-logit'],
    ['--window', '2048', `streamed windows of ${DEFAULT_HPARAMS.window} requests`], ['--horizon', '1', `had a horizon of ${DEFAULT_HPARAMS.horizonFactor}`],
    ['--reward', 'paper', 'was trained on the horizon reward'], ['--cache-size', '3m', 'trained a cache of 2097152 bytes'], ['--trace', other, `was trained on ${trace}`]] as const) {
    const changed = flag === '--trace' ? base(other, '2m') : flag === '--cache-size' ? base(trace, value) : [...args, flag, value];
    const b = runCli([...changed, '--resume', '--steps', '300']);
    assert.equal(b.code, 2, `${flag} ${value}: ${b.stderr}`);
    assert.equal(b.stderr, `coldrl: train --resume: the checkpoint ${what}; ${flag} cannot change on resume [COLDRL_ERR_USAGE]\n`);
  }
  // the same settings, and --candidates auto (the source the run chose): continued
  const same = runCli([...args, '--candidates', 'auto', '--resume', '--steps', '300']);
  assert.equal(same.code, 0, same.stderr);
  assert.equal((JSON.parse(same.stdout.trim().split('\n').pop()!) as { decisions: number }).decisions, 300);
  // a checkpoint from before the cache size and the trace were recorded: taken as given, recorded from then on
  const old = JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Record<string, unknown>;
  delete old.capacity;
  delete old.trace;
  writeFileSync(`${out}.ckpt.json`, JSON.stringify(old));
  const resized = runCli([...base(other, '3m'), '--resume', '--steps', '400']);
  assert.equal(resized.code, 0, resized.stderr);
  const after = JSON.parse(readFileSync(`${out}.ckpt.json`, 'utf8')) as Checkpoint;
  assert.deepEqual([after.decisions, after.capacity, after.trace], [400, 3 * 2 ** 20, other]);
});

test('coldrl train --resume with another --db starts a new run there (and says so) rather than take over the run of the same id', (t) => {
  const dir = tempDir(t);
  const [a, b] = [join(dir, 'a.csv'), join(dir, 'b.csv')];
  writeTrace(a);
  writeFileSync(b, readFileSync(a));
  const [dbA, dbB] = [join(dir, 'a.db'), join(dir, 'b.db')];
  const train = (trace: string, out: string, db: string, extra: string[]) => {
    const r = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, out), '--db', db, '--k', '8', '--hidden', '8', '--holdout', '0', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return { run: (JSON.parse(r.stdout.trim().split('\n').pop()!) as { run: number }).run, stderr: r.stderr };
  };
  assert.equal(train(a, 'a.onnx', dbA, ['--steps', '200']).run, 1);
  assert.equal(train(b, 'b.onnx', dbB, ['--steps', '200']).run, 1);
  const before = (() => { const s = new Store(dbB); try { return s.runs()[0]!; } finally { s.close(); } })();
  const moved = train(a, 'a.onnx', dbB, ['--resume', '--steps', '300']);
  assert.equal(moved.run, 2);
  assert.match(moved.stderr, new RegExp(`note: the checkpoint's run 1 is not in \\S+b\\.db \\(its run 1 is another one, b\\.csv__dqn__1__\\d+\\): recorded as a new run, 2`));
  assert.equal(train(a, 'a.onnx', dbB, ['--resume', '--steps', '400']).run, 2, 'resumed again there: the new run, by id and name');
  const s = new Store(dbB);
  t.after(() => s.close());
  const runs = s.runs();
  assert.deepEqual(runs[0], before, 'the other run is untouched');
  assert.deepEqual(runs.map((r) => [r.trace, r.status]), [[b, 'done'], [a, 'done']]);
  assert.equal(s.models().filter((m) => m.run === 1).length, 1);
});

test('coldrl train --db naming a file that is not a store: refused before the trace is read', (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'small.csv');
  writeTrace(trace);
  const db = join(dir, 'notes.txt');
  writeFileSync(db, 'not a store\n'.repeat(100));
  const r = runCli(['train', '--trace', trace, '--cache-size', '2m', '--out', join(dir, 'm.onnx'), '--db', db, '--k', '8', '--hidden', '8', '--steps', '200']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /notes\.txt: cannot open the store/);
  assert.doesNotMatch(r.stderr + r.stdout, /spooled|trained on/);
  assert.equal(readFileSync(db, 'utf8'), 'not a store\n'.repeat(100));
});

/**
 * A large object requested every other time, one-off 10-byte objects between: in a cache that holds it and
 * one small object LRU hits it every other request, and a model that ranks hits per byte evicts it.
 */
function writeHotLarge(path: string, pairs: number): void {
  const lines = ['timestamp,obj_id,size,ttl'];
  for (let i = 0; i < pairs; i++) lines.push(`${2 * i},A,100000,86400`, `${2 * i + 1},x${i},10,86400`);
  writeFileSync(path, lines.join('\n') + '\n');
}

test('a model that lost to LRU on the held-out requests does not replace one at --out: written beside it, exit 3; --replace-below-lru writes it there', (t) => {
  const dir = tempDir(t);
  const trace = join(dir, 'hot.csv');
  writeHotLarge(trace, 1500);
  const out = join(dir, 'm.onnx');
  const train = (extra: string[]) => runCli(['train', '--trace', trace, '--cache-size', '100100', '--out', out, '--db', 'none', '--k', '8', '--hidden', '8', '--steps', '200', ...extra]);
  const first = train([]);
  assert.equal(first.code, 0, `nothing at --out: written there, with the warning: ${first.stderr}`);
  assert.match(first.stderr, /warning: \S*m\.onnx lost to LRU on the held-out requests \(150 hits\)/);
  const kept = readFileSync(out);
  const second = train(['--seed', '2']);
  assert.equal(second.code, 3, second.stderr);
  assert.match(second.stdout, /model not written over \S*m\.onnx, which is kept \(it lost to LRU .*\): written to \S*m\.below-lru\.onnx/);
  assert.ok(readFileSync(out).equals(kept), 'the model at --out is untouched');
  assert.ok(existsSync(join(dir, 'm.below-lru.onnx')));
  const forced = train(['--seed', '2', '--replace-below-lru', '--json']);
  assert.equal(forced.code, 0, forced.stderr);
  const j = JSON.parse(forced.stdout.trim().split('\n').pop()!) as { model: string; keptOut: boolean };
  assert.deepEqual([j.model, j.keptOut], [out, false]);
  assert.ok(!readFileSync(out).equals(kept), 'replaced');
});

test('train() refuses settings that would never take a gradient step or never end (a zero frequency, a buffer below learningStarts)', async () => {
  const t = trap(1, 2000);
  const env = { capacity: 4 * 1024 * 1024, pass: async function* () { yield t; } };
  const base = { ...DEFAULT_HPARAMS, k: 8, hidden: 8, totalDecisions: 500, learningStarts: 100, logFrequency: 1e9 };
  const refused = async (over: Partial<typeof base>, message: RegExp) =>
    assert.rejects(train({ ...base, ...over }, env), (e: Error & { code?: string }) => e.code === 'COLDRL_ERR_USAGE' && message.test(e.message));
  await refused({ trainFrequency: 0 }, /trainFrequency must be a whole number >= 1 \(got 0\)/);
  await refused({ actSyncFrequency: 0 }, /actSyncFrequency must be/);
  await refused({ targetNetworkFrequency: 1.5 }, /targetNetworkFrequency must be/);
  await refused({ bufferSize: 50 }, /bufferSize 50 is below learningStarts 100/);
  const r = await train({ ...base, bufferSize: 100, maxGradNorm: 0 }, env);
  assert.ok(r.gradSteps > 0, 'a buffer of learningStarts trains; maxGradNorm 0 is no clipping');
  const start = initWeights(FEATURE_COUNT, 8, new Rng(base.seed)) as unknown as Record<string, Float32Array | number>;
  const end = r.online as unknown as Record<string, Float32Array | number>;
  const moved = Object.keys(start).filter((k) => start[k] instanceof Float32Array && (start[k] as Float32Array).some((v, i) => v !== (end[k] as Float32Array)[i]));
  assert.ok(moved.length > 0, 'the weights moved: maxGradNorm 0 is not a zero step');
});
