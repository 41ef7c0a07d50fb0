// The webhook's Prometheus metrics (prefix acp_webhook_), registered on a
// registry passed in (no global registry). Reason labels are the decide
// reason codes, so a skip reads the same in metrics, logs and the pod's
// status annotation. The apiserver-client metrics (requests, informer
// restarts, credential problems) come from @acp/kube's createClientMetrics
// under the same prefix.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface WebhookMetrics {
  admissionDuration: Histogram<'webhook' | 'outcome'>;
  injections: Counter<'dry_run'>;
  skips: Counter<'reason' | 'dry_run'>;
  policyDecisions: Counter<'result'>;
  errors: Counter<'webhook' | 'code'>;
  connections: Counter;
  certificateSteps: Counter<'step'>;
  certificateExpiry: Gauge;
}

export function createMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  return {
    admissionDuration: new Histogram({
      name: 'acp_webhook_admission_duration_seconds',
      help: 'Time to answer an AdmissionReview, from the parsed body to the response, by webhook and outcome.',
      labelNames: ['webhook', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    injections: new Counter({
      name: 'acp_webhook_injections_total',
      help: 'Pods the sidecar was injected into (dry_run: the request was a dry run).',
      labelNames: ['dry_run'],
      registers,
    }),
    skips: new Counter({
      name: 'acp_webhook_skips_total',
      help: 'Pods not injected, by reason code (the same code as in the acp.dev/status annotation).',
      labelNames: ['reason', 'dry_run'],
      registers,
    }),
    policyDecisions: new Counter({
      name: 'acp_webhook_policy_decisions_total',
      help: 'ApiCompliancePolicy admission decisions (allowed, refused).',
      labelNames: ['result'],
      registers,
    }),
    errors: new Counter({
      name: 'acp_webhook_errors_total',
      help: 'Requests answered with an error (malformed AdmissionReview, wrong object, not ready), by error code.',
      labelNames: ['webhook', 'code'],
      registers,
    }),
    connections: new Counter({
      name: 'acp_webhook_tls_connections_total',
      help: 'TLS connections accepted (each a full or resumed handshake); a rate close to the admission rate means the apiserver is not reusing connections.',
      registers,
    }),
    certificateSteps: new Counter({
      name: 'acp_webhook_certificate_steps_total',
      help: 'Serving-certificate steps taken (bootstrap, rotateCa, publish, markPublished, issueLeaf, trimBundle).',
      labelNames: ['step'],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'acp_webhook_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (Unix time).',
      registers,
    }),
  };
}
