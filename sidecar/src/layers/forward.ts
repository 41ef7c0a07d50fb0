// The last handler: forwards an admitted request to the app on
// 127.0.0.1:upstream.port over the keep-alive pool (upstream/pool.ts) and
// relays the response with HSTS and X-Request-ID. The request head is one
// string (client headers minus hop-by-hop and sidecar-owned ones, plus the
// sidecar's); a small response goes out as one write (head and body held
// until the body is complete or a second piece arrives). App refused or
// failed before answering -> 502, app slower than limits.requestTimeoutMs
// -> 504, malformed response -> 502 (handed to the rescue: no promise per
// request); a failure after the status line aborts the client connection
// (a truncated 200 is never passed off as complete). The client connection
// closing, or the request timing out while its body arrives, aborts the
// upstream exchange with a reset: the app never takes a cut body for a
// whole one.
import type { AcpError } from '@acp/crds/sidecar';
import {
  clientResponseHeaders,
  forwardedHeadText,
  upstreamRequestHead,
  upstreamRequestHeaders,
} from '../http/headers.ts';
import type { Recorder } from '../pipeline/recorder.ts';
import type { Handler, InFlight, RequestContext } from '../pipeline/types.ts';
import type { H2cHandler, H2cUpstream } from '../upstream/h2c.ts';
import type { Exchange, UpstreamPool } from '../upstream/pool.ts';

export interface ForwardDeps {
  /** The pool to the app for the snapshot's upstream port. */
  upstream: (ctx: RequestContext) => UpstreamPool;
  /** The h2c session to the app, when the snapshot says it speaks h2c. */
  h2c: (ctx: RequestContext) => H2cUpstream;
  recorder: Recorder;
  selfId: () => string | undefined;
  /** True while draining: responses ask the client to close. */
  draining: () => boolean;
  /** The rescue: answers a failure before the app's status line (502, 504). */
  fail: (ctx: RequestContext, e: AcpError) => void;
}

class Relay implements H2cHandler, InFlight {
  exchange: Exchange | null = null;
  private status = 0;
  private pending: Buffer | null = null;
  readonly ctx: RequestContext;
  private readonly deps: ForwardDeps;

  constructor(ctx: RequestContext, deps: ForwardDeps) {
    this.ctx = ctx;
    this.deps = deps;
  }

  onHead(status: number, headers: string[], contentLength: number | undefined): void {
    const ctx = this.ctx;
    this.status = status;
    const h = clientResponseHeaders(headers);
    if (contentLength !== undefined) h.push('content-length', String(contentLength));
    h.push('strict-transport-security', ctx.policy.hsts, 'x-request-id', ctx.requestId);
    if (this.deps.draining()) h.push('connection', 'close');
    ctx.res.writeHead(status, h);
  }

  onBody(chunk: Buffer): void {
    this.ctx.bytesOut += chunk.length;
    // HTTP/2 (gRPC server streaming among others): each piece goes out as it comes; HTTP/1.1 holds
    // one piece so that a small response is one write.
    const prev = this.ctx.h2 ? chunk : this.pending;
    if (!this.ctx.h2) this.pending = chunk;
    if (prev && !this.ctx.res.write(prev)) {
      const ex = this.exchange;
      ex?.pause();
      this.ctx.res.once('drain', () => ex?.resume());
    }
  }

  /** Trailers of an h2c app: relayed to an HTTP/2 client (gRPC status), dropped for HTTP/1.1. */
  onTrailers(fields: string[]): void {
    const res = this.ctx.res as unknown as { addTrailers?: (f: string[]) => void };
    if (this.ctx.h2) res.addTrailers?.(clientResponseHeaders(fields));
  }

  onEnd(): void {
    const ctx = this.ctx;
    ctx.conn.inFlight.delete(this);
    this.exchange = null; // an ended exchange keeps nothing of the request alive (pool.ts release)
    if (this.pending) ctx.res.end(this.pending);
    else ctx.res.end();
    this.pending = null;
    this.deps.recorder.finish(ctx, this.status, 'allow', 'ACP_OK');
  }

