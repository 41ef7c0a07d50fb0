// The HTTP/2 side of the per-protocol adapter: one stream of node:http2 as
// the request and response the layers know (the members of IncomingMessage
// and ServerResponse they use, like fast-http.ts does for HTTP/1.1), so
// HTTP/2 requests run through the same layer list. The response head is
// held until the first body write or the end, so that an answer without a
// body (every refusal of a gRPC call) goes out as one HEADERS frame with
// END_STREAM: a gRPC trailers-only response. A gRPC response waits for its
// trailers (grpc-status), relayed from the app.
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { AcpError } from '@acp/crds/sidecar';
import type { H2Head } from '../http/h2-request.ts';

/** Fields HTTP/2 forbids in a message (RFC 9113 8.2.2); node:http2 throws on them. */
export const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
]);

type Listener = Parameters<ServerHttp2Stream['off']>[1];

/** The request as the layers read it; the body is the stream's DATA. */
export class H2Request {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  readonly socket: TLSSocket;
  readonly stream: ServerHttp2Stream;
  private ended: boolean;

  constructor(stream: ServerHttp2Stream, head: H2Head, socket: TLSSocket, endStream: boolean) {
    this.stream = stream;
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.socket = socket;
    this.ended = endStream;
    if (!endStream) stream.once('end', () => (this.ended = true));
  }

  /** The whole body has arrived (END_STREAM). */
  get complete(): boolean {
    return this.ended;
  }

  on(event: string, fn: Listener): this {
    this.stream.on(event, fn);
    return this;
  }

  once(event: string, fn: Listener): this {
    this.stream.once(event, fn);
    return this;
  }

  off(event: string, fn: Listener): this {
    this.stream.off(event, fn);
    return this;
  }

  removeListener(event: string, fn: Listener): this {
    return this.off(event, fn);
  }

  pause(): this {
    this.stream.pause();
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

function isFlat(h: Readonly<Record<string, string | number>> | readonly string[]): h is readonly string[] {
  return Array.isArray(h);
}

/** True for a field HTTP/2 must not carry from the layers: connection-specific, or a pseudo-header. */
function dropped(lower: string): boolean {
  return CONNECTION_SPECIFIC.has(lower) || lower.charCodeAt(0) === 58;
}

/** Adds one field to an HTTP/2 header object (lower-case name; a repeated name becomes a list). */
function addField(out: OutgoingHttpHeaders, name: string, value: string): void {
  const lower = name.toLowerCase();
  if (dropped(lower)) return;
  const prev = out[lower];
  if (prev === undefined) out[lower] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[lower] = [String(prev), value];
}

/** Appends one field to a flat HTTP/2 header list (lower-case name; a repeated name stays repeated). */
function pushField(out: string[], name: string, value: string): void {
  const lower = name.toLowerCase();
  if (!dropped(lower)) out.push(lower, value);
}

/** The response as the layers write it. */
export class H2Response {
  headersSent = false;
  /** The response head as node:http2's raw header list ([':status', code, name, value, ...]). */
  private head: string[] | null = null;
  private trailers: OutgoingHttpHeaders | null = null;
  private responded = false;
  private done = false;
  private readonly stream: ServerHttp2Stream;
  private readonly grpc: boolean;
  private readonly finished: () => void;

  /** `grpc`: the response ends with trailers; `finished`: called once the response is complete. */
  constructor(stream: ServerHttp2Stream, grpc: boolean, finished: () => void) {
    this.stream = stream;
    this.grpc = grpc;
    this.finished = finished;
  }

  get writableFinished(): boolean {
    return this.done && this.stream.writableFinished;
  }

  writeHead(status: number, headers: Readonly<Record<string, string | number>> | readonly string[]): this {
    if (this.headersSent) throw new AcpError('ACP_ERR_INTERNAL', 'response head written twice');
    // A flat list, not an object: node:http2 takes it as it is (no copy into a null-prototype
    // object); a repeated single-value field is refused by it the same way (ERR_HTTP2_HEADER_SINGLE_VALUE).
    const h: string[] = [':status', String(status)];
    if (isFlat(headers)) {
      for (let i = 0; i < headers.length; i += 2) pushField(h, headers[i] ?? '', headers[i + 1] ?? '');
    } else {
      for (const name of Object.keys(headers)) pushField(h, name, String(headers[name]));
    }
    this.head = h;
    this.headersSent = true;
    return this;
  }

  /** Trailer fields to send after the body (flat [name, value, ...]). */
  addTrailers(flat: readonly string[]): void {
    const t: OutgoingHttpHeaders = (this.trailers ??= {});
    for (let i = 0; i < flat.length; i += 2) addField(t, flat[i] ?? '', flat[i + 1] ?? '');
  }

  write(chunk: Buffer): boolean {
    if (this.stream.destroyed) return true;
    this.respond(false);
    return this.stream.write(chunk);
  }

  end(chunk?: Buffer | string): void {
    if (this.done) return;
    this.done = true;
    if (this.stream.destroyed) return this.finished();
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const empty = body === undefined || body.length === 0;
    if (!this.responded && empty && !this.trailers) {
      // Nothing but a head: one HEADERS frame with END_STREAM (for gRPC, a trailers-only response).
      this.respond(true);
    } else {
      this.respond(false);
      if (empty) this.stream.end();
      else this.stream.end(body);
    }
    this.finished();
  }

  /** Ends the stream at once with RST_STREAM (a failure after the head: never a truncated body passed as complete). */
  destroy(): void {
    this.done = true;
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    this.finished();
  }

  once(event: 'drain', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }

  private respond(endStream: boolean): void {
    if (this.responded) return;
    this.responded = true;
    if (this.stream.destroyed || this.stream.closed) return; // reset by the client meanwhile
    const head = this.head ?? [':status', '200'];
    this.headersSent = true;
    const waitForTrailers = !endStream && (this.grpc || this.trailers !== null);
    this.stream.respond(head, { endStream, waitForTrailers });
    if (waitForTrailers) {
      this.stream.once('wantTrailers', () => {
        if (!this.stream.destroyed) this.stream.sendTrailers(this.trailers ?? {});
      });
    }
  }
}
