// Layer: a request that the sidecar and the app could read two ways (two
// Host fields, Connection naming Host or Authorization, more than one
// credential, a token in the query, a CGI-style spelling of a protected
// header name; http/ambiguity.ts) is refused with 400 before any decision
// is made on it. Both request paths (the fast path and node:http) reach it.
// Like HTTP framing, this is protocol safety: Audit mode does not relax it.
// bodyTokenLayer, after the body layer, does the same for an access_token in
// a form-encoded body (which the body layer has read whole).
import { AcpError } from '@acp/crds/sidecar';
import { bodyTokenAmbiguity, isFormBody, requestAmbiguity } from '../http/ambiguity.ts';
import type { Layer } from '../pipeline/types.ts';

export const ambiguityLayer: Layer = (next) => (ctx) => {
  const a = requestAmbiguity(ctx.headers, ctx.query);
  if (a) throw new AcpError(a.code, a.reason);
  return next(ctx);
};

export const bodyTokenLayer: Layer = (next) => (ctx) => {
  if (ctx.body !== undefined && isFormBody(ctx.headers.contentType)) {
    const a = bodyTokenAmbiguity(ctx.headers, ctx.query, ctx.body);
    if (a) throw new AcpError(a.code, a.reason);
  }
  return next(ctx);
};
