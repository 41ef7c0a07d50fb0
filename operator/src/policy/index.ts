// Policy compilation: ApiCompliancePolicy -> SidecarConfig (pure), its
// semantic validation, JWKS validation, and the content hash.
export {
  compileSidecarConfig,
  validateEnforceable,
  DEFAULT_POLICY_NAMESPACE,
  type CompileOptions,
} from './compile.ts';
export { jwksUriProviders, type JwksInput } from './compile-jwt.ts';
export { semanticErrors } from './semantic.ts';
export { validateJwks, keyMatchesAlgorithm, DEFAULT_JWKS_LIMITS, type Jwk, type JwksLimits } from './jwks.ts';
export { configHash, canonicalJson, renderSidecarConfig, CONFIG_HASH_ANNOTATION } from './hash.ts';
export { POLICY_ERRORS, INVALID_SPEC_REASON, invalidSpec, fieldErrorsOf } from './errors.ts';
export { CIPHER_SUITES, cipherSuite, hstsHeader, type CipherSuite } from './tls.ts';
export {
  parsePathPattern,
  pathMatches,
  patternCovers,
  pathPatternProblem,
  type PathPattern,
} from './paths.ts';
export { peerSpiffeId, peerSpiffeIds } from './peers.ts';
