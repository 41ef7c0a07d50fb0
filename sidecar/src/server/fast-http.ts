// The inbound fast path: serves the common request, a bodiless GET, HEAD,
// DELETE or OPTIONS whose whole head is in what has arrived (the shape of
// http/simple-head.ts), straight on the TLS socket, without node:http's
// per-request IncomingMessage, ServerResponse and stream state (measured:
// node:http is ~13 us of a proxied request here, test/bench/sidecar/
// node-floor.ts). At the first request that is not that shape, or a head
// that has not fully arrived, the connection goes to node:http for good,
// with the unread bytes put back: bodies, malformed or oversized heads
// (400, 431), slow clients (408), Expect and upgrades keep node:http's
// handling. Requests of a connection are answered one at a time, in order;
// pipelined bytes wait (the socket pauses past maxHeaderBytes of them), and
// the next request waits while the client is not reading its responses
// (the socket's write buffer above its high-water mark). An idle keep-alive
// connection closes after keepAliveTimeoutMs.
// Every request line passes here first, also with the fast path off
// (`serve: false`): a request target longer than maxUrlBytes is refused
// (414) before node:http sees a byte, and a request line still arriving is
// held here (reported by `headStarted`, whose clock answers 408), so neither
// a long target nor a slow request line turns into node:http's 431 or its
// later timeout.
import { STATUS_CODES } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { AcpError } from '@acp/crds/sidecar';
import { parseSimpleHead } from '../http/simple-head.ts';
import { TOKEN } from '../http/syntax.ts';

/** The request as the layers read it (the members of IncomingMessage they use for a bodiless request). */
export interface FastRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpVersionMajor: 1;
  readonly httpVersionMinor: 1;
  readonly complete: true;
  readonly socket: TLSSocket;
}

export interface FastOptions {
  /** Serve simple requests here (false: only check the request line, then hand over). */
  serve: boolean;
  maxHeaderBytes: () => number;
  maxUrlBytes: () => number;
  keepAliveTimeoutMs: number;
  /** True while the sidecar drains: every response closes its connection. */
  draining: () => boolean;
  onRequest(req: FastRequest, res: FastResponse): void;
  /** Gives the socket to node:http (the bytes not consumed are already back in it). */
  handOver(socket: TLSSocket): void;
  /** A request line has begun to arrive and is not complete (called per chunk until it is). */
  headStarted(socket: TLSSocket): void;
  /** Refuses the request being read (the connection is no longer read here); the caller answers and closes. */
  refuse(socket: TLSSocket, code: 'ACP_ERR_URL_TOO_LONG'): void;
}

/** Room for the method, two spaces and ` HTTP/1.1` around a target of maxUrlBytes. */
const REQUEST_LINE_SLACK = 64;

/**
 * The request line at the start of `pending`: `incomplete` (no line end yet,
 * and not yet too long), `too-long` (a target over maxUrlBytes, or no line
 * end within maxUrlBytes + slack) or `ok`. Pure.
 */
export function requestLineState(pending: Buffer, maxUrlBytes: number): 'incomplete' | 'too-long' | 'ok' {
  const eol = pending.indexOf(10);
  if (eol < 0) return pending.length > maxUrlBytes + REQUEST_LINE_SLACK ? 'too-long' : 'incomplete';
  const first = pending.indexOf(32);
  if (first < 0 || first > eol) return 'ok';
  const last = pending.lastIndexOf(32, eol);
  return last - first - 1 > maxUrlBytes ? 'too-long' : 'ok';
}

/** What node:http refuses in a header value too (ERR_INVALID_CHAR): no response splitting. */
const UNSAFE_VALUE = /[\r\n\0]/;

let dateSecond = -1;
let dateText = '';
/** The Date header value, formatted once per second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/**
 * The response as the layers write it (the members of ServerResponse they
 * use): the head is held from writeHead until the first body write or
 * end, so a small response goes out in one write.
 */
export class FastResponse {
  headersSent = false;
  private head = '';
  private chunked = false;
  private noBody: boolean;
  private close: boolean;
  private done = false;
  private readonly socket: TLSSocket;
  private readonly keepAlive: string;
  private readonly finished: (close: boolean) => void;

  /** `keepAlive`: the Connection and Keep-Alive header lines of a response that keeps the connection. */
  constructor(
    socket: TLSSocket,
    isHead: boolean,
    keepAlive: string,
    draining: boolean,
    finished: (close: boolean) => void,
  ) {
    this.socket = socket;
    this.noBody = isHead;
    this.close = draining;
    this.keepAlive = keepAlive;
    this.finished = finished;
  }

  writeHead(status: number, headers: Readonly<Record<string, string | number>> | readonly string[]): this {
    if (this.headersSent) throw new AcpError('ACP_ERR_INTERNAL', 'response head written twice');
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let length = false;
    let date = false;
    let connection = false;
    const add = (name: string, value: string): void => {
      if (!TOKEN.test(name) || UNSAFE_VALUE.test(value)) {
        throw new AcpError('ACP_ERR_INTERNAL', `invalid response header ${JSON.stringify(name)}`);
      }
      const lower = name.length >= 4 && name.length <= 14 ? name.toLowerCase() : '';
      if (lower === 'content-length') length = true;
      else if (lower === 'date') date = true;
      else if (lower === 'connection') {
        connection = true;
        if (value.toLowerCase().includes('close')) this.close = true;
      }
      head += `${name}: ${value}\r\n`;
    };
    if (isFlat(headers)) {
      for (let i = 0; i < headers.length; i += 2) add(headers[i] ?? '', headers[i + 1] ?? '');
    } else {
      for (const name of Object.keys(headers)) add(name, String(headers[name]));
    }
    if (status < 200 || status === 204 || status === 304) this.noBody = true;
    if (!date) head += `date: ${httpDate()}\r\n`;
    if (!length && !this.noBody) {
      head += 'transfer-encoding: chunked\r\n';
      this.chunked = true;
    }
    if (this.close) {
      if (!connection) head += 'connection: close\r\n';
    } else if (!connection) head += this.keepAlive;
    this.head = `${head}\r\n`;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer): boolean {
    if (!this.headersSent) this.writeHead(200, []);
    const head = this.takeHead();
    if (this.noBody || chunk.length === 0) return head ? this.socket.write(head, 'latin1') : true;
    this.socket.cork();
    if (this.chunked) this.socket.write(`${head}${chunk.length.toString(16)}\r\n`, 'latin1');
    else if (head) this.socket.write(head, 'latin1');
    let ok = this.socket.write(chunk);
    if (this.chunked) ok = this.socket.write('\r\n', 'latin1');
    this.socket.uncork();
    return ok;
  }

