// Reads a field the CRD schema gives a default. compileSidecarConfig applies the
// schema defaults first (validatePolicy, as the apiserver does), so the
// defaults live in one place, the CRD; a missing value here is a bug and
// says which field. Pure.
import { AcpError } from '@acp/crds';
import { POLICY_ERRORS } from './errors.ts';

export function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) {
    throw new AcpError(POLICY_ERRORS.invalidSpec, `${field}: missing (the schema defaults were not applied)`);
  }
  return value;
}
