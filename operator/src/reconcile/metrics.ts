// Metrics of policy reconciliation, on a registry passed in.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface PolicyMetrics {
  compliant: Gauge<'namespace' | 'policy' | 'profile'>;
  ready: Gauge<'namespace' | 'policy'>;
  jwksFetches: Counter<'uri' | 'result' | 'code'>;
  jwksLastSuccess: Gauge<'uri'>;
  writes: Counter<'kind'>;
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
    writes: new Counter({
      name: 'acp_operator_policy_writes_total',
      help: 'Writes made by policy reconciliation, by object kind',
      labelNames: ['kind'],
      registers,
    }),
  };
}
