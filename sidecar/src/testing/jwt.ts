// Test-only: an identity provider's signing keys (ES256 and RS256) with their
// public JWKS, a signer for tokens with any claims, and the classic forged
// tokens (alg none; HS256 signed with the RSA public key as the secret).
import { createHmac } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload } from 'jose';

export const ISSUER = 'https://idp.example.com/';
export const AUDIENCE = 'payments';

export interface TestIdp {
  jwks: { keys: JWK[] };
  rsaPublicPem: string;
  sign(
    claims: JWTPayload,
    opts?: { alg?: 'ES256' | 'RS256'; kid?: string; header?: Record<string, unknown> },
  ): Promise<string>;
}

export async function createIdp(): Promise<TestIdp> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true });
  const esJwk = { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' };
  const rsJwk = { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' };
  return {
    jwks: { keys: [esJwk, rsJwk] },
    rsaPublicPem: await exportSPKI(rs.publicKey),
    async sign(claims, opts = {}) {
      const alg = opts.alg ?? 'ES256';
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 600, ...claims })
        .setProtectedHeader({ alg, kid: opts.kid ?? (alg === 'ES256' ? 'es-1' : 'rs-1'), ...opts.header })
        .sign(alg === 'ES256' ? es.privateKey : rs.privateKey);
    },
  };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export function defaultClaims(): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub: 'mallory', iat: now, exp: now + 600 };
}

/** An unsigned token (`alg: none`). */
export function algNoneToken(claims: JWTPayload = defaultClaims()): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/** The key-confusion forgery: HS256 with the RSA public key (PEM) as the HMAC secret. */
export function hs256WithPublicKey(publicPem: string, claims: JWTPayload = defaultClaims()): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'rs-1' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
}

/** A valid token with one signature byte flipped. */
export function tamper(token: string): string {
  const [h, p, s = ''] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[0] = (sig[0] ?? 0) ^ 1;
  return `${h}.${p}.${sig.toString('base64url')}`;
}

export function jwtConfig(jwks: { keys: JWK[] }) {
  return {
    providers: [
      {
        name: 'corp',
        issuer: ISSUER,
        audiences: [AUDIENCE],
        algorithms: ['ES256', 'RS256'] as ('ES256' | 'RS256')[],
        clockSkewSeconds: 30,
        maxTokenAgeSeconds: 3600,
        requiredClaims: ['exp', 'iat', 'sub'],
        forwardClaims: [{ claim: 'sub', header: 'x-acp-jwt-sub' }],
        jwks: jwks as never,
      },
    ],
    rules: [
      { paths: ['/public/*'], methods: [], public: true, providers: [], requiredScopes: [] },
      {
        paths: ['/v1/write/*'],
        methods: [],
        public: false,
        providers: ['corp'],
        requiredScopes: ['data:write'],
      },
    ],
  };
}
