// Semantic validation: what the CRD schema and its CEL rules let through
// but the sidecar cannot enforce as written. Each error names the field.
// One set of checks for every place a policy is judged: the validating
// webhook refuses such a policy at `kubectl apply`, `acp validate` prints
// the same errors, and the operator (for a policy stored before the
// webhook ran, or with the webhook down) makes it InvalidSpec (Ready=False)
// and applies nothing of it. A jwksUri provider whose keys were never
// fetched is not an error here: that is the JWKSReady condition. Pure
// (asynchronous: inline keys are parsed by jose).
import type { FieldError, ValidationResult } from '../field-errors.ts';
import type { ApiCompliancePolicy, PolicySpec } from '../types.ts';
import { validatePolicy } from '../validate.ts';
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
    // Service entries merge (their ports add up); only host:port entries could disagree on peers.
    if (entry.host === undefined) return;
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
export async function semanticErrors(
  policy: ApiCompliancePolicy,
  limits: JwksLimits = DEFAULT_JWKS_LIMITS,
): Promise<FieldError[]> {
  const spec = policy.spec;
  return [...(await jwtSemanticErrors(spec.jwt, limits)), ...limitErrors(spec), ...egressErrors(spec)];
}

/**
 * The CRD's structural schema (defaults applied, as the apiserver does)
 * and then the semantic checks: the policy with its defaults, or every
 * field error that makes it unenforceable. CEL rules are the apiserver's
 * (and validatePolicyWithRules's) to check.
 */
export async function checkPolicySpec(
  policy: unknown,
  limits: JwksLimits = DEFAULT_JWKS_LIMITS,
): Promise<ValidationResult<ApiCompliancePolicy>> {
  const structural = validatePolicy(policy);
  if (!structural.ok) return structural;
  const errors = await semanticErrors(structural.value, limits);
  return errors.length === 0 ? structural : { ok: false, errors };
}
