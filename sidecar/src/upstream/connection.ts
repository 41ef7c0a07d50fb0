// One keep-alive TCP connection to the app and the exchange it carries:
// writes the request head (latin-1, one write, corked together with a body
// read whole) and streams a body of known length with backpressure, feeds
// the response bytes to a ResponseParser, and hands the response to the
// exchange's handler. Its listeners are installed once per socket, not per
// request. The connection goes back to its pool only when the response was
// complete, the request fully sent, keep-alive allowed and no byte follows
// the response; anything else closes it (with a reset when the request was
// cut or abandoned). Failures are typed errors:
// ACP_ERR_UPSTREAM_UNAVAILABLE, _TIMEOUT, _PROTOCOL.
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { AcpError } from '@acp/crds/sidecar';
import { ResponseParser, type ResponseSink } from './response-parser.ts';

/** The one read buffer of the upstream leg (see Connection's constructor). */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

export interface UpstreamRequest {
  readonly method: string;
  /** Request line, headers and the empty line, as latin-1 text. */
  readonly head: string;
  /** A body read whole, a stream of exactly its Content-Length, or none. */
  readonly body: Buffer | Readable | null;
  /** Longest wait for the response head, and between response pieces. */
  readonly timeoutMs: number;
}

export interface UpstreamHandler extends ResponseSink {
  /** The exchange failed; `afterHead`: onHead was already called. */
  onError(error: AcpError, afterHead: boolean): void;
}

/** What the pool needs from an exchange, and what a connection reports back. */
export interface ExchangeState {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  conn: Connection | null;
  lastActivityMs: number;
  headSeen: boolean;
  paused: boolean;
}

export interface ConnectionOwner {
  readonly nowMs: () => number;
  readonly maxHeadBytes: number;
  /** The connection is free again (reuse it) or gone (forget it). */
  released(conn: Connection, reusable: boolean): void;
  /** The exchange ended with an error; the connection is already closed. */
  failed(ex: ExchangeState, error: AcpError, connWasReused: boolean): void;
}

export function unavailable(detail: string): AcpError {
  return new AcpError('ACP_ERR_UPSTREAM_UNAVAILABLE', `the app could not be reached (${detail})`);
}

export function timedOut(what: string): AcpError {
  return new AcpError('ACP_ERR_UPSTREAM_TIMEOUT', `the app did not ${what} in time`);
}

export class Connection implements ResponseSink {
  readonly socket: Socket;
  readonly openedMs: number;
  connected = false;
  /** Carried a complete exchange before (a failure before any byte may be a stale keep-alive). */
  reused = false;
  idleSinceMs = 0;
  private readonly owner: ConnectionOwner;
  private readonly parser: ResponseParser;
  private ex: ExchangeState | null = null;
  private body: Readable | null = null;
  private bodySent = true;
  private ended = false;
  private endKeepAlive = false;
  private gotBytes = false;
  private gone = false;

