// Layer: request body size. A Content-Length above limits.maxRequestBytes
// is a 413 before a byte of the body is read; such a body is streamed to the
// app otherwise (the HTTP parser enforces the length). A chunked body, and a
// form-encoded one (application/x-www-form-urlencoded, which the body-token
// check reads, layers/ambiguity.ts), is read completely first, up to the
// limit, and forwarded with a Content-Length, so the app never sees a
// partial body: crossing the limit is a 413 and the
// connection is closed. In Audit mode an oversized body is recorded and
// still forwarded, up to the hard cap of 10 MiB. A client that sent
// `Expect: 100-continue` gets its `100 Continue` here, once every earlier
// layer admitted the request and the body is about to be read: a refused
// request is answered without the client ever sending its body. An HTTP/2
// body without Content-Length is streamed with a running cap per stream.
import { AcpError } from '@acp/crds/sidecar';
import { refuse } from '../pipeline/rescue.ts';
import { isFormBody } from '../http/ambiguity.ts';
import type { Handler, Layer, RequestContext } from '../pipeline/types.ts';

const HARD_CAP = 10 * 1024 * 1024;

/** The app takes a body of unknown length as it comes (h2c); an HTTP/1.1 app gets it read whole, with a Content-Length. */
function streamsToApp(ctx: RequestContext): boolean {
  return ctx.policy.config.upstream.protocol === 'h2c';
}

export function tooLarge(max: number): AcpError {
  return new AcpError('ACP_ERR_BODY_TOO_LARGE', `request body exceeds ${max} bytes`);
}

/** Reads a chunked body up to `max` bytes (Enforce) or the hard cap (Audit). */
function readBody(ctx: RequestContext, max: number): Promise<Buffer> {
  const cap = ctx.policy.enforce ? max : HARD_CAP;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let over = false;
    const req = ctx.req;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > max && !over) over = true;
      if (total > cap) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge(max));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (total > cap) return;
      if (over) {
        try {
          refuse(ctx, tooLarge(max));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
      }
      resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, total));
    });
    req.once('error', () => reject(new AcpError('ACP_ERR_BAD_REQUEST', 'client aborted the request body')));
  });
}

function readWhole(ctx: RequestContext, max: number, next: Handler): Promise<void> {
  return readBody(ctx, max).then((body) => {
    ctx.body = body;
    ctx.bodyLength = body.length;
    ctx.bytesIn = body.length;
    return next(ctx);
  });
}

export const bodyLimitLayer: Layer = (next) => (ctx) => {
  const max = ctx.policy.config.limits.maxRequestBytes;
  const cl = ctx.headers.contentLength;
  if (cl !== undefined) {
    const length = Number(cl);
    if (length > max) {
      refuse(ctx, tooLarge(max));
      if (length > HARD_CAP) throw tooLarge(max);
    }
    ctx.bodyLength = length;
    ctx.bytesIn = length;
    if (length > 0) ctx.sendContinue?.();
    if (length === 0 || !isFormBody(ctx.headers.contentType)) return next(ctx);
    return readWhole(ctx, max, next);
  }
  if (ctx.h2?.bodyOpen) {
    // HTTP/2 without Content-Length (every gRPC call): a form body is read whole, any other is
    // streamed (client and bidirectional streaming) and capped as it flows (server/h2-inbound.ts).
    if (isFormBody(ctx.headers.contentType) || !streamsToApp(ctx)) return readWhole(ctx, max, next);
    ctx.h2.limitBody(max, ctx.policy.enforce ? max : HARD_CAP);
    return next(ctx);
  }
  if (ctx.headers.transferEncoding === undefined) return next(ctx);
  ctx.sendContinue?.();
  return readWhole(ctx, max, next);
};
