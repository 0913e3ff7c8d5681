/**
 * A Node client of the framed Unix-socket path (proto/README.md), for tests, the benchmark and the NGINX
 * engineer's tests: pipelined requests matched by request id. Encodes DecideRequest and decodes
 * DecideResponse by hand (no protobufjs), so that it costs little next to the server it measures.
 */
import { connect, type Socket } from 'node:net';
import { FEATURE_COUNT, FEATURE_SPEC_VERSION } from '../replay/features.js';
import { CANDIDATE_SOURCE_IDS } from './codec.js';
import { FrameReader, type FrameSink } from './framing.js';

export interface DecideInput {
  /** Request id, an integer in 1 .. 2^53 - 1 (unique among this client's requests in flight). */
  id: number;
  /** Number of candidates. */
  n: number;
  /** n * featureCount float32 values, candidate-major (oldest candidate first). */
  features: ArrayLike<number>;
  /** Sizes in bytes, n values. */
  sizes: ArrayLike<number>;
  bytesNeeded: number;
  /** 0 = the server's default. */
  budgetUs?: number;
  /** Default FEATURE_SPEC_VERSION. */
  specVersion?: number;
  /** Features per candidate written to the wire (default FEATURE_COUNT; tests send others). */
  featureCount?: number;
  /** Source that picked the candidates, a replay/candidates.ts name (default: not sent, not checked). */
  candidateSource?: string;
}

export interface DecideOutput {
  id: number;
  /** Bit i = evict candidate i. */
  victims: bigint;
  /** 1 MODEL, 2 FALLBACK (proto Source). */
  source: number;
  /** proto FallbackReason: 0 NONE, 1 DEADLINE, 2 NO_MODEL, 3 MODEL_ERROR, 4 OVERLOAD, 5 BAD_REQUEST. */
  reason: number;
  modelVersion: string;
  serverUs: number;
  error: string;
}

function varint(out: number[], v: number): void {
  let hi = Math.floor(v / 4294967296) >>> 0;
  let lo = v >>> 0;
  while (hi !== 0 || lo > 0x7f) {
    out.push((lo & 0x7f) | 0x80);
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out.push(lo);
}

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);

/** One DecideRequest, length-prefixed, ready to write. */
export function encodeDecideRequest(r: DecideInput): Buffer {
  const fc = r.featureCount ?? FEATURE_COUNT;
  const body: number[] = [];
  if (r.id) { body.push(0x08); varint(body, r.id); }
  for (let i = 0; i < r.n; i++) {
    const c: number[] = [];
    c.push(0x09); for (let b = 0; b < 8; b++) c.push((i * 31 + b) & 0xff); // key_hash: unused by the server
    c.push(0x10); varint(c, r.sizes[i]!);
    c.push(0x1a); varint(c, fc * 4);
    for (let f = 0; f < fc; f++) { f32[0] = r.features[i * fc + f]!; c.push(f32b[0]!, f32b[1]!, f32b[2]!, f32b[3]!); }
    body.push(0x12); varint(body, c.length);
    for (const x of c) body.push(x);
  }
  if (r.bytesNeeded) { body.push(0x18); varint(body, r.bytesNeeded); }
  if (r.budgetUs) { body.push(0x20); varint(body, r.budgetUs); }
  const spec = r.specVersion ?? FEATURE_SPEC_VERSION;
  if (spec) { body.push(0x28); varint(body, spec); }
  if (r.candidateSource) {
    const id = CANDIDATE_SOURCE_IDS[r.candidateSource];
    if (id === undefined) throw new Error(`unknown candidate source ${r.candidateSource}`);
    body.push(0x30); varint(body, id);
  }
  return frame(Uint8Array.from(body));
}

/** Prefixes bytes with their 4-byte big-endian length. */
export function frame(body: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(body.length + 4);
  b.writeUInt32BE(body.length, 0);
  b.set(body, 4);
  return b;
}

/** Decodes a DecideResponse body. */
export function decodeDecideResponse(b: Uint8Array, start = 0, end = b.length): DecideOutput {
  const o: DecideOutput = { id: 0, victims: 0n, source: 0, reason: 0, modelVersion: '', serverUs: 0, error: '' };
  let p = start;
  const rv = (): number => {
    let v = 0, mul = 1, x: number;
    do { x = b[p++]!; v += (x & 0x7f) * mul; mul *= 128; } while (x & 0x80 && p < end);
    return v;
  };
  const dec = new TextDecoder();
  while (p < end) {
    const tag = rv();
    const field = tag >>> 3;
    if (field === 2) {
      const dv = new DataView(b.buffer, b.byteOffset + p, 8);
      o.victims = dv.getBigUint64(0, true);
      p += 8;
    } else if (field === 5 || field === 7) {
      const n = rv();
      const s = dec.decode(b.subarray(p, p + n));
      p += n;
      if (field === 5) o.modelVersion = s; else o.error = s;
    } else {
      const v = rv();
      if (field === 1) o.id = v; else if (field === 3) o.source = v; else if (field === 4) o.reason = v; else if (field === 6) o.serverUs = v;
    }
  }
  return o;
}

/** A pipelined connection to a sidecar's framed socket. */
export class SidecarClient implements FrameSink {
  private readonly waiting = new Map<number, (o: DecideOutput) => void>();
  private readonly reader = new FrameReader(this);
  /** Answers that matched no waiting request (e.g. error replies with id 0). */
  readonly unmatched: DecideOutput[] = [];
  closed = false;
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.reader.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.closeWaiters) w();
      const err: DecideOutput = { id: 0, victims: 0n, source: 0, reason: 0, modelVersion: '', serverUs: 0, error: 'connection closed' };
      for (const [id, res] of this.waiting) res({ ...err, id });
      this.waiting.clear();
    });
  }

  static connect(path: string): Promise<SidecarClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => { s.off('error', reject); resolve(new SidecarClient(s)); });
      s.once('error', reject);
    });
  }

  frame(b: Buffer, start: number, end: number): boolean {
    const o = decodeDecideResponse(b, start, end);
    const res = this.waiting.get(o.id);
    if (res) { this.waiting.delete(o.id); res(o); } else this.unmatched.push(o);
    return true;
  }

  badLength(length: number): void { this.unmatched.push({ id: 0, victims: 0n, source: 0, reason: 0, modelVersion: '', serverUs: 0, error: `bad frame length ${length}` }); }

  /** Sends a request; resolves with its answer (or error 'connection closed'). */
  decide(r: DecideInput): Promise<DecideOutput> {
    return this.send(r.id, encodeDecideRequest(r));
  }

  /** Sends pre-encoded bytes and waits for the answer with request id `id`. */
  send(id: number, bytes: Uint8Array): Promise<DecideOutput> {
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.write(bytes);
    });
  }

  /** Writes arbitrary bytes (tests: malformed frames). */
  writeRaw(bytes: Uint8Array): void { this.socket.write(bytes); }

  /** Resolves when the server closes the connection. */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.closeWaiters.push(r));
  }

  close(): void { this.socket.destroy(); }
}
