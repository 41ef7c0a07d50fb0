// The stable error codes of policy compilation and JWKS validation, and
// the one error an unenforceable policy raises (reason InvalidSpec, with
// every field error in its details). Pure.
import { AcpError, formatFieldErrors, JWKS_KEY_ERRORS, type FieldError } from '@acp/crds';

export const POLICY_ERRORS = {
  /** A refused JWKS (inline or fetched): ACP_ERR_JWKS_*, from the shared validator in @acp/crds. */
  ...JWKS_KEY_ERRORS,
  /** The policy cannot be enforced as written; details.errors lists the fields. */
  invalidSpec: 'ACP_ERR_INVALID_SPEC',
  /** The compiled config does not validate against the sidecar-config schema (a compiler bug). */
  configSchema: 'ACP_ERR_CONFIG_SCHEMA',
  /** A jwksUri provider has no keys (never fetched, or not passed to the CLI). */
  jwksMissing: 'ACP_ERR_JWKS_MISSING',
} as const;

/** The condition reason for a policy that cannot be enforced as written. */
export const INVALID_SPEC_REASON = 'InvalidSpec';

/** An AcpError (ACP_ERR_INVALID_SPEC) whose message names every field; details.errors holds them. */
export function invalidSpec(errors: readonly FieldError[]): AcpError {
  return new AcpError(POLICY_ERRORS.invalidSpec, formatFieldErrors(errors), {
    errors: errors.map((e) => ({ field: e.field, message: e.message })),
  });
}

/** The field errors carried by an ACP_ERR_INVALID_SPEC error (empty for other errors). */
export function fieldErrorsOf(e: unknown): FieldError[] {
  if (!(e instanceof AcpError) || e.code !== POLICY_ERRORS.invalidSpec) return [];
  const errors = e.details['errors'];
  return Array.isArray(errors) ? (errors as FieldError[]) : [];
}