  constructor(owner: ConnectionOwner, host: string, port: number) {
    this.owner = owner;
    this.openedMs = owner.nowMs();
    this.parser = new ResponseParser(this, owner.maxHeadBytes);
    // Reads land in one buffer shared by every upstream connection (the parser copies what it
    // keeps, onBody copies body pieces): no per-read 64 KB allocation, which node's read pool
    // otherwise makes for each read here and V8 counts as external memory.
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf) },
    });
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('end', () => this.onEof());
    this.socket.on('error', (e: Error & { code?: string }) => this.fail(unavailable(e.code ?? e.message)));
    this.socket.on('close', () => this.fail(unavailable('connection closed')));
    this.socket.on('drain', () => this.body?.resume());
  }

  get exchange(): ExchangeState | null {
    return this.ex;
  }

  /** Binds an exchange: starts it now when connected, else once connected. */
  start(ex: ExchangeState): void {
    this.ex = ex;
    ex.conn = this;
    ex.lastActivityMs = this.owner.nowMs();
    if (this.connected) this.send(ex.request);
  }

  /**
   * Closes the connection; an exchange on it gets `error` (or nothing, when
   * aborted). With `reset`, or while a request body is only partly sent, the
   * app gets a TCP reset instead of an orderly end: a cut request must look
   * aborted to it, never like a complete one.
   */
  destroy(error?: AcpError, reset = false): void {
    if (this.gone) return;
    this.gone = true;
    const ex = this.ex;
    const cut = ex !== null && !this.bodySent;
    this.detach();
    if (reset || cut) this.socket.resetAndDestroy();
    else this.socket.destroy();
    this.owner.released(this, false);
    if (ex && error) this.owner.failed(ex, error, this.reused);
  }

  fail(error: AcpError): void {
    this.destroy(error);
  }

  // --- ResponseSink: the parser reports; completion is handled after push() returns.
  onHead(status: number, headers: string[], contentLength: number | undefined): void {
    const ex = this.ex;
    if (!ex) return;
    ex.headSeen = true;
    ex.handler.onHead(status, headers, contentLength);
  }

  onBody(chunk: Buffer): void {
    // A copy: `chunk` is a view of READ_BUFFER, which the next read on any connection overwrites.
    this.ex?.handler.onBody(Buffer.from(chunk));
  }

  onEnd(keepAlive: boolean): void {
    this.ended = true;
    this.endKeepAlive = keepAlive;
  }

  private onConnect(): void {
    this.connected = true;
    if (this.ex) this.send(this.ex.request);
  }

  private send(r: UpstreamRequest): void {
    this.parser.expect(r.method);
    this.ended = false;
    this.gotBytes = false;
    const s = this.socket;
    if (r.body === null) {
      this.bodySent = true;
      s.write(r.head, 'latin1');
    } else if (Buffer.isBuffer(r.body)) {
      this.bodySent = true;
      s.cork();
      s.write(r.head, 'latin1');
      s.write(r.body);
      s.uncork();
    } else {
      this.bodySent = false;
      s.write(r.head, 'latin1');
      this.pump(r.body);
    }
  }

  private pump(body: Readable): void {
    this.body = body;
    body.on('data', this.onBodyData);
    body.once('end', this.onBodyEnd);
    body.resume();
  }

  private readonly onBodyData = (chunk: Buffer): void => {
    if (this.ex) this.ex.lastActivityMs = this.owner.nowMs();
    if (!this.socket.write(chunk)) this.body?.pause();
  };

  private readonly onBodyEnd = (): void => {
    this.bodySent = true;
    this.unpump();
  };

  private unpump(): void {
    const b = this.body;
    if (!b) return;
    b.off('data', this.onBodyData);
    b.off('end', this.onBodyEnd);
    this.body = null;
  }

  /** `onread`: consumes the bytes now (they are overwritten by the next read); true keeps reading. */
  private onRead(n: number, buf: Uint8Array): boolean {
    this.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
    return true;
  }

  private onData(data: Buffer): void {
    const ex = this.ex;
    if (!ex) {
      this.destroy(); // bytes nobody asked for
      return;
    }
    ex.lastActivityMs = this.owner.nowMs();
    this.gotBytes = true;
    let used: number;
    try {
      used = this.parser.push(data);
    } catch (e) {
      this.fail(e instanceof AcpError ? e : unavailable(String(e)));
      return;
    }
    if (this.ended) this.complete(ex, this.endKeepAlive && used === data.length);
  }

  private onEof(): void {
    const ex = this.ex;
    if (!ex) {
      this.destroy();
      return;
    }
    if (!this.gotBytes) {
      this.fail(unavailable('connection closed before a response'));
      return;
    }
    try {
      this.parser.end();
    } catch (e) {
      this.fail(e instanceof AcpError ? e : unavailable(String(e)));
      return;
    }
    if (this.ended) this.complete(ex, false);
  }

  private complete(ex: ExchangeState, keepAlive: boolean): void {
    const reusable = keepAlive && this.bodySent;
    this.detach();
    this.reused = true;
    if (reusable) {
      this.idleSinceMs = this.owner.nowMs();
      this.owner.released(this, true);
    } else this.destroy();
    ex.handler.onEnd(reusable);
  }

  private detach(): void {
    if (this.ex) this.ex.conn = null;
    this.ex = null;
    this.unpump();
  }
}
