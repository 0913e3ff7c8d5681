/**
 * THE model loader: the sidecar and `coldrl replay --policy coldrl:FILE` both score candidates through it.
 * Loads a model file (proto/README.md "The model file") with onnxruntime-node (1 intra-op thread, graph
 * optimisation 'all'), refuses another feature spec (COLDRL_ERR_FEATURE_SPEC) or a file that is not a
 * usable model (COLDRL_ERR_MODEL), and runs a probe inference that must give finite scores.
 * Per request nothing is allocated on our side: input tensors for batch 1 and every n in 1..64 are built at
 * load time over one reused Float32Array, and the output goes into a pre-allocated tensor. One session per
 * model: onnxruntime-node's native session when its binding loads (scoreSync runs it without the
 * event-loop turn of the public API, and score is the same run behind a promise), else the public
 * InferenceSession (score only).
 * Never imports tfjs or trainer/ (the sidecar must not pull them in).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as ort from 'onnxruntime-node';
import { ColdrlError } from './errors.js';
import { goalOf, sizeTermOf, type Goal } from './candidates.js';
import { FEATURE_COUNT, FEATURE_SPEC_VERSION, MAX_CANDIDATES } from './features.js';
import type { Scorer } from './scorer.js';

type Ort = typeof ort;
let ortModule: Promise<Ort> | null = null;
/** onnxruntime-node, imported on first use only. */
export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').then((m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort);
  return ortModule;
}

/**
 * onnxruntime-node's native session (its dist/binding.js): `run` is synchronous. The public
 * InferenceSession.run wraps the same call in a setImmediate and two promises, which costs a turn of the
 * event loop per inference; the sidecar's socket thread and the replay loop call the native run directly.
 * Null when this onnxruntime-node build does not have that file (scoreSync then throws and callers use score).
 */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor>, options: object): Record<string, unknown>;
  readonly inputMetadata: readonly { name: string }[];
  readonly outputMetadata: readonly { name: string }[];
  dispose(): void;
}
interface NativeBinding { binding: { InferenceSession: new () => NativeSession }; initOrt(): void }
let nativeBinding: NativeBinding | null | undefined;
function native(): NativeBinding | null {
  if (nativeBinding === undefined) {
    try {
      nativeBinding = createRequire(import.meta.url)('onnxruntime-node/dist/binding') as NativeBinding;
      nativeBinding.initOrt();
    } catch {
      nativeBinding = null;
    }
  }
  return nativeBinding;
}

const SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' } as const;
const NO_RUN_OPTIONS = {};

