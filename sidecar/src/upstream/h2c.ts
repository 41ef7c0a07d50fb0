// The upstream leg to an app that speaks h2c (upstream.protocol h2c:
// cleartext HTTP/2 with prior knowledge on 127.0.0.1): every request is a
// stream of one multiplexed session (a new one when the last closed or
// went away), with node:http2's flow control carrying the backpressure
// both ways: a request body streams as it arrives (gRPC client and
// bidirectional streaming), the response streams back piece by piece, and
// trailers (grpc-status) are handed on. The same contract as the HTTP/1.1
// pool (pool.ts): typed failures (ACP_ERR_UPSTREAM_UNAVAILABLE before any
// answer, _TIMEOUT when the app accepts no connection in time or a stream
// makes no progress for the request's timeoutMs), and an abandoned
// exchange ends with RST_STREAM CANCEL, so the app never takes a cut body
// for a whole one.
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { Readable } from 'node:stream';
import { isAcpError, type AcpError } from '@acp/crds/sidecar';
import { timedOut, unavailable, type UpstreamHandler } from './connection.ts';
import type { Exchange } from './pool.ts';

export interface H2cRequest {
  readonly method: string;
  /** The request target (origin form). */
  readonly path: string;
  readonly authority: string;
  /** Regular fields, flat [name, value, ...] (no Host, no connection-specific fields). */
  readonly headers: readonly string[];
  readonly body: Buffer | Readable | null;
  /** Longest wait for the response head, and between pieces of the exchange. */
  readonly timeoutMs: number;
}

export interface H2cHandler extends UpstreamHandler {
  /** The response's trailer fields (flat, names lower case), before onEnd. */
  onTrailers(fields: string[]): void;
}

export interface H2cOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
}

/** node:http2's header object as a flat list (lower-case names; pseudo-headers left out). */
export function flatFields(h: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(h)) {
    if (name.charCodeAt(0) === 58) continue;
    const v = h[name];
    if (Array.isArray(v)) for (const one of v) out.push(name, one);
    else if (v !== undefined) out.push(name, v);
  }
  return out;
}

/** Adds a flat [name, value, ...] list to node:http2 headers (names lower-cased, repeats as arrays). */
export function withFields(h: OutgoingHttpHeaders, fields: readonly string[]): OutgoingHttpHeaders {
  for (let i = 0; i < fields.length; i += 2) {
    const name = (fields[i] ?? '').toLowerCase();
    const value = fields[i + 1] ?? '';
    const prev = h[name];
    if (prev === undefined) h[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else h[name] = [String(prev), value];
  }
  return h;
}

class H2cExchange implements Exchange {
  private done = false;
  private headSeen = false;
  private readonly stream: ClientHttp2Stream;
  private handler: H2cHandler;

  constructor(stream: ClientHttp2Stream, r: H2cRequest, handler: H2cHandler) {
    this.stream = stream;
    this.handler = handler;
    stream.setTimeout(r.timeoutMs, () => this.fail(timedOut('answer'), true));
    stream.on('response', (h: IncomingHttpHeaders) => {
      if (this.done) return;
      this.headSeen = true;
      const cl = h['content-length'];
      this.handler.onHead(
        Number(h[':status'] ?? 0),
        flatFields(h),
        cl === undefined ? undefined : Number(cl),
      );
    });
    stream.on('data', (chunk: Buffer) => {
      if (!this.done) this.handler.onBody(chunk);
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => {
      if (!this.done) this.handler.onTrailers(flatFields(h));
    });
    stream.once('end', () => {
      if (this.settle()) this.handler.onEnd(false);
    });
    let cause: AcpError | undefined;
    stream.on('error', (e: unknown) => {
      if (isAcpError(e)) cause = e;
    });
    stream.once('close', () => {
      if (!this.done)
        this.fail(cause ?? unavailable(`stream closed, code ${stream.rstCode ?? 'none'}`), false);
    });
    this.send(r.body);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  abort(): void {
    if (!this.settle()) return;
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_CANCEL);
  }

  private send(body: Buffer | Readable | null): void {
    const s = this.stream;
    if (body === null) return;
    if (Buffer.isBuffer(body)) {
      s.end(body);
      return;
    }
    body.on('data', (chunk: Buffer) => {
      if (!s.destroyed && !s.write(chunk)) body.pause();
    });
    s.on('drain', () => body.resume());
    body.once('end', () => {
      if (!s.destroyed) s.end();
    });
    body.resume();
  }

  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    return true;
  }

  private fail(error: AcpError, reset: boolean): void {
    if (!this.settle()) return;
    if (reset && !this.stream.destroyed) this.stream.close(constants.NGHTTP2_CANCEL);
    this.handler.onError(error, this.headSeen);
  }
}

/** One h2c session to the app, opened on demand. */
export class H2cUpstream {
  private session: ClientHttp2Session | null = null;
  private readonly o: H2cOptions;
  private closed = false;

  constructor(o: H2cOptions) {
    this.o = o;
  }

  request(r: H2cRequest, handler: H2cHandler): Exchange {
    if (this.closed) {
      handler.onError(unavailable('shutting down'), false);
      return { pause: () => undefined, resume: () => undefined, abort: () => undefined };
    }
    const h = withFields(
      { ':method': r.method, ':path': r.path, ':scheme': 'http', ':authority': r.authority },
      r.headers,
    );
    const stream = this.current().request(h, { endStream: r.body === null });
    return new H2cExchange(stream, r, handler);
  }

  close(): Promise<void> {
    this.closed = true;
    this.session?.destroy();
    this.session = null;
    return Promise.resolve();
  }

  private current(): ClientHttp2Session {
    const live = this.session;
    if (live && !live.closed && !live.destroyed) return live;
    const s = connect(`http://${this.o.host}:${this.o.port}`);
    this.session = s;
    const drop = (): void => {
      if (this.session === s) this.session = null;
    };
    const connectTimer = setTimeout(() => {
      drop();
      s.destroy(timedOut('accept the connection'));
    }, this.o.connectTimeoutMs);
    connectTimer.unref();
    s.once('connect', () => clearTimeout(connectTimer));
    s.on('error', drop);
    s.once('goaway', drop);
    s.once('close', () => {
      clearTimeout(connectTimer);
      drop();
    });
    s.unref();
    return s;
  }
}
