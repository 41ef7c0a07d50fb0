// The sidecar's narrow entry to the API package (`@acp/crds/sidecar`): the
// typed error, the contract's names, the flag grammar, the sidecar-config
// type and its validator, and nothing else, so the sidecar process does not load the
// policy validator, the CEL library or the quantity parser it never uses.
export * from './errors.ts';
export * from './names.ts';
export { durationFlag, flagError, parseFlags, type FlagSpec, type Flags, type FlagContext } from './flags.ts';
export { formatFieldErrors, type FieldError, type ValidationResult } from './field-errors.ts';
export { configHash } from './config-hash.ts';
export { validateSidecarConfig } from './validate-sidecar-config.ts';
export type { SidecarConfig } from './types.ts';
