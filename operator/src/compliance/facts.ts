// Facts about a compiled sidecar configuration that several controls
// rely on, each with the words that explain it: how strong the transport
// cryptography is, whether every non-public path needs an authenticated
// caller, whether access is narrowed to named identities or scopes, and
// what audit records carry. One place decides each fact, so the profiles
// cannot disagree about it. Pure.
import type { SidecarConfig } from '@acp/crds';
import { cipherSuite } from '../policy/tls.ts';

export interface TransportFacts {
  /** TLS 1.2 or 1.3 minimum, TLS 1.3 enabled, every suite a known AEAD suite with ephemeral ECDHE. */
  strong: boolean;
  suites: string[];
  /** Suites that are not known AEAD/ECDHE suites (only possible in a hand-written config). */
  weak: string[];
  /** ChaCha20-Poly1305 suites (AEAD, but not NIST-approved). */
  chacha: string[];
  description: string;
}

export function transport(config: SidecarConfig): TransportFacts {
  const suites = [...config.tls.tls13CipherSuites, ...config.tls.tls12CipherSuites] as string[];
  const weak = suites.filter((s) => {
    const info = cipherSuite(s);
    return !info?.aead || info.keyExchange !== 'ECDHE';
  });
  const chacha = suites.filter((s) => cipherSuite(s)?.cipher === 'CHACHA20-POLY1305');
  const floorOk = config.tls.minVersion === 'TLSv1.2' || config.tls.minVersion === 'TLSv1.3';
  const tls13 = config.tls.tls13CipherSuites.length > 0;
  const floor = config.tls.minVersion === 'TLSv1.3' ? 'TLS 1.3 only' : 'TLS 1.2 minimum with TLS 1.3';
  const problems = [
    floorOk ? '' : `minVersion ${config.tls.minVersion} allows protocols older than TLS 1.2`,
    tls13 ? '' : 'TLS 1.3 has no cipher suite',
    weak.length > 0 ? `not AEAD with ECDHE: ${weak.join(', ')}` : '',
  ].filter(Boolean);
  return {
    strong: problems.length === 0,
    suites,
    weak,
    chacha,
    description:
      problems.length === 0
        ? `${floor}, AEAD suites with ephemeral ECDHE only (${suites.join(', ')}); SSL, TLS 1.0 and 1.1 refused`
        : problems.join('; '),
  };
}

export interface AuthenticationFacts {
  /** Every request to a path that is not explicitly public needs an authenticated caller. */
  covered: boolean;
  /** Who is identified: a workload (mTLS), a user or client (JWT), both, or nobody. */
  identifies: 'workload' | 'user' | 'workload and user' | 'nobody';
  description: string;
}

function publicPaths(config: SidecarConfig): string[] {
  return [...new Set((config.jwt?.rules ?? []).filter((r) => r.public).flatMap((r) => r.paths))];
}

export function authentication(config: SidecarConfig): AuthenticationFacts {
  const strict = config.mtls.mode === 'Strict';
  const open = publicPaths(config);
  const jwtEverywhere = config.jwt !== null && !open.includes('/*');
  const publicNote = open.length > 0 ? ` (public: ${open.join(', ')})` : '';
  if (strict && jwtEverywhere) {
    return {
      covered: true,
      identifies: 'workload and user',
      description: `Strict mTLS authenticates every caller by its workload certificate, and a valid JWT is required on every non-public path${publicNote}`,
    };
  }
  if (strict) {
    return {
      covered: true,
      identifies: 'workload',
      description:
        'Strict mTLS authenticates every caller by its workload certificate (unique per service account)',
    };
  }
  if (jwtEverywhere) {
    return {
      covered: true,
      identifies: 'user',
      description: `a valid JWT is required on every non-public path${publicNote}; mTLS is Permissive`,
    };
  }
  return {
    covered: false,
    identifies: 'nobody',
    description:
      config.jwt === null
        ? 'mTLS is Permissive and there is no JWT validation: callers without a certificate are not authenticated'
        : 'mTLS is Permissive and a public rule for /* makes every path public: callers are not authenticated',
  };
}

export interface AccessFacts {
  /**
   * Only callers granted access may call: named workload identities
   * (allowedPeers), or tokens the identity provider issued for this API's
   * audience on every non-public path.
   */
  granted: boolean;
  /** Access is narrowed to what callers need: named workload identities, or scopes per path. */
  leastPrivilege: boolean;
  grantDescription: string;
  privilegeDescription: string;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function access(config: SidecarConfig): AccessFacts {
  const peers = config.mtls.allowedPeers;
  const peerText =
    peers.length > 0
      ? `only ${plural(peers.length, 'named workload identity', 'named workload identities')} may call`
      : '';
  const scopedPaths = [
    ...new Set(
      (config.jwt?.rules ?? [])
        .filter((r) => !r.public && r.requiredScopes.length > 0)
        .flatMap((r) => r.paths),
    ),
  ];
  const scopeText = scopedPaths.length > 0 ? `scopes are required on ${scopedPaths.join(', ')}` : '';
  const auth = authentication(config);
  const audiences = [...new Set((config.jwt?.providers ?? []).flatMap((p) => p.audiences))];
  const tokenText =
    auth.identifies === 'user' || auth.identifies === 'workload and user'
      ? `tokens must be issued for audience ${audiences.join(' or ')}`
      : '';
  const grant = [peerText, tokenText].filter(Boolean);
  const privilege = [peerText, scopeText].filter(Boolean);
  return {
    granted: grant.length > 0,
    leastPrivilege: privilege.length > 0,
    grantDescription:
      grant.length > 0
        ? grant.join('; ')
        : 'any workload of the mesh may call (allowedPeers is empty) and no JWT is required: access rights are not checked',
    privilegeDescription:
      privilege.length > 0
        ? privilege.join('; ')
        : 'any workload of the mesh may call (allowedPeers is empty) and no rule requires a scope: access is not narrowed to what callers need',
  };
}

/** Request headers that carry credentials or personal data and so do not belong in audit records. */
const SENSITIVE_HEADER =
  /(^|-)(auth|authorization|token|secret|password|passwd|api-?key|apikey|session|cookie|credential|signature|csrf|xsrf|email|phone|ssn)(-|$)/;

export interface AuditFacts {
  enabled: boolean;
  origin: boolean;
  requestId: boolean;
  sensitiveHeaders: string[];
  headers: string[];
}

export function audit(config: SidecarConfig): AuditFacts {
  const headers = config.audit.includeHeaders;
  return {
    enabled: config.audit.enabled,
    origin: headers.includes('x-forwarded-for'),
    requestId: headers.includes('x-request-id'),
    sensitiveHeaders: headers.filter((h) => SENSITIVE_HEADER.test(h)),
    headers,
  };
}
