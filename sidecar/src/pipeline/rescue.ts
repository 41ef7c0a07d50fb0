// The ONE place that turns errors into responses: an AcpError becomes the
// status of its code (codes.ts) with a small JSON body naming the code and
// the request id; anything else is logged and becomes a 500. Every response
// the sidecar writes itself carries HSTS and X-Request-ID. Also `refuse`,
// which layers call to deny: it throws in Enforce mode and, in Audit mode,
// records the would-be denial and lets the request through. A gRPC call
// (HTTP/2, content-type application/grpc*) gets its refusal as a gRPC
// answer: grpc-status and grpc-message (http/grpc-status.ts).
import type { Logger } from 'pino';
import type { AcpError } from '@acp/crds/sidecar';
import { isAcpError } from '@acp/crds/sidecar';
import { statusForCode } from '../codes.ts';
import { grpcMessage, grpcStatusFor } from '../http/grpc-status.ts';
import { errorBody } from '../server/own-answer.ts';
import type { Recorder } from './recorder.ts';
import type { Handler, Layer, RequestContext } from './types.ts';

/** Denies (Enforce) or records the would-be denial and continues (Audit). */
export function refuse(ctx: RequestContext, error: AcpError): void {
  if (ctx.policy.enforce) throw error;
  (ctx.wouldDeny ??= []).push(error.code);
}

/** Credential refusals that RFC 6750 3.1 calls invalid_request (400). */
const INVALID_REQUEST = new Set([
  'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  'ACP_ERR_TOKEN_IN_QUERY',
  'ACP_ERR_TOKEN_IN_BODY',
]);

function extraHeaders(error: AcpError, status: number): Record<string, string> {
  const h: Record<string, string> = {};
  const d = error.details;
  if (status === 401) {
    h['www-authenticate'] =
      error.code === 'ACP_ERR_JWT_MISSING'
        ? 'Bearer realm="acp"'
        : `Bearer realm="acp", error="invalid_token", error_description="${error.code}"`;
  }
  if (INVALID_REQUEST.has(error.code)) {
    h['www-authenticate'] = 'Bearer realm="acp", error="invalid_request"';
  }
  if (error.code === 'ACP_ERR_JWT_SCOPE' && typeof d['scope'] === 'string') {
    h['www-authenticate'] = `Bearer realm="acp", error="insufficient_scope", scope="${d['scope']}"`;
  }
  if (typeof d['retryAfterSeconds'] === 'number') h['retry-after'] = String(d['retryAfterSeconds']);
  return h;
}

/** Answers after which the connection is not reused: its framing or timing cannot be trusted. */
const CLOSING = new Set([400, 408, 413, 414, 417, 431, 501, 505]);

/** Writes a response of the sidecar's own (an error), unless headers already went out. */
export function sendOwnResponse(
  ctx: RequestContext,
  status: number,
  code: string,
  headers: Record<string, string>,
): void {
  const res = ctx.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (ctx.h2?.grpc) {
    // A gRPC client reads grpc-status, not the HTTP status: a trailers-only response (one HEADERS
    // frame with END_STREAM, server/h2-request.ts) with the gRPC code of the refusal and the ACP code.
    res.writeHead(200, {
      ...headers,
      'strict-transport-security': ctx.policy.hsts,
      'x-request-id': ctx.requestId,
      'content-type': 'application/grpc',
      'grpc-status': grpcStatusFor(status),
      'grpc-message': grpcMessage(`${code} (request ${ctx.requestId})`),
      'x-acp-error': code,
    });
    res.end();
    return;
  }
  const body = errorBody(code, ctx.requestId);
  // A request whose body we did not read (or a broken one) must not leave bytes for the next request.
  const h = ctx.headers;
  const unreadBody =
    !ctx.req.complete &&
    ((h.contentLength !== undefined && h.contentLength !== '0') || h.transferEncoding !== undefined);
  const close = CLOSING.has(status) || unreadBody;
  res.writeHead(status, {
    ...headers,
    'strict-transport-security': ctx.policy.hsts,
    'x-request-id': ctx.requestId,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
  ctx.bytesOut = Buffer.byteLength(body);
}

/** A 5xx of the sidecar or the app (an error), unlike 501 and 505, which refuse what the client sent (a denial). */
function isFailure(status: number): boolean {
  return status >= 500 && status !== 501 && status !== 505;
}

export interface RescueDeps {
  recorder: Recorder;
  log: Logger;
}

export interface Rescue {
  readonly layer: Layer;
  /** Answers a request that failed outside a layer's call (the upstream leg reports here). */
  readonly fail: (ctx: RequestContext, e: unknown) => void;
}

export function createRescue(deps: RescueDeps): Rescue {
  const fail = (ctx: RequestContext, e: unknown): void => {
    if (ctx.done) return;
    if (isAcpError(e)) {
      const status = statusForCode(e.code);
      if (status === 500) deps.log.error({ err: e, requestId: ctx.requestId }, 'unexpected error');
      sendOwnResponse(ctx, status, e.code, extraHeaders(e, status));
      deps.recorder.finish(ctx, status, isFailure(status) ? 'error' : 'deny', e.code);
      return;
    }
    deps.log.error({ err: e, requestId: ctx.requestId }, 'unexpected error');
    sendOwnResponse(ctx, 500, 'ACP_ERR_INTERNAL', {});
    deps.recorder.finish(ctx, 500, 'error', 'ACP_ERR_INTERNAL');
  };
  const layer: Layer =
    (next: Handler): Handler =>
    (ctx) => {
      try {
        const r = next(ctx);
        if (r) return r.catch((e: unknown) => fail(ctx, e));
      } catch (e) {
        fail(ctx, e);
      }
      return undefined;
    };
  return { layer, fail };
}

export function rescueLayer(deps: RescueDeps): Layer {
  return createRescue(deps).layer;
}
