// Records the outcome of each request once: the audit record (one pino
// JSON line per decision, never Authorization or cookies) and the request
// metrics. Every path that ends a request (forwarded, denied, failed,
// aborted) goes through `finish`, which ignores a second call.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { Decision, RequestContext } from './types.ts';

export interface Recorder {
  finish(ctx: RequestContext, status: number, decision: Decision, reason: string): void;
}

export interface RecorderDeps {
  audit: Logger;
  metrics: Metrics;
  nowMs: () => number;
}

function auditHeaders(ctx: RequestContext): Record<string, string> | undefined {
  const names = ctx.policy.auditHeaders;
  if (names.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = ctx.req.headers[n];
    if (v !== undefined) out[n] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export function createRecorder(deps: RecorderDeps): Recorder {
  return {
    finish(ctx, status, decision, reason) {
      if (ctx.done) return;
      ctx.done = true;
      const latencyMs = deps.nowMs() - ctx.startMs;
      const wd = ctx.wouldDeny;
      const finalDecision: Decision = decision === 'allow' && wd ? 'would_deny' : decision;
      const finalReason = decision === 'allow' && wd ? (wd[0] ?? reason) : reason;
      deps.metrics.request(finalDecision, finalReason, latencyMs / 1000);
      if (!ctx.policy.config.audit.enabled) return;
      const p = ctx.policy.config.policy;
      deps.audit.info({
        type: 'audit',
        requestId: ctx.requestId,
        peer: ctx.conn.peerId ?? null,
        subject: ctx.subject ?? null,
        client: ctx.conn.remoteAddress,
        method: ctx.req.method,
        path: ctx.path,
        status,
        decision: finalDecision,
        reason: finalReason,
        ...(wd ? { wouldDeny: wd } : {}),
        latencyMs: Math.round(latencyMs * 1000) / 1000,
        bytesIn: ctx.bytesIn,
        bytesOut: ctx.bytesOut,
        policy: `${p.namespace}/${p.name}@${p.generation}`,
        headers: auditHeaders(ctx),
      });
    },
  };
}
