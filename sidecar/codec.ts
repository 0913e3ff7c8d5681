/**
 * Hand-written protobuf codec of the hot path: DecideRequest is decoded straight into a pre-allocated
 * DecideSlot (typed arrays, one shape), DecideResponse is encoded into a caller's Buffer. No protobufjs
 * objects per request. Field numbers follow proto/coldrl.proto; the wire format is protobuf's
 * (varint = 0, fixed64 = 1, length-delimited = 2, fixed32 = 5). Unknown fields are skipped, as protobuf
 * requires; packed and unpacked `features` are both accepted.
 *
 * uint64 values that must survive exactly (request_id) are kept as two uint32 halves; sizes and
 * bytes_needed are read as float64 numbers (exact below 2^53 bytes).
 */
import { FEATURE_COUNT, FEATURE_SPEC_VERSION, MAX_CANDIDATES } from '../replay/features.js';

/** Source and FallbackReason enum values of proto/coldrl.proto. */
export const Source = { MODEL: 1, FALLBACK: 2 } as const;
export const Reason = { NONE: 0, DEADLINE: 1, NO_MODEL: 2, MODEL_ERROR: 3, OVERLOAD: 4, BAD_REQUEST: 5 } as const;
/** replay/candidates.ts source names indexed by proto/coldrl.proto CandidateSource value ('' = unspecified). */
export const CANDIDATE_SOURCE_NAMES = ['', 'tail', 'sample', 'mixed', 'large', 'rare', 'perbyte', 'aged', 'weighted', 'blend', 'agedblend', 'overdue'] as const;
/** CandidateSource enum values by source name. */
export const CANDIDATE_SOURCE_IDS: Readonly<Record<string, number>> = Object.fromEntries(CANDIDATE_SOURCE_NAMES.map((name, id) => [name, id]).slice(1));
/** Reason names indexed by enum value (metrics labels, Stats map keys). */
export const REASON_NAMES = ['NONE', 'DEADLINE', 'NO_MODEL', 'MODEL_ERROR', 'OVERLOAD', 'BAD_REQUEST'] as const;
export const REASON_COUNT = REASON_NAMES.length;

/**
 * Why a parsable request is still wrong (answered with the fallback, reason BAD_REQUEST). DecideResponse has
 * no field for the check that failed (`error` means "not parsable, connection closed"), so it is counted by
 * check instead: coldrl_sidecar_bad_requests_total{check} (BAD_CHECKS). OUT_OF_RANGE: a finite feature
 * outside [0, 1], which replay/features.ts never produces (every feature is min(1, log1p(v) / log1p(CAP)));
 * the model's score on it would say nothing (3e38 made it non-finite, blamed on the model as MODEL_ERROR).
 */
export const Bad = { OK: 0, TOO_MANY: 1, FEATURE_COUNT: 2, NOT_FINITE: 3, SPEC_VERSION: 4, NO_CANDIDATES: 5, OUT_OF_RANGE: 6 } as const;
export const BAD_NAMES = ['ok', 'more than 64 candidates', 'wrong feature count', 'non-finite feature',
  'feature_spec_version mismatch', 'no candidates', 'feature outside [0, 1]'] as const;
/** Metric label of each Bad value (index-aligned). */
export const BAD_CHECKS = ['ok', 'too_many_candidates', 'feature_count', 'non_finite_feature', 'spec_version', 'no_candidates', 'feature_out_of_range'] as const;
export const BAD_COUNT = BAD_CHECKS.length;

/**
 * Connections and frames that went wrong, by kind (coldrl_sidecar_protocol_errors_total{kind}):
 * FRAME_LENGTH a length prefix of 0 or above 65,536; MALFORMED a frame (or gRPC Decide body) that is not a
 * DecideRequest; TRUNCATED the peer closed in the middle of a frame; RESET a socket error (ECONNRESET,
 * EPIPE, ...); SHUTDOWN_TIMEOUT destroyed at shutdown because its answers were still unread after the grace;
 * FRAME_TIMEOUT a frame not whole within the frame timeout of its first byte; CONNECTION_LIMIT a connection
 * closed as it came because --max-connections were open (server.ts).
 * FRAME_LENGTH, MALFORMED and FRAME_TIMEOUT are answered with `error` set and close the connection; the
 * others drop it.
 */
