// The last handler: forwards an admitted request to the app on
// 127.0.0.1:upstream.port over a keep-alive pool (undici dispatch: no
// streams or Agent on the hot path) and relays the response with HSTS and
// X-Request-ID. App refused or failed before answering -> 502, app slower
// than limits.requestTimeoutMs to answer -> 504; a failure after the status
// line went out aborts the client connection (a truncated 200 is never
// passed off as complete). The client leaving aborts the upstream request.
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { AcpError } from '@acp/crds';
import { stripResponseHopByHop, upstreamRequestHeaders } from '../http/headers.ts';
import type { Recorder } from '../pipeline/recorder.ts';
import type { Handler, RequestContext } from '../pipeline/types.ts';

export interface ForwardDeps {
  /** The pool to the app for the snapshot's upstream port. */
  upstream: (ctx: RequestContext) => Dispatcher;
  recorder: Recorder;
  selfId: () => string | undefined;
  /** True while draining: responses ask the client to close. */
  draining: () => boolean;
}

/** Maps a failure that happened before the app's status line to the error the client gets. */
export function upstreamError(e: Error & { code?: string }): AcpError {
  const code = e.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new AcpError('ACP_ERR_UPSTREAM_TIMEOUT', 'the app did not answer in time', {}, { cause: e });
  }
  return new AcpError(
    'ACP_ERR_UPSTREAM_UNAVAILABLE',
    `the app could not be reached (${code || e.name})`,
    {},
    { cause: e },
  );
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private pending: Buffer | null = null;
  private readonly ctx: RequestContext;
  private readonly deps: ForwardDeps;
  private readonly resolve: () => void;
  private readonly reject: (e: unknown) => void;

  constructor(ctx: RequestContext, deps: ForwardDeps, resolve: () => void, reject: (e: unknown) => void) {
    this.ctx = ctx;
    this.deps = deps;
    this.resolve = resolve;
    this.reject = reject;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ctx.res.destroyed) controller.abort(new Error('client closed'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return;
    const ctx = this.ctx;
    this.status = statusCode;
    const h = stripResponseHopByHop(headers);
    h['strict-transport-security'] = ctx.policy.hsts;
    h['x-request-id'] = ctx.requestId;
    if (this.deps.draining()) h['connection'] = 'close';
    ctx.res.writeHead(statusCode, h);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.ctx.bytesOut += chunk.length;
    const prev = this.pending;
    this.pending = chunk;
    if (prev && !this.ctx.res.write(prev)) {
      controller.pause();
      this.ctx.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    const ctx = this.ctx;
    if (this.pending) ctx.res.end(this.pending);
    else ctx.res.end();
    this.pending = null;
    this.deps.recorder.finish(ctx, this.status, 'allow', 'ACP_OK');
    this.resolve();
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    const ctx = this.ctx;
    if (ctx.res.headersSent || this.status !== 0) {
      ctx.res.destroy();
      this.deps.recorder.finish(ctx, this.status, 'error', 'ACP_ERR_UPSTREAM_RESET');
      this.resolve();
      return;
    }
    if (ctx.res.destroyed) {
      this.deps.recorder.finish(ctx, 499, 'error', 'ACP_ERR_CLIENT_CLOSED');
      this.resolve();
      return;
    }
    this.reject(upstreamError(error));
  }

  clientClosed(): void {
    if (this.ctx.done || !this.controller || this.controller.aborted) return;
    this.controller.abort(new Error('client closed'));
  }
}

export function forwardHandler(deps: ForwardDeps): Handler {
  return (ctx) =>
    new Promise<void>((resolve, reject) => {
      const req = ctx.req;
      const handler = new ForwardHandler(ctx, deps, resolve, reject);
      ctx.res.once('close', () => handler.clientClosed());
      const length = ctx.bodyLength;
      const headers = upstreamRequestHeaders(req.rawHeaders, {
        requestId: ctx.requestId,
        clientAddress: ctx.conn.remoteAddress,
        peerId: ctx.conn.peerId,
        selfId: deps.selfId(),
        claimHeaders: ctx.claimHeaders,
        contentLength: length,
      });
      const timeout = ctx.policy.config.limits.requestTimeoutMs;
      deps.upstream(ctx).dispatch(
        {
          path: ctx.query ? `${ctx.path}?${ctx.query}` : ctx.path,
          method: req.method ?? 'GET',
          headers,
          body: ctx.body ?? (length !== undefined && length > 0 ? req : null),
          headersTimeout: timeout,
          bodyTimeout: timeout,
        },
        handler,
      );
    });
}
