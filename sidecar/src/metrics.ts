// The sidecar's Prometheus metrics (prefix acp_sidecar_), registered on the
// registry passed in (no global registry). The two per-request ones are
// light collectors (request-metrics.ts) whose label children are cached,
// so the per-request cost is two map lookups and two adds.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Decision } from './pipeline/types.ts';
import { LightCounter, LightHistogram, type CounterChild, type HistogramChild } from './request-metrics.ts';

export interface Metrics {
  readonly registry: Registry;
  request(decision: Decision, reason: string, seconds: number): void;
  tlsFailure(reason: string): void;
  /** A completed inbound handshake: the protocol (TLSv1.2, TLSv1.3) and whether the session was resumed. */
  tlsHandshake(version: string, resumed: boolean): void;
  jwtFailure(reason: string): void;
  rateLimited(): void;
  certificateExpiry(notAfterMs: number): void;
  reload(kind: 'config' | 'credentials', result: 'success' | 'failure' | 'unchanged'): void;
  /** Whether the file on disk is refused right now (the last good one stays in force). */
  reloadRefused(kind: 'config' | 'credentials', refused: boolean): void;
  setReady(ready: boolean): void;
  /** A connection closed at accept (ConnectionCode). */
  connectionRefused(reason: string): void;
  /** An HTTP/2 session or stream cut by a defence (H2Code). */
  http2Defence(reason: string): void;
  /** Where the inbound connection gauges read their values at scrape time. */
  observeConnections(source: () => { open: number; pending: number }): void;
}

export const METRIC_NAMES = {
  requests: 'acp_sidecar_requests_total',
  duration: 'acp_sidecar_request_duration_seconds',
  tlsFailures: 'acp_sidecar_tls_handshake_failures_total',
  tlsHandshakes: 'acp_sidecar_tls_handshakes_total',
  jwtFailures: 'acp_sidecar_jwt_failures_total',
  rateLimited: 'acp_sidecar_rate_limited_total',
  certExpiry: 'acp_sidecar_certificate_expiry_timestamp_seconds',
  reloads: 'acp_sidecar_config_reloads_total',
  reloadRefused: 'acp_sidecar_reload_refused',
  ready: 'acp_sidecar_ready',
  connectionsRefused: 'acp_sidecar_connections_refused_total',
  connectionsOpen: 'acp_sidecar_inbound_connections',
  handshakesPending: 'acp_sidecar_inbound_handshakes_pending',
  http2Defences: 'acp_sidecar_http2_defences_total',
} as const;

export function createMetrics(registry: Registry): Metrics {
  const requests = new LightCounter(
    registry,
    METRIC_NAMES.requests,
    'Requests by decision (allow, deny, would_deny, error) and reason code',
  );
  const duration = new LightHistogram(
    registry,
    METRIC_NAMES.duration,
    'Time from request headers to the end of the response, seconds',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  const tls = new Counter({
    name: METRIC_NAMES.tlsFailures,
    help: 'TLS handshakes and client certificates refused, by reason code',
    labelNames: ['reason'],
    registers: [registry],
  });
  const handshakes = new Counter({
    name: METRIC_NAMES.tlsHandshakes,
    help: 'Inbound TLS handshakes completed, by protocol version and session resumption',
    labelNames: ['version', 'resumed'],
    registers: [registry],
  });
  const jwt = new Counter({
    name: METRIC_NAMES.jwtFailures,
    help: 'Bearer tokens refused, by reason code',
    labelNames: ['reason'],
    registers: [registry],
  });
  const rate = new Counter({
    name: METRIC_NAMES.rateLimited,
    help: 'Requests over the rate limit (denied, or would be in Audit mode)',
    registers: [registry],
  });
  const expiry = new Gauge({
    name: METRIC_NAMES.certExpiry,
    help: 'notAfter of the serving certificate in force, unix seconds',
    registers: [registry],
  });
  const reloads = new Counter({
    name: METRIC_NAMES.reloads,
    help: 'Reloads of the config or the credentials, by result (a failure keeps the last good one)',
    labelNames: ['kind', 'result'],
    registers: [registry],
  });
  const reloadRefused = new Gauge({
    name: METRIC_NAMES.reloadRefused,
    help: '1 while the file on disk is refused and the last good config or credentials stay in force (a sidecar running a config other than the compiled one), else 0',
    labelNames: ['kind'],
    aggregator: 'max',
    registers: [registry],
  });
  const ready = new Gauge({ name: METRIC_NAMES.ready, help: '1 when serving', registers: [registry] });
  const refused = new Counter({
    name: METRIC_NAMES.connectionsRefused,
    help: 'Inbound connections closed at accept, before TLS, by reason code (connection limits)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const h2 = new Counter({
    name: METRIC_NAMES.http2Defences,
    help: 'HTTP/2 sessions and streams cut by a defence (floods, rapid reset, stalls, protocol errors), by reason code',
    labelNames: ['reason'],
    registers: [registry],
  });
  let connections = (): { open: number; pending: number } => ({ open: 0, pending: 0 });
  new Gauge({
    name: METRIC_NAMES.connectionsOpen,
    help: 'Open inbound connections (TCP accepted, not yet closed)',
    registers: [registry],
    collect() {
      this.set(connections().open);
    },
  });
  new Gauge({
    name: METRIC_NAMES.handshakesPending,
    help: 'Inbound connections whose TLS handshake has not completed',
    registers: [registry],
    collect() {
      this.set(connections().pending);
    },
  });
  const reqChildren = new Map<string, Map<string, CounterChild>>();
  const durChildren = new Map<string, HistogramChild>();
  return {
    registry,
    request(decision, reason, seconds) {
      let byReason = reqChildren.get(decision);
      if (!byReason) reqChildren.set(decision, (byReason = new Map<string, CounterChild>()));
      let c = byReason.get(reason);
      if (!c) byReason.set(reason, (c = requests.child({ decision, reason })));
      c.value++;
      let h = durChildren.get(decision);
      if (!h) durChildren.set(decision, (h = duration.child({ decision })));
      h.observe(seconds);
    },
    tlsFailure: (reason) => tls.labels(reason).inc(),
    tlsHandshake: (version, resumed) => handshakes.labels(version, resumed ? 'true' : 'false').inc(),
    jwtFailure: (reason) => jwt.labels(reason).inc(),
    rateLimited: () => rate.inc(),
    certificateExpiry: (ms) => expiry.set(Math.floor(ms / 1000)),
    reload: (kind, result) => reloads.labels(kind, result).inc(),
    reloadRefused: (kind, r) => reloadRefused.labels(kind).set(r ? 1 : 0),
    setReady: (r) => ready.set(r ? 1 : 0),
    connectionRefused: (reason) => refused.labels(reason).inc(),
    http2Defence: (reason) => h2.labels(reason).inc(),
    observeConnections: (source) => {
      connections = source;
    },
  };
}
