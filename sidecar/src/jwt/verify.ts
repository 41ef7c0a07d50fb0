// Bearer-token verification for the providers of one config snapshot, with
// jose: the provider is chosen by the token's (unverified) issuer, then the
// signature (algorithm allowlist: never `none` or HS*), issuer, audiences,
// required claims, clock skew and maximum token age are checked with the
// injected clock. Every jose failure becomes an AcpError with a stable
// ACP_ERR_JWT_* code (a 401), never an unexpected error. Only the canonical
// compact form reaches jose (compact.ts). Results are cached per token until
// expiry (token-cache.ts).
import { createLocalJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { AcpError, type SidecarConfig } from '@acp/crds/sidecar';
import { isSafeHeaderValue } from '../http/headers.ts';
import { checkCompactJws } from './compact.ts';
import type { RemoteJwks } from './remote-jwks.ts';
import { createTokenCache, type TokenCache } from './token-cache.ts';

type ProviderConfig = NonNullable<SidecarConfig['jwt']>['providers'][number];

export interface Provider {
  readonly config: ProviderConfig;
  readonly getKey: JWTVerifyGetKey;
}

export interface VerifiedToken {
  readonly provider: string;
  readonly subject: string | undefined;
  readonly scopes: ReadonlySet<string>;
  readonly claimHeaders: readonly (readonly [string, string])[];
  readonly untilMs: number;
}

export interface Verifier {
  /** Verifies (or finds in the cache) a token; throws AcpError ACP_ERR_JWT_*. */
  verify(token: string): VerifiedToken | Promise<VerifiedToken>;
  readonly providers: readonly Provider[];
}

export function compileProvider(config: ProviderConfig, remote: RemoteJwks | undefined): Provider {
  const local = createLocalJWKSet({ keys: config.jwks.keys });
  if (!remote) return { config, getKey: local };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await local(header, token);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw e;
      return remote.getKey(header, token);
    }
  };
  return { config, getKey };
}

const jwtError = (code: string, message: string): AcpError => new AcpError(code, message);

/** Maps a jose (or other) failure to a stable ACP_ERR_JWT_* error. */
export function mapJoseError(e: unknown): AcpError {
  if (e instanceof AcpError) return e;
  if (e instanceof errors.JWTExpired) {
    if (e.claim === 'iat') return jwtError('ACP_ERR_JWT_TOO_OLD', 'token older than the maximum age');
    return jwtError('ACP_ERR_JWT_EXPIRED', 'token expired');
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.reason === 'missing') return jwtError('ACP_ERR_JWT_CLAIM_MISSING', `missing claim ${e.claim}`);
    if (e.claim === 'iss') return jwtError('ACP_ERR_JWT_ISSUER', 'unexpected issuer');
    if (e.claim === 'aud') return jwtError('ACP_ERR_JWT_AUDIENCE', 'unexpected audience');
    if (e.claim === 'nbf') return jwtError('ACP_ERR_JWT_NOT_YET_VALID', 'token not yet valid');
    if (e.claim === 'iat') return jwtError('ACP_ERR_JWT_TOO_OLD', 'token older than the maximum age');
    return jwtError('ACP_ERR_JWT_CLAIM_MISSING', `invalid claim ${e.claim}`);
  }
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) {
    return jwtError('ACP_ERR_JWT_ALGORITHM', 'algorithm not allowed');
  }
  if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSMultipleMatchingKeys) {
    return jwtError('ACP_ERR_JWT_SIGNATURE', 'signature verification failed');
  }
  if (e instanceof errors.JWKSNoMatchingKey)
    return jwtError('ACP_ERR_JWT_UNKNOWN_KID', 'no key matches the token');
  return jwtError('ACP_ERR_JWT_MALFORMED', 'malformed token');
}

function scopesOf(payload: JWTPayload): Set<string> {
  const out = new Set<string>();
  const scope = payload['scope'];
  if (typeof scope === 'string') for (const s of scope.split(' ')) if (s) out.add(s);
  const scp = payload['scp'];
  if (Array.isArray(scp)) for (const s of scp) if (typeof s === 'string') out.add(s);
  if (typeof scp === 'string') for (const s of scp.split(' ')) if (s) out.add(s);
  return out;
}

function claimHeaders(config: ProviderConfig, payload: JWTPayload): [string, string][] {
  const out: [string, string][] = [];
  for (const { claim, header } of config.forwardClaims) {
    const v = payload[claim];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    const s = String(v);
    if (isSafeHeaderValue(s)) out.push([header, s]);
  }
  return out;
}

function cacheUntil(config: ProviderConfig, payload: JWTPayload, nowMs: number): number {
  const skew = config.clockSkewSeconds;
  // A token without exp is cached for at most a minute (then verified again).
  let until = typeof payload.exp === 'number' ? (payload.exp + skew) * 1000 : nowMs + 60_000;
  if (config.maxTokenAgeSeconds !== undefined && typeof payload.iat === 'number') {
    until = Math.min(until, (payload.iat + config.maxTokenAgeSeconds + skew) * 1000);
  }
  return until;
}

async function verifyWith(p: Provider, token: string, nowMs: number): Promise<VerifiedToken> {
  const c = p.config;
  const { payload } = await jwtVerify(token, p.getKey, {
    issuer: c.issuer,
    audience: c.audiences,
    algorithms: c.algorithms,
    clockTolerance: c.clockSkewSeconds,
    requiredClaims: c.requiredClaims,
    currentDate: new Date(nowMs),
    ...(c.maxTokenAgeSeconds !== undefined ? { maxTokenAge: c.maxTokenAgeSeconds } : {}),
  });
  return {
    provider: c.name,
    subject: typeof payload.sub === 'string' ? payload.sub : undefined,
    scopes: scopesOf(payload),
    claimHeaders: claimHeaders(c, payload),
    untilMs: cacheUntil(c, payload, nowMs),
  };
}

export function createVerifier(
  providers: readonly Provider[],
  nowMs: () => number,
  cache?: TokenCache<VerifiedToken>,
): Verifier {
  const tokens = cache ?? createTokenCache<VerifiedToken>();
  async function slow(token: string, now: number): Promise<VerifiedToken> {
    checkCompactJws(token);
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw jwtError('ACP_ERR_JWT_MALFORMED', 'malformed token');
    }
    const candidates = providers.filter((p) => p.config.issuer === iss);
    if (candidates.length === 0) throw jwtError('ACP_ERR_JWT_ISSUER', 'no provider for this issuer');
    let first: AcpError | undefined;
    for (const p of candidates) {
      try {
        const v = await verifyWith(p, token, now);
        tokens.set(token, v, v.untilMs);
        return v;
      } catch (e) {
        first ??= mapJoseError(e);
      }
    }
    throw first ?? jwtError('ACP_ERR_JWT_MALFORMED', 'malformed token');
  }
  return {
    providers,
    verify(token) {
      const now = nowMs();
      return tokens.get(token, now) ?? slow(token, now);
    },
  };
}
