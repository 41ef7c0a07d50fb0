// Fixtures for the operator's unit tests, built with functional options
// (aPolicy(withMode('Audit'), withJwt(aProvider()))): a minimal valid
// policy that each test changes only where its case differs, real public
// keys made with node:crypto, and the compiled configuration of a policy.
// Test support only; no I/O.
import { generateKeyPairSync } from 'node:crypto';
import type { ApiCompliancePolicy, JwtProviderSpec, JwtRuleSpec, PolicySpec, SidecarConfig } from '@acp/crds';
import { compileSidecarConfig, type CompileOptions } from '../policy/compile.ts';

export type PolicyOption = (p: ApiCompliancePolicy) => void;

/** A valid policy: namespace shop, name api, selects app=api, forwards to port 8080. */
export function aPolicy(...options: PolicyOption[]): ApiCompliancePolicy {
  const p: ApiCompliancePolicy = {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name: 'api', namespace: 'shop', generation: 1 },
    spec: { selector: { matchLabels: { app: 'api' } }, upstream: { port: 8080 } },
  };
  for (const o of options) o(p);
  return p;
}

export const withSpec =
  (patch: Partial<PolicySpec>): PolicyOption =>
  (p) =>
    Object.assign(p.spec, patch);
export const withMode = (mode: 'Enforce' | 'Audit'): PolicyOption => withSpec({ mode });
export const withProfiles = (...profiles: NonNullable<PolicySpec['profiles']>): PolicyOption =>
  withSpec({ profiles });
export const withTls = (tls: NonNullable<PolicySpec['tls']>): PolicyOption => withSpec({ tls });
export const withMtls = (mtls: NonNullable<PolicySpec['mtls']>): PolicyOption => withSpec({ mtls });
export const withLimits = (limits: NonNullable<PolicySpec['limits']>): PolicyOption => withSpec({ limits });
export const withEgress = (egress: NonNullable<PolicySpec['egress']>): PolicyOption => withSpec({ egress });
export const withAudit = (audit: NonNullable<PolicySpec['audit']>): PolicyOption => withSpec({ audit });
export const withCertificates = (certificates: NonNullable<PolicySpec['certificates']>): PolicyOption =>
  withSpec({ certificates });

/** spec.jwt with these providers (and rules, when given). */
export const withJwt =
  (providers: JwtProviderSpec | JwtProviderSpec[], rules?: JwtRuleSpec[]): PolicyOption =>
  (p) => {
    p.spec.jwt = { providers: Array.isArray(providers) ? providers : [providers] };
    if (rules) p.spec.jwt.rules = rules;
  };

/** Adds rules to spec.jwt (which must be set). */
export const withRules =
  (...rules: JwtRuleSpec[]): PolicyOption =>
  (p) => {
    if (p.spec.jwt) p.spec.jwt.rules = rules;
  };

type Jwk = Record<string, unknown>;
type InlineKey = NonNullable<JwtProviderSpec['jwks']>['keys'][number];

/** A fresh public EC P-256 JWK (kid "ec-1" unless given). */
export function anEcKey(kid = 'ec-1', extra: Jwk = {}): Jwk {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...publicKey.export({ format: 'jwk' }), kid, ...extra };
}

/** A fresh RSA JWK of this size, public only unless `withPrivate`. */
export function anRsaKey(bits: number, kid = 'rsa-1', withPrivate = false): Jwk {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { ...(withPrivate ? privateKey : publicKey).export({ format: 'jwk' }), kid };
}

/** A provider "corp" with an inline EC key, overridable field by field. */
export function aProvider(overrides: Partial<JwtProviderSpec> = {}): JwtProviderSpec {
  return {
    name: 'corp',
    issuer: 'https://idp.example.com/',
    audiences: ['api'],
    jwks: { keys: [anEcKey() as InlineKey] },
    algorithms: ['ES256'],
    ...overrides,
  };
}

/** The compiled configuration (trust domain cluster.local, missing jwksUri keys embedded as none). */
export function compiled(
  policy: ApiCompliancePolicy,
  options: Partial<CompileOptions> = {},
): Promise<SidecarConfig> {
  return compileSidecarConfig(policy, { trustDomain: 'cluster.local', missingJwks: 'empty', ...options });
}
