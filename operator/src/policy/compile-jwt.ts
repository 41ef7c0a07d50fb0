// Compiles spec.jwt into the sidecar's JWT section: every default
// resolved, the keys of each provider embedded (inline keys, or the keys
// the operator fetched from jwksUri, both through validateJwks: our rules,
// then jose), iat required when a maximum token age is set, and every rule
// with explicit (possibly empty) methods, providers and scopes. Pure
// (asynchronous: keys are parsed by jose).
import {
  AcpError,
  validateJwks,
  type Jwk,
  type JwksLimits,
  type JwtProviderSpec,
  type JwtRuleSpec,
  type JwtSpec,
  type SidecarJwt,
  type SidecarJwtProvider,
  type SidecarJwtRule,
} from '@acp/crds';
import { POLICY_ERRORS } from './errors.ts';
import { required } from './required.ts';

/** Keys for one jwksUri provider: a JWKS document ({keys: [...]}) or keys validateJwks returned. */
export type JwksInput = readonly Jwk[] | { readonly keys: readonly unknown[] };

export interface JwtCompileOptions {
  jwks: Readonly<Record<string, JwksInput>>;
  missingJwks: 'error' | 'empty';
  jwksLimits: JwksLimits;
}

async function providerKeys(p: JwtProviderSpec, o: JwtCompileOptions): Promise<Jwk[]> {
  if (p.jwks) return validateJwks(p.jwks, o.jwksLimits);
  const supplied = Object.hasOwn(o.jwks, p.name) ? o.jwks[p.name] : undefined;
  if (supplied === undefined) {
    if (o.missingJwks === 'empty') return [];
    throw new AcpError(
      POLICY_ERRORS.jwksMissing,
      `provider ${p.name}: no keys were supplied for jwksUri ${p.jwksUri ?? ''}`,
      { provider: p.name },
    );
  }
  try {
    return await validateJwks(Array.isArray(supplied) ? { keys: supplied } : supplied, o.jwksLimits);
  } catch (e) {
    if (!(e instanceof AcpError)) throw e;
    throw new AcpError(
      e.code,
      `provider ${p.name}: ${e.message}`,
      { ...e.details, provider: p.name },
      { cause: e },
    );
  }
}

async function compileProvider(
  p: JwtProviderSpec,
  index: number,
  o: JwtCompileOptions,
): Promise<SidecarJwtProvider> {
  const at = `spec.jwt.providers[${index}]`;
  const claims = required(p.requiredClaims, `${at}.requiredClaims`);
  const out: SidecarJwtProvider = {
    name: p.name,
    issuer: p.issuer,
    audiences: [...p.audiences],
    algorithms: [...required(p.algorithms, `${at}.algorithms`)],
    clockSkewSeconds: required(p.clockSkewSeconds, `${at}.clockSkewSeconds`),
    requiredClaims: p.maxTokenAgeSeconds === undefined ? [...claims] : [...new Set([...claims, 'iat'])],
    forwardClaims: (p.forwardClaims ?? []).map((fc) => ({ claim: fc.claim, header: fc.header })),
    jwks: { keys: await providerKeys(p, o) },
  };
  if (p.maxTokenAgeSeconds !== undefined) out.maxTokenAgeSeconds = p.maxTokenAgeSeconds;
  return out;
}

function compileRule(r: JwtRuleSpec, index: number): SidecarJwtRule {
  return {
    paths: [...r.paths],
    methods: [...(r.methods ?? [])],
    public: required(r.public, `spec.jwt.rules[${index}].public`),
    providers: [...(r.providers ?? [])],
    requiredScopes: [...(r.requiredScopes ?? [])],
  };
}

/** The sidecar's JWT section, or null when the policy has no spec.jwt. */
export async function compileJwt(jwt: JwtSpec | undefined, o: JwtCompileOptions): Promise<SidecarJwt | null> {
  if (!jwt) return null;
  return {
    providers: await Promise.all(jwt.providers.map((p, i) => compileProvider(p, i, o))),
    rules: (jwt.rules ?? []).map(compileRule),
  };
}

/** Names of the providers whose keys come from jwksUri (the ones the operator must fetch). */
export function jwksUriProviders(
  jwt: JwtSpec | undefined,
): { name: string; jwksUri: string; refreshSeconds: number }[] {
  return (jwt?.providers ?? []).flatMap((p, i) =>
    p.jwksUri === undefined
      ? []
      : [
          {
            name: p.name,
            jwksUri: p.jwksUri,
            refreshSeconds: required(p.jwksRefreshSeconds, `spec.jwt.providers[${i}].jwksRefreshSeconds`),
          },
        ],
  );
}