export const ProtocolError = { FRAME_LENGTH: 0, MALFORMED: 1, TRUNCATED: 2, RESET: 3, SHUTDOWN_TIMEOUT: 4, FRAME_TIMEOUT: 5, CONNECTION_LIMIT: 6 } as const;
export const PROTOCOL_ERROR_KINDS = ['frame_length', 'malformed', 'truncated', 'reset', 'shutdown_timeout', 'frame_timeout', 'connection_limit'] as const;

/** One decoded request and everything needed to answer it. Constructed once; every field set here. */
export class DecideSlot {
  /** Index in its pool (-1 for scratch slots). */
  readonly index: number;
  idLo = 0;
  idHi = 0;
  /** Candidates kept (at most MAX_CANDIDATES); `seen` counts all in the message. */
  n = 0;
  seen = 0;
  readonly features = new Float32Array(MAX_CANDIDATES * FEATURE_COUNT);
  readonly sizes = new Float64Array(MAX_CANDIDATES);
  bytesNeeded = 0;
  budgetUs = 0;
  specVersion = 0;
  /** CandidateSource the client named (0 = unspecified). */
  candidateSource = 0;
  /** Bad.* */
  bad = 0;
  /** performance.now() when the request was read, and its deadline, in milliseconds. */
  t0 = 0;
  deadline = 0;
  /** Owner of the answer (a framed connection or a gRPC call); opaque to the codec. */
  owner: unknown = null;
  /** Sequence number of the request in its owner (detects a slot reused after its owner went away). */
  gen = 0;
  constructor(index: number) { this.index = index; }
}

// ---------------------------------------------------------------- decoding

/** Decoder position and scratch results (module-level: one thread, never re-entered). */
let pos = 0;
let vLo = 0;
let vHi = 0;

/** Reads a varint at pos into vLo/vHi; false when truncated or longer than 10 bytes. */
function readVarint(b: Uint8Array, end: number): boolean {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return false;
    const byte = b[pos++]!;
    if (shift < 28) lo |= (byte & 0x7f) << shift;
    else if (shift === 28) { lo |= (byte & 0x0f) << 28; hi |= (byte & 0x7f) >>> 4; }
    else hi |= (byte & 0x7f) << (shift - 32);
    shift += 7;
    if (byte < 0x80) { vLo = lo >>> 0; vHi = hi >>> 0; return true; }
  }
  return false;
}

function skipField(b: Uint8Array, wire: number, end: number): boolean {
  switch (wire) {
    case 0: return readVarint(b, end);
    case 1: pos += 8; return pos <= end;
    case 2: if (!readVarint(b, end) || vHi !== 0) return false; pos += vLo; return pos <= end;
    case 5: pos += 4; return pos <= end;
    default: return false; // groups (3, 4) and invalid wire types
  }
}

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);

function readCandidate(b: Uint8Array, end: number, s: DecideSlot, keep: boolean): boolean {
  const i = s.n;
  let nf = 0;
  let size = 0;
  const base = i * FEATURE_COUNT;
  while (pos < end) {
    if (!readVarint(b, end)) return false;
    const field = (vLo >>> 3) | (vHi << 29);
    const wire = vLo & 7;
    if (field === 2 && wire === 0) {
      if (!readVarint(b, end)) return false;
      size = vLo + vHi * 4294967296;
    } else if (field === 3 && (wire === 2 || wire === 5)) {
      let stop = pos + 4;
      if (wire === 2) {
        if (!readVarint(b, end) || vHi !== 0 || (vLo & 3) !== 0) return false;
        stop = pos + vLo;
        if (stop > end) return false;
      } else if (stop > end) return false;
      for (; pos < stop; pos += 4) {
        if (keep && nf < FEATURE_COUNT) {
          f32b[0] = b[pos]!; f32b[1] = b[pos + 1]!; f32b[2] = b[pos + 2]!; f32b[3] = b[pos + 3]!;
          const v = f32[0]!;
          if (!(v >= 0 && v <= 1) && s.bad === Bad.OK) s.bad = Number.isFinite(v) ? Bad.OUT_OF_RANGE : Bad.NOT_FINITE;
          s.features[base + nf] = v;
        }
        nf++;
      }
    } else if (!skipField(b, wire, end)) return false;
  }
  if (pos !== end) return false;
  if (keep) {
    if (nf !== FEATURE_COUNT && s.bad === Bad.OK) s.bad = Bad.FEATURE_COUNT;
    for (let f = nf; f < FEATURE_COUNT; f++) s.features[base + f] = 0;
    s.sizes[i] = size;
    s.n = i + 1;
  }
  return true;
}

