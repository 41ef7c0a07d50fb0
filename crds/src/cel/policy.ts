// Everything the apiserver checks when an ApiCompliancePolicy is applied,
// offline: the structural schema with its defaults (validatePolicy), then
// the CRD's CEL rules and list-type promises (compileCrdRules). As in the
// apiserver, the rules are not evaluated on an object whose fields have the
// wrong type or an unsupported enum value (they could not be typed), and
// the result then says so; next to other schema errors they are evaluated
// on the object as given (ajv returns the defaulted copy only when valid).
// Pure.
import type { ApiCompliancePolicy } from '../../generated/policy-types.ts';
import { validatePolicy, type FieldError, type ValidationResult } from '../validate.ts';
import type { CrdRuleValidator } from './rules.ts';

const BLOCKING_KEYWORDS = new Set(['type', 'enum', 'const']);

export const RULES_NOT_CHECKED =
  'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

/** Validates like `kubectl apply` against the real apiserver: schema, defaults, CEL rules. */
export function validatePolicyWithRules(
  input: unknown,
  rules: CrdRuleValidator,
): ValidationResult<ApiCompliancePolicy> {
  const structural = validatePolicy(input);
  if (structural.ok) {
    const errors = rules.validate(structural.value);
    return errors.length === 0 ? structural : { ok: false, errors };
  }
  const blocked = structural.errors.some((e) => e.keyword !== undefined && BLOCKING_KEYWORDS.has(e.keyword));
  const more: FieldError[] = blocked ? [{ field: '', message: RULES_NOT_CHECKED }] : rules.validate(input);
  return { ok: false, errors: [...structural.errors, ...more] };
}
