// Semantic validation: what the CRD schema and its CEL rules let through
// but the sidecar cannot enforce as written. Each error names the field;
// any error makes the policy InvalidSpec (Ready=False) and nothing of it is
// applied. Takes a policy with the schema defaults applied. A jwksUri
// provider whose keys were never fetched is not an error here: that is the
// JWKSReady condition. Pure.
import type { ApiCompliancePolicy, FieldError, PolicySpec } from '@acp/crds';
import { DEFAULT_JWKS_LIMITS, type JwksLimits } from './jwks.ts';
import { jwtSemanticErrors } from './semantic-jwt.ts';

function limitErrors(spec: PolicySpec): FieldError[] {
  const errors: FieldError[] = [];
  const limits = spec.limits ?? {};
  if (limits.rateLimit?.by === 'Subject' && !spec.jwt) {
    errors.push({
      field: 'spec.limits.rateLimit.by',
      message: 'Subject needs spec.jwt: without a verified token there is no subject to count requests by',
    });
  }
  const headers = limits.headersTimeoutSeconds;
  const request = limits.requestTimeoutSeconds;
  if (headers !== undefined && request !== undefined && headers > request) {
    errors.push({
      field: 'spec.limits.headersTimeoutSeconds',
      message: `${headers}s is longer than requestTimeoutSeconds (${request}s), which always ends the request first`,
    });
  }
  return errors;
}

function egressErrors(spec: PolicySpec): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  (spec.egress?.allow ?? []).forEach((entry, i) => {
    const key = `${entry.host}:${entry.port}`;
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, i);
    else {
      errors.push({
        field: `spec.egress.allow[${i}]`,
        message: `${key} is already listed in spec.egress.allow[${earlier}]: which peers it must prove would be ambiguous`,
      });
    }
  });
  return errors;
}

/** Every reason the (defaulted) policy cannot be enforced as written; empty when it can. */
export function semanticErrors(
  policy: ApiCompliancePolicy,
  limits: JwksLimits = DEFAULT_JWKS_LIMITS,
): FieldError[] {
  const spec = policy.spec;
  return [...jwtSemanticErrors(spec.jwt, limits), ...limitErrors(spec), ...egressErrors(spec)];
}
