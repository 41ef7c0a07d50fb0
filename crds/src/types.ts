// Convenience names for parts of the generated API types.
import type { ApiCompliancePolicy } from '../generated/policy-types.ts';
import type { SidecarConfig } from '../generated/sidecar-config-types.ts';

export type { ApiCompliancePolicy, SidecarConfig };
export type PolicySpec = ApiCompliancePolicy['spec'];
export type PolicyStatus = NonNullable<ApiCompliancePolicy['status']>;
export type PolicySelector = PolicySpec['selector'];
export type JwtSpec = NonNullable<PolicySpec['jwt']>;
export type JwtProviderSpec = JwtSpec['providers'][number];
export type JwtRuleSpec = NonNullable<JwtSpec['rules']>[number];
export type PeerSpec = NonNullable<NonNullable<PolicySpec['mtls']>['allowedPeers']>[number];
export type ComplianceProfile = NonNullable<PolicySpec['profiles']>[number];
export type KeyAlgorithm = NonNullable<NonNullable<PolicySpec['certificates']>['keyAlgorithm']>;

export type SidecarJwt = NonNullable<SidecarConfig['jwt']>;
export type SidecarJwtProvider = SidecarJwt['providers'][number];
export type SidecarJwtRule = SidecarJwt['rules'][number];
export type SidecarRateLimit = NonNullable<SidecarConfig['limits']['rateLimit']>;

export const SIDECAR_CONFIG_API_VERSION = 'sidecar.acp.dev/v1';
export const COMPLIANCE_PROFILES: readonly ComplianceProfile[] = [
  'PCI-DSS-4.0',
  'HIPAA',
  'SOC2',
  'GDPR',
  'NIST-800-52r2',
];
