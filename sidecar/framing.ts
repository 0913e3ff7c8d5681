/**
 * Length-prefixed frames over a stream (proto/README.md): a 4-byte big-endian length, then that many bytes
 * of protobuf. Frames are handed out as (buffer, start, end) views of the incoming chunk when they lie
 * inside it (no copy); only a frame split across chunks is copied, into one buffer per connection that is
 * allocated once.
 *
 * The sink may stop in the middle of a chunk (frame() returns false: enough work for now); the reader then
 * keeps the chunk and where it stopped, and resume() goes on from there. Nothing is copied for that.
 */

/** Largest frame body accepted (proto/README.md). */
export const MAX_FRAME = 65536;

export interface FrameSink {
  /**
   * One complete frame body in b[start, end). Return false to stop after it: the rest of the chunk waits
   * for FrameReader.resume() (or is dropped by FrameReader.stop(), when the connection is closing).
   */
  frame(b: Buffer, start: number, end: number): boolean;
  /** A length prefix of 0 or above MAX_FRAME: the stream cannot be resynchronised. */
  badLength(length: number): void;
}

export class FrameReader {
  private readonly partial = Buffer.allocUnsafe(MAX_FRAME + 4);
  /** Bytes held in `partial`. */
  private have = 0;
  private stopped = false;
  /** The chunk a frame() returning false stopped in (null: none), and where its unread rest starts. */
  private chunk: Buffer | null = null;
  private at = 0;
  constructor(private readonly sink: FrameSink) {}

  /** True while part of a frame has been read and the rest not (a peer that closes now truncated it). */
  get midFrame(): boolean { return this.have > 0; }

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
    if (this.have > 0) {
      // complete the 4-byte header, then the body, from the front of this chunk
      if (this.have < 4) {
        const take = Math.min(4 - this.have, len - p);
        chunk.copy(this.partial, this.have, p, p + take);
        this.have += take;
        p += take;
        if (this.have < 4) return true;
        if (!this.checkLength(this.partial.readUInt32BE(0))) return true;
      }
      const need = this.partial.readUInt32BE(0) + 4 - this.have;
      const take = Math.min(need, len - p);
      chunk.copy(this.partial, this.have, p, p + take);
      this.have += take;
      p += take;
      if (take < need) return true;
      this.have = 0;
      const more = this.sink.frame(this.partial, 4, this.partial.readUInt32BE(0) + 4);
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
    if (p < len) { chunk.copy(this.partial, 0, p, len); this.have = len - p; }
    return true;
  }

  /** Stops reading for good: the rest of the chunk and any partial frame are dropped. */
  stop(): void {
    this.stopped = true;
    this.chunk = null;
    this.have = 0;
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