  onError(error: AcpError, afterHead: boolean): void {
    const ctx = this.ctx;
    ctx.conn.inFlight.delete(this);
    this.exchange = null;
    if (afterHead || ctx.res.headersSent) {
      ctx.res.destroy();
      this.deps.recorder.finish(ctx, this.status, 'error', 'ACP_ERR_UPSTREAM_RESET');
      return;
    }
    this.deps.fail(ctx, error);
  }

  /** The client connection closed before the response was complete. */
  clientClosed(): void {
    this.abort();
    this.deps.recorder.finish(this.ctx, 499, 'error', 'ACP_ERR_CLIENT_CLOSED');
  }

  /** Ends the app's exchange now: its connection is reset, whatever part of the request it got. */
  abort(): void {
    this.ctx.conn.inFlight.delete(this);
    this.exchange?.abort();
    this.exchange = null;
  }
}

function forwardH2c(ctx: RequestContext, relay: Relay, deps: ForwardDeps, selfId: string | undefined): void {
  const req = ctx.req;
  const length = ctx.bodyLength;
  const fields = upstreamRequestHeaders(req.rawHeaders, {
    requestId: ctx.requestId,
    clientAddress: ctx.conn.remoteAddress,
    peerId: ctx.conn.peerId,
    selfId,
    claimHeaders: ctx.claimHeaders,
    contentLength: length,
  });
  // Host becomes :authority; gRPC servers expect `te: trailers` (a hop-by-hop field, dropped above).
  const headers: string[] = ctx.h2?.grpc ? ['te', 'trailers'] : [];
  let authority = `127.0.0.1:${ctx.policy.config.upstream.port}`;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] ?? '';
    if (name.toLowerCase() === 'host') authority = fields[i + 1] ?? authority;
    else headers.push(name, fields[i + 1] ?? '');
  }
  const streamed = ctx.h2?.bodyOpen === true && ctx.body === undefined;
  relay.exchange = deps.h2c(ctx).request(
    {
      method: req.method ?? 'GET',
      path: ctx.query ? `${ctx.path}?${ctx.query}` : ctx.path,
      authority,
      headers,
      body: ctx.body ?? (streamed || (length !== undefined && length > 0) ? req : null),
      timeoutMs: Math.min(ctx.policy.config.limits.requestTimeoutMs, ctx.h2?.grpcTimeoutMs ?? Infinity),
    },
    relay,
  );
}

export function forwardHandler(deps: ForwardDeps): Handler {
  return (ctx) => {
    const req = ctx.req;
    const relay = new Relay(ctx, deps);
    ctx.conn.inFlight.add(relay);
    if (ctx.policy.config.upstream.protocol === 'h2c') {
      forwardH2c(ctx, relay, deps, deps.selfId());
      return;
    }
    const length = ctx.bodyLength;
    const method = req.method ?? 'GET';
    const conn = ctx.conn;
    const selfId = deps.selfId();
    const values = {
      requestId: ctx.requestId,
      clientAddress: conn.remoteAddress,
      peerId: conn.peerId,
      selfId,
      claimHeaders: ctx.claimHeaders,
      contentLength: length,
      host: ctx.headers.hasHost ? undefined : `127.0.0.1:${ctx.policy.config.upstream.port}`,
    };
    let forwarded = conn.forwarded;
    if (!forwarded || forwarded.selfId !== selfId)
      conn.forwarded = forwarded = { selfId, text: forwardedHeadText(values) };
    const head = upstreamRequestHead(
      method,
      ctx.query ? `${ctx.path}?${ctx.query}` : ctx.path,
      req.rawHeaders,
      values,
      forwarded.text,
    );
    relay.exchange = deps.upstream(ctx).request(
      {
        method,
        head,
        body: ctx.body ?? (length !== undefined && length > 0 ? req : null),
        timeoutMs: ctx.policy.config.limits.requestTimeoutMs,
      },
      relay,
    );
  };
}