/** Reads metadata_props of an ONNX file without onnx-proto: walks the protobuf fields by hand. */
export function readOnnxMetadata(buf: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const dec = new TextDecoder();
  let p = 0;
  const varint = (): number => {
    let v = 0, mul = 1, b: number;
    do {
      if (p >= buf.length) throw new ColdrlError('COLDRL_ERR_MODEL', 'truncated protobuf');
      b = buf[p++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return v;
  };
  const skip = (wire: number) => {
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 2) { const n = varint(); p += n; }
    else if (wire === 5) p += 4;
    else throw new ColdrlError('COLDRL_ERR_MODEL', `bad protobuf wire type ${wire}`);
  };
  while (p < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (field === 14 && wire === 2) { // ModelProto.metadata_props: StringStringEntryProto { key = 1; value = 2 }
      const len = varint();
      const end = p + len;
      let key = '', value = '';
      while (p < end) {
        const t = varint();
        if ((t & 7) === 2 && (t >> 3) <= 2) {
          const n = varint();
          const s = dec.decode(buf.subarray(p, p + n));
          p += n;
          if (t >> 3 === 1) key = s; else value = s;
        } else skip(t & 7);
      }
      out[key] = value;
    } else skip(wire);
    if (p > buf.length) throw new ColdrlError('COLDRL_ERR_MODEL', 'truncated protobuf');
  }
  return out;
}

export class ColdrlModel {
  /** First 12 hex digits of the file's sha256. */
  readonly version: string;
  readonly sha256: string;
  /** The K the model was trained with (coldrl.k); the graph accepts any n up to 64. */
  readonly k: number;
  /** What its ranking serves (coldrl.goal; older models: hits). */
  readonly goal: Goal;
  /** Scorer.sizeTerm (replay/candidates.ts sizeTermOf its coldrl.objective and goal; older models: q, 0). */
  readonly sizeTerm: number;
  private readonly input = new Float32Array(MAX_CANDIDATES * FEATURE_COUNT);
  private readonly output = new Float32Array(MAX_CANDIDATES);
  private readonly feeds: Record<string, ort.Tensor>[] = [];
  private readonly fetches: Record<string, ort.Tensor>[] = [];

  /** Exactly one of nativeSession (scoreSync and score) and session (score only) is set. */
  private constructor(readonly path: string, readonly metadata: Readonly<Record<string, string>>, bytes: Uint8Array,
    private readonly nativeSession: NativeSession | null, private readonly session: ort.InferenceSession | null, o: Ort) {
    this.sha256 = createHash('sha256').update(bytes).digest('hex');
    this.version = this.sha256.slice(0, 12);
    this.k = Number(metadata['coldrl.k'] ?? 16);
    this.goal = goalOf(metadata['coldrl.goal']);
    this.sizeTerm = sizeTermOf(metadata['coldrl.objective'], this.goal);
    const ones = new Float32Array(MAX_CANDIDATES).fill(1);
    this.feeds.push({});
    this.fetches.push({});
    for (let n = 1; n <= MAX_CANDIDATES; n++) {
      this.feeds.push({
        features: new o.Tensor('float32', this.input.subarray(0, n * FEATURE_COUNT), [1, n, FEATURE_COUNT]),
        mask: new o.Tensor('float32', ones.subarray(0, n), [1, n]),
      });
      this.fetches.push({ scores: new o.Tensor('float32', this.output.subarray(0, n), [1, n]) });
    }
  }

  /**
   * Loads, validates and probes a model file. opts.native = false takes the public InferenceSession even
   * where the native binding loads (tests compare the two; the sidecar and replay never set it).
   */
  static async load(path: string, opts: { native?: boolean } = {}): Promise<ColdrlModel> {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${path}: no such model file`);
    }
    let meta: Record<string, string>;
    try {
      meta = readOnnxMetadata(bytes);
    } catch (e) {
      throw new ColdrlError('COLDRL_ERR_MODEL', `${path}: not an ONNX model (${(e as Error).message})`);
    }
    const v = meta['coldrl.feature_spec_version'];
    const fc = meta['coldrl.feature_count'];
    if (v === undefined || fc === undefined) throw new ColdrlError('COLDRL_ERR_MODEL', `${path}: not a coldrl model (no coldrl.feature_spec_version metadata)`);
    if (Number(v) !== FEATURE_SPEC_VERSION || Number(fc) !== FEATURE_COUNT) {
      throw new ColdrlError('COLDRL_ERR_FEATURE_SPEC', `${path}: model uses feature spec ${v} with ${fc} features; this build uses spec ${FEATURE_SPEC_VERSION} with ${FEATURE_COUNT}`);
    }
    const k = Number(meta['coldrl.k'] ?? 16);
    if (!Number.isInteger(k) || k < 1 || k > MAX_CANDIDATES) throw new ColdrlError('COLDRL_ERR_MODEL', `${path}: coldrl.k ${meta['coldrl.k']} is not in 1..${MAX_CANDIDATES}`);
    const o = await loadOrt();
    const b = opts.native === false ? null : native();
    let ns: NativeSession | null = null;
    let session: ort.InferenceSession | null = null;
    let inputs: string[], outputs: string[];
    try {
      if (b) {
        ns = new b.binding.InferenceSession();
        ns.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, SESSION_OPTIONS);
        inputs = ns.inputMetadata.map((m) => m.name);
        outputs = ns.outputMetadata.map((m) => m.name);
      } else {
        session = await o.InferenceSession.create(bytes, SESSION_OPTIONS);
        inputs = [...session.inputNames];
        outputs = [...session.outputNames];
      }
    } catch (e) {
      ns?.dispose();
      throw new ColdrlError('COLDRL_ERR_MODEL', `${path}: onnxruntime cannot load it (${String((e as Error).message).split('\n')[0]})`);
    }
    const names = inputs.sort().join(',');
    if (names !== 'features,mask' || !outputs.includes('scores')) {
      ns?.dispose();
      await session?.release();
      throw new ColdrlError('COLDRL_ERR_MODEL', `${path}: inputs ${names} / outputs ${outputs.join(',')}; expected features,mask -> scores`);
    }
    const m = new ColdrlModel(path, Object.freeze(meta), bytes, ns, session, o);
    try {
      await m.probe();
    } catch (e) {
      await m.close();
      throw e;
    }
    return m;
  }

  /** Runs one inference on fixed inputs and checks that every score is finite. */
  private async probe(): Promise<void> {
    const n = this.k;
    const f = new Float32Array(n * FEATURE_COUNT);
    for (let i = 0; i < f.length; i++) f[i] = ((i * 7919) % 101) / 100;
    const out = new Float32Array(n);
    try {
      await this.score(f, n, out);
    } catch (e) {
      throw new ColdrlError('COLDRL_ERR_MODEL', `${this.path}: probe inference failed (${String((e as Error).message).split('\n')[0]})`);
    }
    for (let i = 0; i < n; i++) if (!Number.isFinite(out[i]!)) throw new ColdrlError('COLDRL_ERR_MODEL', `${this.path}: probe inference gave a non-finite score`);
  }

  /** Checks n and copies the n candidates' features into the input tensors' buffer (both score paths). */
  private setInput(features: Float32Array, n: number): void {
    if (!(n >= 1 && n <= MAX_CANDIDATES)) throw new ColdrlError('COLDRL_ERR_USAGE', `score: n must be in 1..${MAX_CANDIDATES} (got ${n})`);
    const input = this.input;
    for (let i = 0, m = n * FEATURE_COUNT; i < m; i++) input[i] = features[i]!;
  }

  /** True when scoreSync can run. */
  get hasSync(): boolean { return this.nativeSession !== null; }

  /**
   * score without the event-loop turn: the native run, on this thread, now. Allocates nothing on our side
   * (onnxruntime returns its fetches object). Throws when !hasSync or when the run fails.
   */
  scoreSync(features: Float32Array, n: number, out: Float32Array): void {
    const s = this.nativeSession;
    if (!s) throw new ColdrlError('COLDRL_ERR_MODEL', `${this.path}: no synchronous session`);
    this.setInput(features, n);
    s.run(this.feeds[n]!, this.fetches[n]!, NO_RUN_OPTIONS);
    const o = this.output;
    for (let i = 0; i < n; i++) out[i] = o[i]!;
  }

  /**
   * Scores n candidates (features[0 .. n*FEATURE_COUNT)) into out[0..n): higher = evict first. With the
   * native session this is scoreSync's run (done before the promise resolves); else the public API's.
   */
  async score(features: Float32Array, n: number, out: Float32Array): Promise<void> {
    if (this.nativeSession) { this.scoreSync(features, n, out); return; }
    this.setInput(features, n);
    const r = await this.session!.run(this.feeds[n]!, this.fetches[n]!);
    const s = r.scores!.data as Float32Array;
    for (let i = 0; i < n; i++) out[i] = s[i]!;
  }

  async close(): Promise<void> {
    this.nativeSession?.dispose();
    await this.session?.release();
  }
}

/** Models loaded by PolicyInfo.prepare, by file path, so that the synchronous factory can find them. */
const prepared = new Map<string, ColdrlModel>();

/** Splits the `coldrl` policy parameter FILE[:K[:SOURCE]]. */
export function parseModelParam(param: string | undefined): { file: string; rest: string | undefined } {
  if (!param) throw new ColdrlError('COLDRL_ERR_USAGE', 'policy coldrl needs a model file: coldrl:FILE[:K[:SOURCE]]');
  const m = /^(.*?)(?::(\d+)(?::([a-z-]+))?)?$/.exec(param)!;
  return { file: m[1]!, rest: m[2] ? (m[3] ? `${m[2]}:${m[3]}` : m[2]) : undefined };
}

/** Loads (once per file) the model a `coldrl:FILE...` policy names. */
export async function prepareModel(param: string | undefined): Promise<ColdrlModel> {
  const { file } = parseModelParam(param);
  let m = prepared.get(file);
  if (!m) { m = await ColdrlModel.load(file); prepared.set(file, m); }
  return m;
}

/** The model a prepared `coldrl:FILE...` parameter names; COLDRL_ERR_MODEL when prepare() was not awaited. */
export function preparedModel(param: string | undefined): ColdrlModel {
  const m = prepared.get(parseModelParam(param).file);
  if (!m) throw new ColdrlError('COLDRL_ERR_MODEL', `model ${param} was not loaded (PolicyInfo.prepare must run first)`);
  return m;
}

/** A scorer backed by a model: one onnxruntime call per decision, synchronous when the native session loaded. */
export function modelScorer(m: ColdrlModel): Scorer {
  if (m.hasSync) return { name: `coldrl-${m.version}`, sizeTerm: m.sizeTerm, score: (_ctx, _ids, f, n, out) => m.scoreSync(f, n, out) };
  return { name: `coldrl-${m.version}`, async: true, sizeTerm: m.sizeTerm, score: (_ctx, _ids, f, n, out) => m.score(f, n, out) };
}

/** The K[:SOURCE] part of a prepared `coldrl:FILE...` parameter, defaulting to the model's metadata. */
export function modelKParam(param: string | undefined): string {
  const m = preparedModel(param);
  return parseModelParam(param).rest ?? `${m.k}:${m.metadata['coldrl.candidates'] ?? 'tail'}`;
}
