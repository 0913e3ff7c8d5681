/**
 * The hot path: DecideRequest / DecideResponse frames over a Unix stream socket (proto/README.md).
 * Many requests per connection, pipelined; answers go out when ready (out of order) and carry the request id.
 * A frame that cannot be parsed (bad length, not a DecideRequest) is answered with `error` set (it starts
 * with the code COLDRL_ERR_PROTOCOL) and the connection is closed; other connections are not affected.
 *
 * Each answer is written the moment it is decided (no cork: an answer never waits for the rest of its chunk).
 *
 * Fairness: one 'data' event runs at most SLICE_FRAMES frames or SLICE_MS of work (inline inferences
 * included); the rest of the chunk waits, the connection paused, for a later turn of the event loop
 * (setImmediate), so other connections are read in between and a client that pipelines a 64 KiB chunk of
 * requests cannot hold the thread for all of them.
 *
 * Backpressure: when a connection's unsent answers pass the socket's high-water mark (socket.write returns
 * false: the peer does not read them), the connection is not read any more until they drain; the requests
 * already decided are still answered, the rest of the chunk waits for the drain. So a client that pipelines
 * and never reads holds at most one slice's answers plus the kernel's buffers, not everything it sends.
 *
 * Limits (listenFramed): at most `maxConnections` connections (more are closed at once, counted
 * connection_limit); a frame must be whole within `frameTimeoutMs` of its first byte (else an error answer
 * and close, counted frame_timeout); a connection answered with `error` is destroyed ERROR_LINGER_MS later
 * if the peer has not closed it by then.
 *
 * Half-close: a client that sends its requests and then shuts down its side (end) gets every answer; the
 * connection is closed from our side once the last of them is written.
 *
 * Socket file: a stale one (nobody answers a connect) is removed at start; a live one refuses the start
 * (COLDRL_ERR_SOCKET_IN_USE); a path that is not a socket is never removed. Permissions (--socket-mode)
 * and owner (--socket-owner) are set right after bind, before any client can be served.
 */
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { ColdrlError, type ErrorCode } from '../replay/errors.js';
import { DecideSlot, decodeDecideRequest, encodeDecideResponse, maxResponseSize, ProtocolError } from './codec.js';
import type { Answerer, Decider } from './decide.js';
import { FrameReader, MAX_FRAME, type FrameSink } from './framing.js';

const encoder = new TextEncoder();
const NO_ERROR: Uint8Array | null = null;
const PROTOCOL: ErrorCode = 'COLDRL_ERR_PROTOCOL';
/** Synchronous work per connection and turn of the event loop: at most this many frames ... */
const SLICE_FRAMES = 16;
/** ... and no new frame once this long has passed since the slice began (ms). */
const SLICE_MS = 0.1;
/** After an error answer, the connection is destroyed this long after (if the peer has not closed it). */
const ERROR_LINGER_MS = 1000;
/** Defaults of SocketOptions.maxConnections and frameTimeoutMs. */
export const MAX_CONNECTIONS = 256;
export const FRAME_TIMEOUT_MS = 5000;

/** One framed client connection. Constructed once per connection; one shape. */
export class FramedConnection implements FrameSink, Answerer {
  open = true;
  /** Not read while the peer leaves our answers unread (backpressure, above). */
  paused = false;
  private readonly reader: FrameReader;
  private readonly out: Buffer;
  /** performance.now() of the chunk being parsed (its frames' read time, in later slices too). */
  private t0 = 0;
  /** The slice under way: frames it may still run, and the time after which it runs no new one. */
  private sliceFrames = 0;
  private sliceEnd = 0;
  /** A setImmediate will go on with the rest of the chunk. */
  private continuing = false;
  /** The reader is deciding frames now (push or resume under way). */
  private inSlice = false;
  /** Requests decoded and not yet answered. */
  private outstanding = 0;
  /** The peer shut down its side: we end ours once `outstanding` is 0 and the input is read. */
  private peerEnded = false;
  /** performance.now() of the chunk in which the frame now partly read began (0: none is). */
  private frameStart = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private readonly continueFn = () => this.continueChunk();

