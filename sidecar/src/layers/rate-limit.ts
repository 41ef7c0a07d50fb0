// Layer: rate limit per verified identity, verified JWT subject, or source
// address (limits.rateLimit.by), falling back Subject -> Identity ->
// SourceIP when the caller has no such attribute. Never keyed on a client
// header. Over the limit: 429 ACP_ERR_RATE_LIMITED with Retry-After.
import { AcpError } from '@acp/crds/sidecar';
import type { Metrics } from '../metrics.ts';
import { refuse } from '../pipeline/rescue.ts';
import type { Handler, Layer, RequestContext } from '../pipeline/types.ts';

export function rateKey(ctx: RequestContext, by: 'Identity' | 'Subject' | 'SourceIP'): string {
  if (by === 'Subject' && ctx.subject !== undefined) return `sub:${ctx.subject}`;
  if (by !== 'SourceIP' && ctx.conn.peerId !== undefined) return `id:${ctx.conn.peerId}`;
  return `ip:${ctx.conn.remoteAddress}`;
}

export function rateLimitLayer(metrics: Metrics, nowMs: () => number): Layer {
  return (next: Handler): Handler =>
    (ctx) => {
      const limiter = ctx.policy.rateLimiter;
      const settings = ctx.policy.config.limits.rateLimit;
      if (limiter && settings) {
        const d = limiter.take(rateKey(ctx, settings.by), nowMs());
        if (!d.ok) {
          metrics.rateLimited();
          refuse(
            ctx,
            new AcpError('ACP_ERR_RATE_LIMITED', 'rate limit exceeded', {
              retryAfterSeconds: d.retryAfterSeconds,
            }),
          );
        }
      }
      return next(ctx);
    };
}
