// Schema validation of an ApiCompliancePolicy: the CRD's structural schema,
// defaults applied like the apiserver applies them, with errors that name
// the field, using the ajv validator generated from the schema source. CEL
// rules of the CRD are not evaluated here. Also re-exports the sidecar
// config validator and the field-error helpers. Pure.
import validatePolicyGenerated from '../generated/policy-validator.cjs';
import type { ApiCompliancePolicy } from '../generated/policy-types.ts';
import { summarize, type ValidationResult } from './field-errors.ts';

export { fieldPath, formatFieldErrors, type FieldError, type ValidationResult } from './field-errors.ts';
export { validateSidecarConfig } from './validate-sidecar-config.ts';

/**
 * Validates an ApiCompliancePolicy against the CRD's structural schema and
 * applies the schema's defaults to a copy (as the apiserver does). Unknown
 * fields are errors (as with kubectl's strict field validation).
 */
export function validatePolicy(input: unknown): ValidationResult<ApiCompliancePolicy> {
  const copy: unknown = structuredClone(input);
  if (validatePolicyGenerated(copy)) return { ok: true, value: copy };
  return { ok: false, errors: summarize(validatePolicyGenerated.errors ?? []) };
}