  constructor(private readonly socket: Socket, private readonly decider: Decider, private readonly onClose: (c: FramedConnection) => void) {
    this.reader = new FrameReader(this);
    this.out = Buffer.allocUnsafe(maxResponseSize(64, 256));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.t0 = performance.now();
      this.startSlice(this.t0);
      this.inSlice = true;
      const done = this.reader.push(chunk);
      this.sliceDone();
      if (!done) this.yieldChunk();
    });
    socket.on('drain', () => {
      if (!this.paused) return;
      this.paused = false;
      this.decider.stats.pausedConnections--;
      if (this.reader.pending) this.yieldChunk(); else socket.resume();
    });
    // the peer's half-close: its requests are answered first (a partial frame is dropped, counted truncated)
    socket.on('end', () => {
      this.peerEnded = true;
      if (this.open && this.reader.midFrame) { this.decider.stats.protocolErrors[ProtocolError.TRUNCATED]!++; this.reader.stop(); }
      this.endWhenAnswered();
    });
    // ECONNRESET, EPIPE and friends: counted; the close handler cleans up
    socket.on('error', () => { this.decider.stats.protocolErrors[ProtocolError.RESET]!++; });
    socket.on('close', () => {
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      if (this.open && this.reader.midFrame) this.decider.stats.protocolErrors[ProtocolError.TRUNCATED]!++;
      if (this.paused) { this.paused = false; this.decider.stats.pausedConnections--; }
      this.open = false;
      this.onClose(this);
    });
  }

  frame(b: Buffer, start: number, end: number): boolean {
    this.frameStart = 0;
    const slot = this.decider.acquire();
    if (!decodeDecideRequest(b, start, end, slot)) {
      this.decider.stats.protocolErrors[ProtocolError.MALFORMED]!++;
      this.fail(slot.idLo, slot.idHi, `${PROTOCOL}: frame of ${end - start} bytes is not a DecideRequest`);
      this.decider.release(slot);
      return false;
    }
    slot.owner = this;
    slot.t0 = this.t0;
    this.outstanding++;
    this.decider.decide(slot);
    return this.open && !this.paused && --this.sliceFrames > 0 && performance.now() < this.sliceEnd;
  }

  /** After push or resume: notes when a frame left partly read began (the frame timeout counts from it). */
  private sliceDone(): void {
    this.inSlice = false;
    if (this.reader.midFrame && this.frameStart === 0) this.frameStart = this.t0;
  }

  private startSlice(now: number): void {
    this.sliceFrames = SLICE_FRAMES;
    this.sliceEnd = now + SLICE_MS;
  }

  /** The slice ended inside a chunk: stop reading, and go on with the chunk next turn (or at 'drain'). */
  private yieldChunk(): void {
    if (!this.open) return;
    this.socket.pause();
    if (!this.paused && !this.continuing) { this.continuing = true; setImmediate(this.continueFn); }
  }

  private continueChunk(): void {
    this.continuing = false;
    if (!this.open || this.paused) return; // closed, or 'drain' goes on
    this.startSlice(performance.now());
    this.inSlice = true;
    const done = this.reader.resume();
    this.sliceDone();
    if (!done) this.yieldChunk();
    else if (!this.paused) this.socket.resume();
    this.endWhenAnswered();
  }

  /** After the peer's end: closes our side once every request read is answered (never inside a slice). */
  private endWhenAnswered(): void {
    if (this.peerEnded && this.open && this.outstanding === 0 && !this.inSlice && !this.reader.pending) this.end();
  }

  badLength(length: number): void {
    this.decider.stats.protocolErrors[ProtocolError.FRAME_LENGTH]!++;
    this.fail(0, 0, `${PROTOCOL}: frame length ${length} outside 1..${MAX_FRAME}`);
  }

  deliver(slot: DecideSlot, victimsLo: number, victimsHi: number, source: number, reason: number, serverUs: number, version: Uint8Array): void {
    this.outstanding--;
    if (this.socket.writableEnded) return;
    const end = encodeDecideResponse(this.out, 0, slot.idLo, slot.idHi, victimsLo, victimsHi, source, reason,
      version, serverUs, NO_ERROR);
    const b = Buffer.allocUnsafe(end);
    this.out.copy(b, 0, 0, end);
    if (!this.socket.write(b) && !this.paused) {
      // over the high-water mark: stop reading until 'drain'
      this.paused = true;
      this.decider.stats.backpressurePauses++;
      this.decider.stats.pausedConnections++;
      this.socket.pause();
    }
    if (this.peerEnded) this.endWhenAnswered();
  }

  /** Answers with `error` set, then closes the connection (after the answer is flushed). */
  private fail(idLo: number, idHi: number, message: string): void {
    if (!this.open) return;
    const err = encoder.encode(message.slice(0, 200));
    const end = encodeDecideResponse(this.out, 0, idLo, idHi, 0, 0, 0, 0, new Uint8Array(0), 0, err);
    this.open = false;
    this.reader.stop();
    this.socket.end(Buffer.from(this.out.subarray(0, end)));
    this.lingerTimer = setTimeout(() => this.socket.destroy(), ERROR_LINGER_MS);
    this.lingerTimer.unref();
  }

  /**
   * Answers with `error` and closes when a frame has been partly read for longer than `limitMs` (sweep of
   * listenFramed). The time counts while we read: a connection paused by backpressure (the rest of the
   * frame waits in the kernel because we do not read) starts its frame's clock again.
   */
  checkFrameTimeout(now: number, limitMs: number): void {
    if (this.paused && this.frameStart !== 0) this.frameStart = now;
    if (!this.open || this.frameStart === 0 || now - this.frameStart <= limitMs) return;
    this.decider.stats.protocolErrors[ProtocolError.FRAME_TIMEOUT]!++;
    this.fail(0, 0, `${PROTOCOL}: frame not complete ${Math.round(now - this.frameStart)} ms after its first byte`);
  }

  /** Half-closes once every answer is written (shutdown). */
  end(): void { this.open = false; this.socket.end(); }

  /** Drops the connection and its unsent answers (shutdown, after the grace). */
  destroy(): void { this.open = false; this.socket.destroy(); }
}

