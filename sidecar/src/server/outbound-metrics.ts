// The outbound proxy's metrics, per destination (a meshed Service as
// namespace/name:port, an egress.allow entry as host:port, anything that
// only egress.default Allow lets through as "other", so the label set
// stays bounded by the config): requests by decision and reason, latency,
// and mTLS failures (the callee's certificate or identity refused).
// Registered on the registry passed in.
import { Counter, Histogram, type Registry } from 'prom-client';

export const OUTBOUND_METRIC_NAMES = {
  requests: 'acp_sidecar_outbound_requests_total',
  duration: 'acp_sidecar_outbound_request_duration_seconds',
  mtlsFailures: 'acp_sidecar_outbound_mtls_failures_total',
  retries: 'acp_sidecar_outbound_retries_total',
} as const;

export interface OutboundMetrics {
  request(destination: string, decision: string, reason: string, seconds: number): void;
  mtlsFailure(destination: string, reason: string): void;
  retry(destination: string): void;
}

export function createOutboundMetrics(registry: Registry): OutboundMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: OUTBOUND_METRIC_NAMES.requests,
    help: 'Outbound requests by destination, decision (allow, deny, error) and reason code',
    labelNames: ['destination', 'decision', 'reason'],
    registers,
  });
  const duration = new Histogram({
    name: OUTBOUND_METRIC_NAMES.duration,
    help: 'Outbound request time from the app request head to the response head, seconds',
    labelNames: ['destination'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const mtls = new Counter({
    name: OUTBOUND_METRIC_NAMES.mtlsFailures,
    help: "Outbound mTLS failures by destination and reason (the callee's certificate or identity refused)",
    labelNames: ['destination', 'reason'],
    registers,
  });
  const retries = new Counter({
    name: OUTBOUND_METRIC_NAMES.retries,
    help: 'Idempotent outbound requests sent again after their connection failed, by destination',
    labelNames: ['destination'],
    registers,
  });
  return {
    request(destination, decision, reason, seconds) {
      requests.inc({ destination, decision, reason });
      duration.observe({ destination }, seconds);
    },
    mtlsFailure: (destination, reason) => mtls.inc({ destination, reason }),
    retry: (destination) => retries.inc({ destination }),
  };
}
