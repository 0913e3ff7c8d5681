/** The hot-path codec and framing against the client's encoder and protobufjs (the reference decoder). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { FEATURE_COUNT } from '../../replay/features.js';
import { SOURCES } from '../../replay/candidates.js';
import { Bad, CANDIDATE_SOURCE_IDS, CANDIDATE_SOURCE_NAMES, DecideSlot, decodeDecideRequest, encodeDecideResponse, maxResponseSize, Reason, Source } from '../../sidecar/codec.js';
import { decodeDecideResponse, encodeDecideRequest } from '../../sidecar/client.js';
import { FrameReader } from '../../sidecar/framing.js';
import { PROTO_DIR } from '../../sidecar/grpc.js';

function request(n: number, id = 7, extra: Partial<Parameters<typeof encodeDecideRequest>[0]> = {}) {
  const features = Array.from({ length: n * FEATURE_COUNT }, (_, i) => (i % 13) / 13);
  const sizes = Array.from({ length: n }, (_, i) => 1000 + i);
  return { id, n, features, sizes, bytesNeeded: 2500, budgetUs: 300, ...extra };
}

test('decodes what the client encodes, and what protobufjs encodes', async () => {
  const s = new DecideSlot(0);
  const b = encodeDecideRequest(request(16, 2 ** 40 + 5));
  assert.ok(decodeDecideRequest(b, 4, b.length, s));
  assert.equal(s.bad, Bad.OK);
  assert.equal(s.n, 16);
  assert.equal(s.idLo + s.idHi * 2 ** 32, 2 ** 40 + 5);
  assert.equal(s.bytesNeeded, 2500);
  assert.equal(s.budgetUs, 300);
  assert.equal(s.sizes[15], 1015);
  assert.equal(s.features[3 * FEATURE_COUNT + 2], Math.fround(((3 * FEATURE_COUNT + 2) % 13) / 13));
  assert.equal(s.candidateSource, 0, 'not sent: unspecified');
  const named = encodeDecideRequest(request(2, 9, { candidateSource: 'sample' }));
  assert.ok(decodeDecideRequest(named, 4, named.length, s));
  assert.equal(CANDIDATE_SOURCE_NAMES[s.candidateSource], 'sample');
  assert.throws(() => encodeDecideRequest(request(2, 9, { candidateSource: 'lru' })), /unknown candidate source/);

  const root = await protobuf.load(join(PROTO_DIR, 'coldrl.proto'));
  const Req = root.lookupType('coldrl.v1.DecideRequest');
  const msg = Req.encode(Req.fromObject({
    requestId: '18446744073709551615', bytesNeeded: 9, featureSpecVersion: 1, unknownField: 3, candidateSource: 'CANDIDATES_LARGE',
    candidates: [{ keyHash: '123', size: 77, features: Array(FEATURE_COUNT).fill(0.5) }],
  })).finish();
  const s2 = new DecideSlot(0);
  assert.ok(decodeDecideRequest(msg, 0, msg.length, s2));
  assert.equal(s2.idLo, 0xffffffff);
  assert.equal(s2.idHi, 0xffffffff);
  assert.equal(s2.n, 1);
  assert.equal(s2.sizes[0], 77);
  assert.equal(s2.bad, Bad.OK);
  assert.equal(s2.candidateSource, CANDIDATE_SOURCE_IDS.large, 'the proto enum and CANDIDATE_SOURCE_IDS agree');
  // every source name of the simulator has its proto enum value, and the names agree
  const Enum = root.lookupEnum('coldrl.v1.CandidateSource');
  for (const name of Object.keys(SOURCES)) assert.equal(Enum.values[`CANDIDATES_${name.toUpperCase()}`], CANDIDATE_SOURCE_IDS[name], name);
  assert.deepEqual(Object.keys(CANDIDATE_SOURCE_IDS).sort(), Object.keys(SOURCES).sort());
});

test('flags wrong requests and refuses unparsable ones', () => {
  const s = new DecideSlot(0);
  const check = (r: ReturnType<typeof request>, bad: number) => {
    const b = encodeDecideRequest(r);
    assert.ok(decodeDecideRequest(b, 4, b.length, s));
    assert.equal(s.bad, bad);
  };
  check(request(65), Bad.TOO_MANY);
  assert.equal(s.n, 64);
  check({ ...request(2), features: [NaN, ...Array(2 * FEATURE_COUNT - 1).fill(0)] }, Bad.NOT_FINITE);
  // every feature of replay/features.ts lies in [0, 1]; a finite one outside is the client's bug, not the model's
  check({ ...request(2), features: [0, 1, 3e38, ...Array(2 * FEATURE_COUNT - 3).fill(0.5)] }, Bad.OUT_OF_RANGE);
  check({ ...request(2), features: [-1e-3, ...Array(2 * FEATURE_COUNT - 1).fill(0)] }, Bad.OUT_OF_RANGE);
  check({ ...request(2), features: [-1e30, Infinity, ...Array(2 * FEATURE_COUNT - 2).fill(0)] }, Bad.OUT_OF_RANGE);
  check({ ...request(2), features: [Infinity, ...Array(2 * FEATURE_COUNT - 1).fill(0)] }, Bad.NOT_FINITE);
  check({ ...request(2), features: [0, 1, ...Array(2 * FEATURE_COUNT - 2).fill(0.5)] }, Bad.OK);
  check({ ...request(2), featureCount: FEATURE_COUNT - 1, features: Array(2 * FEATURE_COUNT).fill(0) }, Bad.FEATURE_COUNT);
  check(request(2, 1, { specVersion: 99 }), Bad.SPEC_VERSION);
  check(request(0), Bad.NO_CANDIDATES);
  const good = encodeDecideRequest(request(4));
  assert.equal(decodeDecideRequest(good, 4, good.length - 3, s), false, 'truncated candidate');
  assert.equal(decodeDecideRequest(Buffer.from([0xff, 0xff, 0xff]), 0, 3, s), false, 'garbage');
  assert.equal(decodeDecideRequest(Buffer.from([0x0b, 0x01]), 0, 2, s), false, 'group wire type');
});

test('encodes responses the client and protobufjs read back', async () => {
  const out = Buffer.alloc(maxResponseSize(12, 0));
  const ver = new TextEncoder().encode('abcdef012345');
  const end = encodeDecideResponse(out, 0, 0xffffffff, 0x1fffff, 0x80000001, 0x1, Source.FALLBACK, Reason.DEADLINE, ver, 321, null);
  assert.equal(out.readUInt32BE(0), end - 4);
  const o = decodeDecideResponse(out, 4, end);
  assert.equal(o.id, 2 ** 53 - 1);
  assert.equal(o.victims, (1n << 32n) | 0x80000001n);
  assert.deepEqual([o.source, o.reason, o.modelVersion, o.serverUs], [2, 1, 'abcdef012345', 321]);
  const root = await protobuf.load(join(PROTO_DIR, 'coldrl.proto'));
  const m = root.lookupType('coldrl.v1.DecideResponse').toObject(root.lookupType('coldrl.v1.DecideResponse').decode(out.subarray(4, end)), { longs: String, enums: String });
  assert.equal(m.victims, String((1n << 32n) | 0x80000001n));
  assert.equal(m.reason, 'DEADLINE');
});

test('frame reader: frames split across chunks, many per chunk, and a bad length', () => {
  const frames: string[] = [];
  const bad: number[] = [];
  const r = new FrameReader({ frame: (b, s, e) => { frames.push(b.subarray(s, e).toString()); return true; }, badLength: (n) => bad.push(n) });
  const f = (s: string) => { const b = Buffer.alloc(4 + s.length); b.writeUInt32BE(s.length, 0); b.write(s, 4); return b; };
  const all = Buffer.concat([f('one'), f('two'), f('three'), f('x'.repeat(1000))]);
  for (let i = 0; i < all.length; i += 3) r.push(all.subarray(i, i + 3));
  r.push(Buffer.concat([f('a'), f('b')]));
  assert.deepEqual(frames, ['one', 'two', 'three', 'x'.repeat(1000), 'a', 'b']);
  const big = Buffer.alloc(4);
  big.writeUInt32BE(70000, 0);
  r.push(big);
  assert.deepEqual(bad, [70000]);
  r.push(f('ignored after a bad length'));
  assert.equal(frames.length, 6);
});

test('frame reader: a sink that stops after a frame gets the rest of the chunk on resume(), split frames included', () => {
  const frames: string[] = [];
  let calls = 0;
  // stops after every second frame
  const r = new FrameReader({ frame: (b, s, e) => { frames.push(b.subarray(s, e).toString()); return ++calls % 2 === 1; }, badLength: () => assert.fail() });
  const f = (s: string) => { const b = Buffer.alloc(4 + s.length); b.writeUInt32BE(s.length, 0); b.write(s, 4); return b; };
  const all = Buffer.concat([f('one'), f('two'), f('three'), f('four'), f('five'), f('six'), f('seven')]);
  const cut = all.length - 3; // 'seven' is split across two chunks
  const resumes: number[] = [];
  for (const chunk of [all.subarray(0, cut), all.subarray(cut)]) {
    let done = r.push(chunk);
    let n = 0;
    while (!done) { assert.equal(r.pending, true); done = r.resume(); n++; }
    assert.equal(r.pending, false);
    resumes.push(n);
  }
  assert.deepEqual(frames, ['one', 'two', 'three', 'four', 'five', 'six', 'seven']);
  // stopped after two, four and six (the rest after six: the front of 'seven', kept for the next chunk)
  assert.deepEqual(resumes, [3, 0]);
  assert.equal(r.midFrame, false);
  r.stop();
  r.push(f('ignored after stop'));
  assert.equal(frames.length, 7);
});

test('frame reader: no frame buffer until a frame is split, then one of its declared length; a large one is let go after its frame', () => {
  const frames: number[] = [];
  const r = new FrameReader({ frame: (_b, s, e) => { frames.push(e - s); return true; }, badLength: () => assert.fail() });
  const f = (n: number) => { const b = Buffer.alloc(4 + n, 7); b.writeUInt32BE(n, 0); return b; };
  r.push(Buffer.concat([f(100), f(200)]));
  assert.equal(r.bufferBytes, 0, 'whole frames are read in place');
  const mid = f(300);
  r.push(mid.subarray(0, 2)); // half a length prefix
  assert.equal(r.bufferBytes, 0);
  r.push(mid.subarray(2, 10));
  assert.equal(r.bufferBytes, 300, 'sized to the declared length once the prefix is in');
  r.push(mid.subarray(10));
  const big = f(60_000);
  r.push(big.subarray(0, 1000));
  assert.equal(r.bufferBytes, 60_000);
  r.push(big.subarray(1000));
  assert.equal(r.bufferBytes, 0, 'a 60 KB buffer is not kept for the life of the connection');
  assert.deepEqual(frames, [100, 200, 300, 60_000]);
});