export interface SocketOptions {
  path: string;
  /** File mode of the socket, e.g. 0o660. */
  mode: number;
  /** uid/gid to chown the socket to (-1 = leave). */
  uid: number;
  gid: number;
  /** Connections at most (default MAX_CONNECTIONS); more are closed as they come. */
  maxConnections?: number;
  /** A frame must be whole this long after its first byte, ms (default FRAME_TIMEOUT_MS). */
  frameTimeoutMs?: number;
}

/** Removes a stale socket file; throws when a live server answers on it or the path is not a socket. */
export async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try { st = lstatSync(path); } catch { return; }
  if (!st.isSocket()) throw new ColdrlError('COLDRL_ERR_SOCKET_IN_USE', `${path} exists and is not a socket; refusing to remove it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (live) throw new ColdrlError('COLDRL_ERR_SOCKET_IN_USE', `${path}: another sidecar is serving on this socket`);
  unlinkSync(path);
}

/** Binds the framed server; resolves once it listens with the requested mode and owner. */
export async function listenFramed(decider: Decider, o: SocketOptions, conns: Set<FramedConnection>): Promise<Server> {
  const dir = dirname(resolve(o.path));
  if (!existsSync(dir)) {
    throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${o.path}: the socket's directory ${dir} does not exist (create it for the sidecar's user, e.g. install -d ${dir})`);
  }
  await clearStaleSocket(o.path);
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    conns.add(new FramedConnection(socket, decider, (c) => conns.delete(c)));
  });
  server.maxConnections = o.maxConnections ?? MAX_CONNECTIONS;
  server.on('drop', () => { decider.stats.protocolErrors[ProtocolError.CONNECTION_LIMIT]!++; });
  // one coarse timer for every connection's frame timeout, not one per connection
  const frameTimeoutMs = o.frameTimeoutMs ?? FRAME_TIMEOUT_MS;
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const c of conns) c.checkFrameTimeout(now, frameTimeoutMs);
  }, Math.min(1000, frameTimeoutMs / 4));
  sweep.unref();
  server.on('close', () => clearInterval(sweep));
  await new Promise<void>((done, reject) => {
    const failed = (e: NodeJS.ErrnoException) => reject(new ColdrlError('COLDRL_ERR_SOCKET', `${o.path}: cannot listen (${e.code ?? e.message}${e.code === 'EACCES' ? ': no permission to create a socket in that directory' : ''})`));
    server.once('error', failed);
    // bind with 0600 (never wider than asked, whatever the umask), then widen to the requested mode
    const old = process.umask(0o177);
    server.listen(o.path, () => { server.off('error', failed); done(); });
    process.umask(old);
  });
  chmodSync(o.path, o.mode);
  if (o.uid >= 0 || o.gid >= 0) chownSync(o.path, o.uid, o.gid);
  return server;
}

/** Resolves USER[:GROUP] (names or numbers) to ids through /etc/passwd and /etc/group. */
export function resolveOwner(spec: string): { uid: number; gid: number } {
  const [user, group] = spec.split(':');
  const lookup = (file: string, name: string, kind: string): number => {
    if (/^\d+$/.test(name)) return Number(name);
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return Number(f[2]);
    }
    throw new ColdrlError('COLDRL_ERR_USAGE', `--socket-owner: no ${kind} named "${name}"`);
  };
  const uid = user ? lookup('/etc/passwd', user, 'user') : -1;
  let gid = group ? lookup('/etc/group', group, 'group') : -1;
  if (user && !group && !/^\d+$/.test(user)) {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === user);
    gid = line ? Number(line.split(':')[3]) : -1;
  }
  return { uid, gid };
}