/**
 * Decodes one DecideRequest from b[start, end) into s. Returns false when the bytes are not a
 * DecideRequest (the caller answers with `error` and closes); s.idLo/idHi hold the request id if it was
 * read before the failure. A parsable but wrong request returns true with s.bad set.
 */
export function decodeDecideRequest(b: Uint8Array, start: number, end: number, s: DecideSlot): boolean {
  s.idLo = 0; s.idHi = 0; s.n = 0; s.seen = 0; s.bytesNeeded = 0; s.budgetUs = 0; s.specVersion = 0; s.candidateSource = 0; s.bad = Bad.OK;
  pos = start;
  while (pos < end) {
    if (!readVarint(b, end)) return false;
    const field = (vLo >>> 3) | (vHi << 29);
    const wire = vLo & 7;
    if (wire === 0 && field !== 2) {
      if (!readVarint(b, end)) return false;
      if (field === 1) { s.idLo = vLo; s.idHi = vHi; }
      else if (field === 3) s.bytesNeeded = vLo + vHi * 4294967296;
      else if (field === 4) s.budgetUs = vLo;
      else if (field === 5) s.specVersion = vLo;
      else if (field === 6) s.candidateSource = vLo;
    } else if (field === 2 && wire === 2) {
      if (!readVarint(b, end) || vHi !== 0) return false;
      const stop = pos + vLo;
      if (stop > end) return false;
      const keep = s.n < MAX_CANDIDATES;
      if (!keep && s.bad === Bad.OK) s.bad = Bad.TOO_MANY;
      if (!readCandidate(b, stop, s, keep)) return false;
      s.seen++;
    } else if (!skipField(b, wire, end)) return false;
  }
  if (pos !== end) return false;
  if (s.bad === Bad.OK) {
    if (s.n === 0) s.bad = Bad.NO_CANDIDATES;
    else if (s.specVersion !== FEATURE_SPEC_VERSION) s.bad = Bad.SPEC_VERSION;
  }
  return true;
}

// ---------------------------------------------------------------- encoding

function writeVarint(out: Uint8Array, p: number, lo: number, hi: number): number {
  while (hi !== 0 || lo > 0x7f) {
    out[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[p++] = lo;
  return p;
}

function writeU32(out: Uint8Array, p: number, v: number): number {
  out[p] = v & 0xff; out[p + 1] = (v >>> 8) & 0xff; out[p + 2] = (v >>> 16) & 0xff; out[p + 3] = (v >>> 24) & 0xff;
  return p + 4;
}

/** Largest encoded DecideResponse body, given the lengths of model_version and error. */
export function maxResponseSize(versionLen: number, errorLen: number): number {
  return 11 + 9 + 2 + 2 + 3 + versionLen + 6 + 3 + errorLen;
}

/**
 * Encodes a DecideResponse, preceded by its 4-byte big-endian length, into out at offset p; returns the end.
 * victims is a 64-bit mask as two uint32 halves. version and error are pre-encoded UTF-8 bytes (may be empty).
 */
export function encodeDecideResponse(out: Uint8Array, p: number, idLo: number, idHi: number,
  victimsLo: number, victimsHi: number, source: number, reason: number, version: Uint8Array,
  serverUs: number, error: Uint8Array | null): number {
  const head = p;
  p += 4;
  if (idLo !== 0 || idHi !== 0) { out[p++] = 0x08; p = writeVarint(out, p, idLo, idHi); }
  if (victimsLo !== 0 || victimsHi !== 0) { out[p++] = 0x11; p = writeU32(out, p, victimsLo); p = writeU32(out, p, victimsHi); }
  if (source !== 0) { out[p++] = 0x18; out[p++] = source; }
  if (reason !== 0) { out[p++] = 0x20; out[p++] = reason; }
  if (version.length > 0) { out[p++] = 0x2a; p = writeVarint(out, p, version.length, 0); out.set(version, p); p += version.length; }
  if (serverUs > 0) { out[p++] = 0x30; p = writeVarint(out, p, serverUs >>> 0, 0); }
  if (error && error.length > 0) { out[p++] = 0x3a; p = writeVarint(out, p, error.length, 0); out.set(error, p); p += error.length; }
  const len = p - head - 4;
  out[head] = len >>> 24; out[head + 1] = (len >>> 16) & 0xff; out[head + 2] = (len >>> 8) & 0xff; out[head + 3] = len & 0xff;
  return p;
}
