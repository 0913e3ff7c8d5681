/**
 * Length-prefixed frames over a stream (proto/README.md): a 4-byte big-endian length, then that many bytes
 * of protobuf. Frames are handed out as (buffer, start, end) views of the incoming chunk when they lie
 * inside it (no copy); only a frame split across chunks is copied, into one buffer per connection that is
 * allocated once.
 */

/** Largest frame body accepted (proto/README.md). */
export const MAX_FRAME = 65536;

export interface FrameSink {
  /** One complete frame body in b[start, end). Return false to stop reading (the connection is closing). */
  frame(b: Buffer, start: number, end: number): boolean;
  /** A length prefix of 0 or above MAX_FRAME: the stream cannot be resynchronised. */
  badLength(length: number): void;
}

export class FrameReader {
  private readonly partial = Buffer.allocUnsafe(MAX_FRAME + 4);
  /** Bytes held in `partial`. */
  private have = 0;
  private stopped = false;
  constructor(private readonly sink: FrameSink) {}

  /** True while part of a frame has been read and the rest not (a peer that closes now truncated it). */
  get midFrame(): boolean { return this.have > 0; }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let p = 0;
    const len = chunk.length;
    if (this.have > 0) {
      // complete the 4-byte header, then the body, from the front of this chunk
      if (this.have < 4) {
        const take = Math.min(4 - this.have, len);
        chunk.copy(this.partial, this.have, 0, take);
        this.have += take;
        p = take;
        if (this.have < 4) return;
        if (!this.checkLength(this.partial.readUInt32BE(0))) return;
      }
      const need = this.partial.readUInt32BE(0) + 4 - this.have;
      const take = Math.min(need, len - p);
      chunk.copy(this.partial, this.have, p, p + take);
      this.have += take;
      p += take;
      if (take < need) return;
      this.have = 0;
      if (!this.sink.frame(this.partial, 4, this.partial.readUInt32BE(0) + 4)) { this.stopped = true; return; }
    }
    while (len - p >= 4) {
      const n = chunk.readUInt32BE(p);
      if (!this.checkLength(n)) return;
      if (len - p - 4 < n) break;
      if (!this.sink.frame(chunk, p + 4, p + 4 + n)) { this.stopped = true; return; }
      p += 4 + n;
    }
    if (p < len) { chunk.copy(this.partial, 0, p, len); this.have = len - p; }
  }

  private checkLength(n: number): boolean {
    if (n > 0 && n <= MAX_FRAME) return true;
    this.stopped = true;
    this.have = 0;
    this.sink.badLength(n);
    return false;
  }
}