  end(chunk?: Buffer | string): void {
    if (this.done) return;
    if (!this.headersSent) this.writeHead(200, []);
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (body && body.length > 0 && !this.noBody && !this.chunked && this.head) {
      // The whole response in one buffer and one write (one TLS record, no cork and writev).
      const head = this.takeHead();
      const out = Buffer.allocUnsafe(head.length + body.length);
      out.write(head, 0, 'latin1');
      out.set(body, head.length);
      this.socket.write(out);
    } else if (body && body.length > 0 && !this.noBody) {
      this.socket.cork();
      this.write(body);
      if (this.chunked) this.socket.write('0\r\n\r\n', 'latin1');
      this.socket.uncork();
    } else {
      const head = this.takeHead();
      const tail = this.chunked ? '0\r\n\r\n' : '';
      if (head || tail) this.socket.write(head + tail, 'latin1');
    }
    this.done = true;
    this.finished(this.close);
  }

  /** Ends the connection at once (a failure after the head: the client must not take a truncated body as complete). */
  destroy(): void {
    this.done = true;
    this.socket.destroy();
  }

  once(event: 'drain', listener: () => void): this {
    this.socket.once(event, listener);
    return this;
  }

  private takeHead(): string {
    const head = this.head;
    this.head = '';
    return head;
  }
}

function isFlat(h: Readonly<Record<string, string | number>> | readonly string[]): h is readonly string[] {
  return Array.isArray(h);
}

/** One connection in the fast path until it is handed over or closes. */
export class FastConnection {
  readonly socket: TLSSocket;
  private readonly o: FastOptions;
  private pending: Buffer | null = null;
  private busy = false;
  private gone = false;
  private readonly keepAlive: string;
  private readonly onData = (d: Buffer): void => {
    this.pending = this.pending ? Buffer.concat([this.pending, d]) : d;
    if (!this.busy) this.pump();
    else if (this.pending.length > this.o.maxHeaderBytes()) this.socket.pause();
  };
  /** Idle: closes a connection with no request in progress (a request line being read has its own clock). */
  private readonly onTimeout = (): void => {
    if (!this.busy && !this.pending) this.socket.destroy();
  };
  private readonly onError = (): void => {
    this.socket.destroy();
  };
  private readonly onFinished = (close: boolean): void => {
    this.busy = false;
    if (close || this.o.draining()) {
      this.socket.end();
      return;
    }
    // A client that does not read its responses gets no more of them until it does.
    if (this.socket.writableNeedDrain) {
      this.busy = true;
      this.socket.once('drain', this.onDrain);
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.pending) this.pump();
  };
  private readonly onDrain = (): void => this.onFinished(false);

  constructor(socket: TLSSocket, o: FastOptions) {
    this.socket = socket;
    this.o = o;
    this.keepAlive = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(o.keepAliveTimeoutMs / 1000)}\r\n`;
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.setTimeout(o.keepAliveTimeoutMs);
    socket.on('timeout', this.onTimeout);
  }

  /** No request in progress (a drain may close it now). */
  get idle(): boolean {
    return !this.busy;
  }

  /** Still served here (not handed to node:http). */
  get fast(): boolean {
    return !this.gone;
  }

  private pump(): void {
    while (!this.busy && this.pending && !this.gone) {
      const pending = this.pending;
      const line = requestLineState(pending, this.o.maxUrlBytes());
      if (line === 'too-long') return this.leave(() => this.o.refuse(this.socket, 'ACP_ERR_URL_TOO_LONG'));
      if (line === 'incomplete') return this.o.headStarted(this.socket);
      if (!this.o.serve) return this.handOver();
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0 || end + 4 > this.o.maxHeaderBytes()) return this.handOver();
      const head = parseSimpleHead(pending.toString('latin1', 0, end + 2));
      if (!head) return this.handOver();
      this.pending = end + 4 === pending.length ? null : pending.subarray(end + 4);
      this.busy = true;
      const req: FastRequest = {
        method: head.method,
        url: head.url,
        rawHeaders: head.rawHeaders,
        httpVersionMajor: 1,
        httpVersionMinor: 1,
        complete: true,
        socket: this.socket,
      };
      const o = this.o;
      o.onRequest(
        req,
        new FastResponse(this.socket, head.method === 'HEAD', this.keepAlive, o.draining(), this.onFinished),
      );
    }
  }

  private handOver(): void {
    this.leave(() => {
      if (this.pending) this.socket.unshift(this.pending);
      this.o.handOver(this.socket);
    });
  }

  /** Stops serving the connection here, then `then` (hand it over, or refuse). */
  private leave(then: () => void): void {
    this.gone = true;
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('timeout', this.onTimeout);
    socket.setTimeout(0);
    then();
    this.pending = null;
  }
}
