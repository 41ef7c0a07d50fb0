// Schema validation of a compiled sidecar configuration (the operator ->
// sidecar contract) with the ajv validator generated from its schema
// source, errors naming the field. Only this validator is loaded: the
// sidecar imports this module without the policy validator. Pure.
import validateSidecarConfigGenerated from '../generated/sidecar-config-validator.cjs';
import type { SidecarConfig } from '../generated/sidecar-config-types.ts';
import { summarize, type ValidationResult } from './field-errors.ts';

/** Validates a compiled sidecar configuration (the operator -> sidecar contract). */
export function validateSidecarConfig(input: unknown): ValidationResult<SidecarConfig> {
  const copy: unknown = structuredClone(input);
  if (validateSidecarConfigGenerated(copy)) return { ok: true, value: copy };
  return { ok: false, errors: summarize(validateSidecarConfigGenerated.errors ?? []) };
}
