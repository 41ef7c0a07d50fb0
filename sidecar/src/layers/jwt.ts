// Layer: bearer-token authentication and scope authorization. The first
// rule matching method and canonical path decides: public -> no token
// needed; otherwise a valid token (from the rule's providers, any provider
// when it names none or when no rule matches) with every required scope
// (`scope` string or `scp` array). Failures: 401 with WWW-Authenticate, 403
// ACP_ERR_JWT_SCOPE for missing scopes; counted by reason. A cached token
// (verify.ts) keeps this layer synchronous.
import { AcpError } from '@acp/crds/sidecar';
import { matchRule, type CompiledRule } from '../config/rules.ts';
import type { VerifiedToken } from '../jwt/verify.ts';
import type { Metrics } from '../metrics.ts';
import { refuse } from '../pipeline/rescue.ts';
import type { Handler, Layer, RequestContext } from '../pipeline/types.ts';

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 && !token.includes(' ') ? token : undefined;
}

function authorize(ctx: RequestContext, rule: CompiledRule | null, v: VerifiedToken, metrics: Metrics): void {
  if (rule && rule.providers.length > 0 && !rule.providers.includes(v.provider)) {
    metrics.jwtFailure('ACP_ERR_JWT_PROVIDER');
    refuse(ctx, new AcpError('ACP_ERR_JWT_PROVIDER', `provider ${v.provider} not accepted here`));
  }
  if (rule && rule.requiredScopes.length > 0 && !rule.requiredScopes.every((s) => v.scopes.has(s))) {
    metrics.jwtFailure('ACP_ERR_JWT_SCOPE');
    refuse(ctx, new AcpError('ACP_ERR_JWT_SCOPE', 'missing scope', { scope: rule.requiredScopes.join(' ') }));
  }
  ctx.subject = v.subject;
  if (v.claimHeaders.length > 0) ctx.claimHeaders = v.claimHeaders;
}

export function jwtLayer(metrics: Metrics): Layer {
  const failed = (ctx: RequestContext, e: unknown): void => {
    const err =
      e instanceof AcpError ? e : new AcpError('ACP_ERR_JWT_MALFORMED', 'token could not be verified');
    metrics.jwtFailure(err.code);
    refuse(ctx, err);
  };
  return (next: Handler): Handler =>
    (ctx) => {
      const jwt = ctx.policy.jwt;
      if (!jwt) return next(ctx);
      const rule = matchRule(jwt.rules, ctx.req.method ?? 'GET', ctx.route ?? ctx.path);
      if (rule?.public) return next(ctx);
      const token = bearerToken(ctx.headers.authorization);
      if (token === undefined) {
        failed(ctx, new AcpError('ACP_ERR_JWT_MISSING', 'bearer token required'));
        return next(ctx);
      }
      const v = jwt.verifier.verify(token);
      if (!(v instanceof Promise)) {
        authorize(ctx, rule, v, metrics);
        return next(ctx);
      }
      return v.then(
        (ok) => {
          authorize(ctx, rule, ok, metrics);
          return next(ctx);
        },
        (e: unknown) => {
          failed(ctx, e);
          return next(ctx);
        },
      );
    };
}
