/**
 * The hot path: DecideRequest / DecideResponse frames over a Unix stream socket (proto/README.md).
 * Many requests per connection, pipelined; answers go out when ready (out of order) and carry the request id.
 * A frame that cannot be parsed (bad length, not a DecideRequest) is answered with `error` set and the
 * connection is closed; other connections are not affected.
 *
 * Socket file: a stale one (nobody answers a connect) is removed at start; a live one refuses the start
 * (COLDRL_ERR_SOCKET_IN_USE); a path that is not a socket is never removed. Permissions (--socket-mode)
 * and owner (--socket-owner) are set right after bind, before any client can be served.
 */
import { chmodSync, chownSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ColdrlError } from '../replay/errors.js';
import { DecideSlot, decodeDecideRequest, encodeDecideResponse, maxResponseSize } from './codec.js';
import type { Answerer, Decider } from './decide.js';
import { FrameReader, MAX_FRAME, type FrameSink } from './framing.js';

const encoder = new TextEncoder();
const NO_ERROR: Uint8Array | null = null;

/** One framed client connection. Constructed once per connection; one shape. */
export class FramedConnection implements FrameSink, Answerer {
  open = true;
  private readonly reader: FrameReader;
  private readonly out: Buffer;
  /** performance.now() of the chunk being parsed. */
  private t0 = 0;

  constructor(private readonly socket: Socket, private readonly decider: Decider, private readonly onClose: (c: FramedConnection) => void) {
    this.reader = new FrameReader(this);
    this.out = Buffer.allocUnsafe(maxResponseSize(64, 256));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.t0 = performance.now();
      socket.cork();
      this.reader.push(chunk);
      socket.uncork();
    });
    socket.on('error', () => { /* ECONNRESET and friends: the close handler cleans up */ });
    socket.on('close', () => { this.open = false; this.onClose(this); });
  }

  frame(b: Buffer, start: number, end: number): boolean {
    const slot = this.decider.acquire();
    if (!decodeDecideRequest(b, start, end, slot)) {
      this.fail(slot.idLo, slot.idHi, 'malformed DecideRequest');
      this.decider.release(slot);
      return false;
    }
    slot.owner = this;
    slot.t0 = this.t0;
    this.decider.decide(slot);
    return this.open;
  }

  badLength(length: number): void {
    this.fail(0, 0, `frame length ${length} outside 1..${MAX_FRAME}`);
  }

  deliver(slot: DecideSlot, victimsLo: number, victimsHi: number, source: number, reason: number, serverUs: number): void {
    const end = encodeDecideResponse(this.out, 0, slot.idLo, slot.idHi, victimsLo, victimsHi, source, reason,
      this.decider.versionBytes, serverUs, NO_ERROR);
    const b = Buffer.allocUnsafe(end);
    this.out.copy(b, 0, 0, end);
    this.socket.write(b);
  }

  /** Answers with `error` set, then closes the connection (after the answer is flushed). */
  private fail(idLo: number, idHi: number, message: string): void {
    if (!this.open) return;
    const err = encoder.encode(message.slice(0, 200));
    const end = encodeDecideResponse(this.out, 0, idLo, idHi, 0, 0, 0, 0, new Uint8Array(0), 0, err);
    this.open = false;
    this.socket.end(Buffer.from(this.out.subarray(0, end)));
  }

  /** Half-closes once every answer is written (shutdown). */
  end(): void { this.open = false; this.socket.end(); }
}

export interface SocketOptions {
  path: string;
  /** File mode of the socket, e.g. 0o660. */
  mode: number;
  /** uid/gid to chown the socket to (-1 = leave). */
  uid: number;
  gid: number;
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
  await clearStaleSocket(o.path);
  const server = createServer({ allowHalfOpen: false }, (socket) => {
    conns.add(new FramedConnection(socket, decider, (c) => conns.delete(c)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // bind with 0600 (never wider than asked, whatever the umask), then widen to the requested mode
    const old = process.umask(0o177);
    server.listen(o.path, () => { server.off('error', reject); resolve(); });
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
