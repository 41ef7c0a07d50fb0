// Policy compilation: ApiCompliancePolicy -> SidecarConfig (pure) and the
// content hash. Its validation (schema, semantic checks, JWKS parsed by
// jose) is the shared one of @acp/crds (checkPolicySpec).
export { compileSidecarConfig, DEFAULT_POLICY_NAMESPACE, type CompileOptions } from './compile.ts';
export { jwksUriProviders, type JwksInput } from './compile-jwt.ts';
export { configHash, canonicalJson, renderSidecarConfig, CONFIG_HASH_ANNOTATION } from './hash.ts';
export { POLICY_ERRORS, INVALID_SPEC_REASON, invalidSpec, fieldErrorsOf } from './errors.ts';
export { CIPHER_SUITES, cipherSuite, hstsHeader, type CipherSuite } from './tls.ts';
export { peerSpiffeId, peerSpiffeIds } from './peers.ts';
