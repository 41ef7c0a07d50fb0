// Layer: canonical path. Every later layer (JWT rules) and the forwarder use
// ctx.path, the one canonical form (the rules ctx.route, the same path
// without matrix parameters, when the policy allows those); an ambiguous
// target is a 400 (ACP_ERR_PATH_NOT_CANONICAL). In Audit mode the raw path
// goes through.
import { AcpError } from '@acp/crds/sidecar';
import { canonicalizeTarget } from '../http/canonical-path.ts';
import { refuse } from '../pipeline/rescue.ts';
import type { Layer } from '../pipeline/types.ts';

export const pathLayer: Layer = (next) => (ctx) => {
  const target = ctx.req.url ?? '';
  const r = canonicalizeTarget(target, ctx.policy.pathOptions);
  if (r.ok) {
    ctx.path = r.path;
    if (r.route !== undefined) ctx.route = r.route;
    ctx.query = r.query;
    return next(ctx);
  }
  const q = target.indexOf('?');
  ctx.path = q < 0 ? target : target.slice(0, q);
  ctx.query = q < 0 ? '' : target.slice(q + 1);
  refuse(ctx, new AcpError('ACP_ERR_PATH_NOT_CANONICAL', r.reason));
  return next(ctx);
};
