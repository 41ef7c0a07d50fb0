// Records the outcome of each request once: the audit record (one JSON
// line per decision, never Authorization or cookies; audit.ts) and the
// request metrics. Every path that ends a request (forwarded, denied,
// failed, aborted) goes through `finish`, which ignores a second call.
import type { Metrics } from '../metrics.ts';
import type { AuditLog } from './audit.ts';
import type { Decision, RequestContext } from './types.ts';

export interface Recorder {
  finish(ctx: RequestContext, status: number, decision: Decision, reason: string): void;
}

export interface RecorderDeps {
  audit: AuditLog;
  metrics: Metrics;
  nowMs: () => number;
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
      deps.audit.request({
        requestId: ctx.requestId,
        peer: ctx.conn.peerId,
        subject: ctx.subject,
        client: ctx.conn.remoteAddress,
        method: ctx.req.method ?? '',
        path: ctx.path,
        status,
        decision: finalDecision,
        reason: finalReason,
        wouldDeny: wd,
        latencyMs: Math.round(latencyMs * 1000) / 1000,
        bytesIn: ctx.bytesIn,
        bytesOut: ctx.bytesOut,
        policyJson: ctx.policy.auditPolicyJson,
        headers: ctx.headers.audit,
      });
    },
  };
}
