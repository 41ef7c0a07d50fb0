// The request pipeline's shapes: the per-request context every layer reads
// and writes, a handler, and a layer `(next) => handler`. A handler either
// finishes the response itself, calls `next`, or throws an AcpError for the
// rescue (rescue.ts) to turn into a response. Types only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.ts';
import type { RequestHeaders } from '../http/request-headers.ts';

/** What the TLS layer learned about the connection, computed once per connection. */
export interface ConnectionInfo {
  /** The verified caller SPIFFE ID, or undefined (Permissive mode, no certificate). */
  readonly peerId: string | undefined;
  readonly remoteAddress: string;
  /** Requests of this connection waiting for the app: told when the client connection closes. */
  readonly inFlight: Set<InFlight>;
  /** The last request the connection started (node:http's parse errors and timeouts concern it or the next). */
  last: RequestContext | undefined;
  /** The forwarded-header text for the app (http/headers.ts forwardedHeadText), kept for the sidecar identity it was made with. */
  forwarded?: { readonly selfId: string | undefined; readonly text: string };
}

/** A request's upstream leg while it runs (layers/forward.ts). */
export interface InFlight {
  readonly ctx: RequestContext;
  /** The client connection closed: abort the app's exchange and record the request as abandoned. */
  clientClosed(): void;
  /** Abort the app's exchange (its connection is reset: the app never takes a cut request as complete). */
  abort(): void;
}

/** What an HTTP/2 request adds to the context (server/h2-inbound.ts). */
export interface H2Facts {
  /** content-type application/grpc*: the sidecar's own refusals are gRPC answers (trailers-only). */
  readonly grpc: boolean;
  /** The grpc-timeout of the call, in ms. */
  readonly grpcTimeoutMs: number | undefined;
  /** The body arrives in DATA frames without a Content-Length (streamed; the body layer caps it). */
  readonly bodyOpen: boolean;
  /** Caps the streamed body: past `max` it is refused (Enforce) or recorded (Audit), past `hardCap` always refused. */
  limitBody(max: number, hardCap: number): void;
}

export type Decision = 'allow' | 'deny' | 'would_deny' | 'error';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The config snapshot in force when the request started. */
  readonly policy: Policy;
  readonly conn: ConnectionInfo;
  /** What the layers read from the request headers (one pass over rawHeaders). */
  readonly headers: RequestHeaders;
  readonly startMs: number;
  requestId: string;
  /** The canonical path (the raw one only when Audit mode let a refused path through). */
  path: string;
  /** The path the rules match when it differs from `path` (matrix parameters left out). */
  route?: string;
  query: string;
  subject: string | undefined;
  claimHeaders: readonly (readonly [string, string])[] | undefined;
  /** Audit mode: the codes of the controls that would have denied. */
  wouldDeny: string[] | undefined;
  /** Body length to announce upstream (known Content-Length or buffered size). */
  bodyLength: number | undefined;
  /** A body the sidecar read fully before forwarding (chunked requests). */
  body: Buffer | undefined;
  bytesIn: number;
  bytesOut: number;
  done: boolean;
  /** A protocol error the server found before the pipeline ran (framing layer answers it). */
  protocolError: string | undefined;
  /** Sends `100 Continue` to a client that asked for it, once the request is admitted (else undefined). */
  sendContinue: (() => void) | undefined;
  /** Set for a request that came over HTTP/2. */
  h2?: H2Facts;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;
export type Layer = (next: Handler) => Handler;

/** Composes layers outermost first: compose([a, b], h) = a(b(h)). Done once, not per request. */
export function compose(layers: readonly Layer[], last: Handler): Handler {
  let h = last;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer) h = layer(h);
  }
  return h;
}
