/**
 * Length-prefixed frames over a stream (proto/README.md): a 4-byte big-endian length, then that many bytes
 * of protobuf. Frames are handed out as (buffer, start, end) views of the incoming chunk when they lie
 * inside it (no copy); only a frame split across chunks is copied, into a buffer of the connection sized to
 * that frame's declared length when its header is read (none before a frame is split; one of up to
 * KEEP_BYTES is kept for the next split frame, a larger one is let go once its frame is read). A
 * connection thus holds 64 KiB only while a frame that large is arriving, not for its whole life.
 *
 * The sink may stop in the middle of a chunk (frame() returns false: enough work for now); the reader then
 * keeps the chunk and where it stopped, and resume() goes on from there. Nothing is copied for that.
 */

/** Largest frame body accepted (proto/README.md). */
export const MAX_FRAME = 65536;
/** A split frame's buffer up to this size is kept for the next one (a K = 64 request is ~3.2 KB). */
const KEEP_BYTES = 8192;
const EMPTY = Buffer.alloc(0);

export interface FrameSink {
  /**
   * One complete frame body in b[start, end), valid during the call only. Return false to stop after it:
   * the rest of the chunk waits for FrameReader.resume() (or is dropped by FrameReader.stop(), when the
   * connection is closing).
   */
  frame(b: Buffer, start: number, end: number): boolean;
  /** A length prefix of 0 or above MAX_FRAME: the stream cannot be resynchronised. */
  badLength(length: number): void;
}

export class FrameReader {
  /** The length prefix of a split frame, and how many of its 4 bytes are in. */
  private readonly head = Buffer.allocUnsafe(4);
  private headHave = 0;
  /** The body of a split frame (sized lazily, see above), its declared length and the bytes in. */
  private body: Buffer = EMPTY;
  private bodyLen = 0;
  private bodyHave = 0;
  private stopped = false;
  /** The chunk a frame() returning false stopped in (null: none), and where its unread rest starts. */
  private chunk: Buffer | null = null;
  private at = 0;
  constructor(private readonly sink: FrameSink) {}

  /** True while part of a frame has been read and the rest not (a peer that closes now truncated it). */
  get midFrame(): boolean { return this.headHave > 0; }

  /** Bytes of frame buffer this reader holds now (0 until a frame is split across chunks). */
  get bufferBytes(): number { return this.body.length; }

  /** True while the rest of a chunk waits for resume(). */
  get pending(): boolean { return this.chunk !== null; }

  /** Reads the frames of chunk; false when the sink stopped before its end (call resume() to go on). */
  push(chunk: Buffer): boolean {
    if (this.stopped) return true;
    this.chunk = chunk;
    this.at = 0;
    return this.resume();
  }

  /** Goes on with the chunk the sink stopped in; true once it is read to the end (or reading stopped). */
  resume(): boolean {
    const chunk = this.chunk;
    this.chunk = null;
    if (chunk === null || this.stopped) return true;
    let p = this.at;
    const len = chunk.length;
    if (this.headHave > 0) {
      // complete the 4-byte header, then the body, from the front of this chunk
      if (this.headHave < 4) {
        const take = Math.min(4 - this.headHave, len - p);
        chunk.copy(this.head, this.headHave, p, p + take);
        this.headHave += take;
        p += take;
        if (this.headHave < 4) return true;
        const n = this.head.readUInt32BE(0);
        if (!this.checkLength(n)) return true;
        this.startBody(n);
      }
      const take = Math.min(this.bodyLen - this.bodyHave, len - p);
      chunk.copy(this.body, this.bodyHave, p, p + take);
      this.bodyHave += take;
      p += take;
      if (this.bodyHave < this.bodyLen) return true;
      this.headHave = 0;
      const more = this.sink.frame(this.body, 0, this.bodyLen);
      if (this.body.length > KEEP_BYTES) this.body = EMPTY;
      if (this.stopped) return true;
      if (!more && !this.hold(chunk, p)) return false;
    }
    while (len - p >= 4) {
      const n = chunk.readUInt32BE(p);
      if (!this.checkLength(n)) return true;
      if (len - p - 4 < n) break;
      const more = this.sink.frame(chunk, p + 4, p + 4 + n);
      p += 4 + n;
      if (this.stopped) return true;
      if (!more && !this.hold(chunk, p)) return false;
    }
    if (p < len) {
      // the front of a frame: its header (checked above when whole), and what came of its body
      this.headHave = Math.min(4, len - p);
      chunk.copy(this.head, 0, p, p + this.headHave);
      if (this.headHave === 4) {
        this.startBody(chunk.readUInt32BE(p));
        this.bodyHave = chunk.copy(this.body, 0, p + 4, len);
      }
    }
    return true;
  }

  private startBody(n: number): void {
    if (this.body.length < n) this.body = Buffer.allocUnsafe(n);
    this.bodyLen = n;
    this.bodyHave = 0;
  }

  /** Stops reading for good: the rest of the chunk and any partial frame are dropped. */
  stop(): void {
    this.stopped = true;
    this.chunk = null;
    this.headHave = 0;
    this.body = EMPTY;
  }

  /** Keeps the rest of chunk from p for resume(); true when there is none (read to the end). */
  private hold(chunk: Buffer, p: number): boolean {
    if (p >= chunk.length) return true;
    this.chunk = chunk;
    this.at = p;
    return false;
  }

  private checkLength(n: number): boolean {
    if (n > 0 && n <= MAX_FRAME) return true;
    this.stop();
    this.sink.badLength(n);
    return false;
  }
}
