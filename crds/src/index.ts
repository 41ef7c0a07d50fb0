// The API package: names and constants of the contract, the generated
// types and validators of ApiCompliancePolicy and of the sidecar config,
// condition helpers, units and quantities, the flag grammar of the three
// processes, the one selector matcher and
// policy precedence, the mark of an injected sidecar, the semantic checks
// of a policy (JWKS parsed by jose, JWT rule paths), the offline evaluator
// of the CRD's CEL rules, and the shared typed error. No I/O.
export * from './names.ts';
export * from './errors.ts';
export * from './conditions.ts';
export * from './units.ts';
export * from './flags.ts';
export * from './validate.ts';
export * from './quantity.ts';
export * from './headers.ts';
export * from './crd.ts';
export * from './cel/index.ts';
export * from './types.ts';
export * from './selector.ts';
export * from './injected.ts';
export * from './config-hash.ts';
export * from './semantics/index.ts';
export type { ObjectMeta, OwnerReference } from './meta.ts';
