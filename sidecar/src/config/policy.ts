// One config snapshot, compiled: the validated SidecarConfig plus
// everything the request path would otherwise recompute per request
// (allowed-peer set, compiled JWT rules and verifiers with their token
// cache, the rate limiter). Layers read the snapshot current when the
// request started; a reload swaps in a new one atomically. `parseConfig`
// is pure over the file text; compilePolicy gets the few stateful parts
// (remote JWKS fetchers that outlive a snapshot, the clock) passed in.
import { AcpError, formatFieldErrors, validateSidecarConfig, type SidecarConfig } from '@acp/crds/sidecar';
import { createHash } from 'node:crypto';
import type { CanonicalOptions } from '../http/canonical-path.ts';
import { createRateLimiter, type RateLimiter } from '../limits/rate-limiter.ts';
import type { RemoteJwks, RemoteJwksSettings } from '../jwt/remote-jwks.ts';
import { compileProvider, createVerifier, type Verifier } from '../jwt/verify.ts';
import { compileRule, type CompiledRule } from './rules.ts';

export interface JwtPolicy {
  readonly rules: readonly CompiledRule[];
  readonly verifier: Verifier;
  readonly providerNames: ReadonlySet<string>;
}

export interface Policy {
  readonly config: SidecarConfig;
  /** sha256 of the config text: a reload of the same text is a no-op. */
  readonly fingerprint: string;
  readonly enforce: boolean;
  readonly hsts: string;
  readonly allowedPeers: ReadonlySet<string> | null;
  /** The operator's prober: handshakes complete, requests are refused (never forwarded). */
  readonly probePeers: ReadonlySet<string>;
  readonly jwt: JwtPolicy | null;
  readonly rateLimiter: RateLimiter | null;
  /** How request targets are read (config.http; absent: the strict reading). */
  readonly pathOptions: CanonicalOptions;
  /** Request headers copied into audit records (lower case; never credentials). */
  readonly auditHeaders: ReadonlySet<string>;
  /** `"namespace/name@generation"` of the policy as a JSON string, for audit records. */
  readonly auditPolicyJson: string;
}

export interface PolicyDeps {
  nowMs: () => number;
  /** The shared fetcher for a remote JWKS URI (kept across snapshots). */
  remoteJwks: (settings: RemoteJwksSettings) => RemoteJwks;
}

/** Parses and validates config text; throws ACP_ERR_CONFIG_INVALID naming each bad field. */
export function parseConfig(text: string): SidecarConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new AcpError('ACP_ERR_CONFIG_INVALID', `config is not JSON: ${(e as Error).message}`);
  }
  const r = validateSidecarConfig(doc);
  if (!r.ok)
    throw new AcpError('ACP_ERR_CONFIG_INVALID', `config is invalid: ${formatFieldErrors(r.errors)}`);
  const jwt = r.value.jwt;
  if (jwt) {
    const names = new Set(jwt.providers.map((p) => p.name));
    for (const [i, rule] of jwt.rules.entries()) {
      const unknown = rule.providers.find((p) => !names.has(p));
      if (unknown) {
        throw new AcpError(
          'ACP_ERR_CONFIG_INVALID',
          `config is invalid: jwt.rules[${i}].providers: unknown provider ${unknown}`,
        );
      }
    }
  }
  if (r.value.tls.minVersion === 'TLSv1.2' && r.value.tls.tls12CipherSuites.length === 0) {
    throw new AcpError(
      'ACP_ERR_CONFIG_INVALID',
      'config is invalid: tls.tls12CipherSuites: empty while minVersion is TLSv1.2',
    );
  }
  return r.value;
}

function compileJwt(config: SidecarConfig, deps: PolicyDeps): JwtPolicy | null {
  if (!config.jwt) return null;
  const providers = config.jwt.providers.map((p) =>
    compileProvider(p, p.remoteJwks ? deps.remoteJwks(p.remoteJwks) : undefined),
  );
  return {
    rules: config.jwt.rules.map(compileRule),
    verifier: createVerifier(providers, deps.nowMs),
    providerNames: new Set(providers.map((p) => p.config.name)),
  };
}

export function compilePolicy(config: SidecarConfig, text: string, deps: PolicyDeps): Policy {
  const rl = config.limits.rateLimit;
  return {
    config,
    fingerprint: createHash('sha256').update(text).digest('hex'),
    enforce: config.mode === 'Enforce',
    hsts: config.tls.hsts.header,
    allowedPeers: config.mtls.allowedPeers.length > 0 ? new Set(config.mtls.allowedPeers) : null,
    probePeers: new Set(config.mtls.probePeers ?? []),
    jwt: compileJwt(config, deps),
    rateLimiter: rl ? createRateLimiter(rl) : null,
    pathOptions: { allowMatrixParameters: config.http?.allowMatrixParameters === true },
    auditHeaders: new Set(
      config.audit.includeHeaders
        .map((h) => h.toLowerCase())
        .filter((h) => !['authorization', 'cookie', 'proxy-authorization', 'set-cookie'].includes(h)),
    ),
    auditPolicyJson: JSON.stringify(
      `${config.policy.namespace}/${config.policy.name}@${config.policy.generation}`,
    ),
  };
}
