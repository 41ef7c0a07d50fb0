// Metrics of workload identities and the mesh CA, on a registry passed in.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface IdentityMetrics {
  certificateExpiry: Gauge<'namespace' | 'service_account'>;
  certificateRenewal: Gauge<'namespace' | 'service_account'>;
  issued: Counter<'reason' | 'key_algorithm'>;
  issueFailures: Counter<'code'>;
  caExpiry: Gauge;
  caExpiringSoon: Gauge;
  caInvalid: Gauge;
}

export function createIdentityMetrics(registry: Registry): IdentityMetrics {
  const registers = [registry];
  return {
    certificateExpiry: new Gauge({
      name: 'acp_operator_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the current workload certificate of a service account (Unix seconds)',
      labelNames: ['namespace', 'service_account'],
      registers,
    }),
    certificateRenewal: new Gauge({
      name: 'acp_operator_certificate_renewal_timestamp_seconds',
      help: 'When the current workload certificate of a service account is due for renewal (Unix seconds); past due means it was not renewed in time',
      labelNames: ['namespace', 'service_account'],
      registers,
    }),
    issued: new Counter({
      name: 'acp_operator_certificates_issued_total',
      help: 'Workload certificates issued, by reason',
      labelNames: ['reason', 'key_algorithm'],
      registers,
    }),
    issueFailures: new Counter({
      name: 'acp_operator_certificate_issue_failures_total',
      help: 'Failed workload certificate issuances, by error code',
      labelNames: ['code'],
      registers,
    }),
    caExpiry: new Gauge({
      name: 'acp_operator_ca_expiry_timestamp_seconds',
      help: 'notAfter of the signing mesh CA (Unix seconds)',
      registers,
    }),
    caExpiringSoon: new Gauge({
      name: 'acp_operator_ca_expiring_soon',
      help: '1 when the signing mesh CA expires within 60 days',
      registers,
    }),
    caInvalid: new Gauge({
      name: 'acp_operator_ca_invalid',
      help: '1 while the configured CA cannot be used (nothing is issued)',
      registers,
    }),
  };
}
