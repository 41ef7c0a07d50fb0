// Metrics of policy reconciliation, on a registry passed in.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface PolicyMetrics {
  compliant: Gauge<'namespace' | 'policy' | 'profile'>;
  ready: Gauge<'namespace' | 'policy'>;
  jwksFetches: Counter<'uri' | 'result' | 'code'>;
  jwksLastSuccess: Gauge<'uri'>;
  writes: Counter<'kind'>;
  /** Measured: 1 Pass, 0 Fail, -1 Unknown, per policy, profile and control. */
  controlVerified: Gauge<'namespace' | 'policy' | 'profile' | 'control'>;
  /** When a control's evidence was gathered (its oldest probe), Unix seconds. */
  controlLastVerified: Gauge<'namespace' | 'policy' | 'profile' | 'control'>;
  /** Measured: 1 Verified=True, 0 False, -1 Unknown, per policy. */
  verified: Gauge<'namespace' | 'policy'>;
}

export function createPolicyMetrics(registry: Registry): PolicyMetrics {
  const registers = [registry];
  return {
    compliant: new Gauge({
      name: 'acp_operator_policy_compliant',
      help: '1 when every control of the profile passes for the policy, else 0',
      labelNames: ['namespace', 'policy', 'profile'],
      registers,
    }),
    ready: new Gauge({
      name: 'acp_operator_policy_ready',
      help: '1 while the policy is Ready',
      labelNames: ['namespace', 'policy'],
      registers,
    }),
    jwksFetches: new Counter({
      name: 'acp_operator_jwks_fetches_total',
      help: 'JWKS fetches by result and error code',
      labelNames: ['uri', 'result', 'code'],
      registers,
    }),
    jwksLastSuccess: new Gauge({
      name: 'acp_operator_jwks_last_success_timestamp_seconds',
      help: 'When a JWKS URI was last fetched successfully (Unix seconds)',
      labelNames: ['uri'],
      registers,
    }),
    controlVerified: new Gauge({
      name: 'acp_operator_control_verified',
      help: 'Measured on the running sidecars: 1 when the control holds on every probed pod, 0 when it fails on one, -1 when it could not be measured',
      labelNames: ['namespace', 'policy', 'profile', 'control'],
      registers,
    }),
    controlLastVerified: new Gauge({
      name: 'acp_operator_control_last_verified_timestamp_seconds',
      help: 'When the evidence of a control was gathered (its oldest probe), Unix seconds',
      labelNames: ['namespace', 'policy', 'profile', 'control'],
      registers,
    }),
    verified: new Gauge({
      name: 'acp_operator_policy_verified',
      help: '1 while the Verified condition is True, 0 when False, -1 when Unknown',
      labelNames: ['namespace', 'policy'],
      registers,
    }),
    writes: new Counter({
      name: 'acp_operator_policy_writes_total',
      help: 'Writes made by policy reconciliation, by object kind',
      labelNames: ['kind'],
      registers,
    }),
  };
}
