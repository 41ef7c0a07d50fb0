// What the CRD's schema and CEL rules cannot say about a policy and the
// sidecar needs: JWKS validation (our rules, then jose), JWT rule path
// patterns, and the semantic checks the webhook, the CLI and the operator
// all run. Pure.
export {
  DEFAULT_JWKS_LIMITS,
  JWKS_KEY_ERRORS,
  keyMatchesAlgorithm,
  validateJwks,
  type Jwk,
  type JwksLimits,
} from './jwks.ts';
export {
  parsePathPattern,
  pathMatches,
  patternCovers,
  pathPatternProblem,
  type PathPattern,
} from './paths.ts';
export { checkPolicySpec, semanticErrors } from './semantic.ts';
