// Bad ApiCompliancePolicies, in two tables. BAD: what the real apiserver
// refuses by the CRD's schema and CEL rules, shared by the integration
// test on a real kube-apiserver (test/integration/crd-validation.test.ts)
// and the offline validator's parity test (crds/src/cel/parity.test.ts).
// UNENFORCEABLE: what the CRD lets through and the semantic checks refuse
// (the webhook at admission, `acp validate`, the operator). Each case is a
// mutation of a valid base policy, the field the error must name, and a
// fragment of the message. Test data only.
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */

export type Policy = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, any>;
};

export function base(name: string): Policy {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: 'api' } },
      upstream: { port: 8080 },
      jwt: {
        providers: [
          {
            name: 'corp',
            issuer: 'https://idp.example.com/',
            audiences: ['api'],
            jwksUri: 'https://idp.example.com/jwks',
          },
        ],
      },
    },
  };
}

/** [case, mutation, field the message must name, fragment of the apiserver's message] */
export const BAD: [string, (s: Record<string, any>) => void, string, string][] = [
  [
    'an egress entry naming both a host and a Service',
    (s) => (s.egress = { allow: [{ host: 'a.b.svc', port: 80, service: 'payments' }] }),
    'spec.egress.allow[0]',
    'an egress entry is either {host, port, peers} or {service, namespace, port}',
  ],
  [
    'an egress host entry without a port',
    (s) => (s.egress = { allow: [{ host: 'a.b.svc' }] }),
    'spec.egress.allow[0]',
    'an egress entry is either {host, port, peers} or {service, namespace, port}',
  ],
  [
    'an egress Service entry with peers (the directory supplies them)',
    (s) =>
      (s.egress = { allow: [{ service: 'payments', peers: [{ namespace: 'a', serviceAccount: 'b' }] }] }),
    'spec.egress.allow[0]',
    'an egress entry is either {host, port, peers} or {service, namespace, port}',
  ],
  [
    'TLS 1.0 as the floor',
    (s) => (s.tls = { minVersion: 'TLS1.0' }),
    'spec.tls.minVersion',
    'Unsupported value',
  ],
  [
    'TLS 1.1 as the floor',
    (s) => (s.tls = { minVersion: 'TLS1.1' }),
    'spec.tls.minVersion',
    'Unsupported value',
  ],
  [
    'a CBC cipher suite',
    (s) => (s.tls = { cipherSuites: ['TLS_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-SHA384'] }),
    'spec.tls.cipherSuites[1]',
    'Unsupported value',
  ],
  [
    'an AES-128 suite',
    (s) => (s.tls = { cipherSuites: ['TLS_AES_128_GCM_SHA256'] }),
    'spec.tls.cipherSuites[0]',
    'Unsupported value',
  ],
  [
    'TLS 1.2 suites with a TLS 1.3 floor',
    (s) =>
      (s.tls = {
        minVersion: 'TLS1.3',
        cipherSuites: ['TLS_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'],
      }),
    'spec.tls.cipherSuites',
    'minVersion is TLS1.3',
  ],
  [
    'a TLS 1.2 floor without TLS 1.2 suites',
    (s) => (s.tls = { minVersion: 'TLS1.2', cipherSuites: ['TLS_AES_256_GCM_SHA384'] }),
    'spec.tls.cipherSuites',
    'no TLS 1.2 suite',
  ],
  [
    'maxRequestBytes 0',
    (s) => (s.limits = { maxRequestBytes: 0 }),
    'spec.limits.maxRequestBytes',
    'between 1Ki and 10Mi',
  ],
  [
    'maxRequestBytes 100Mi',
    (s) => (s.limits = { maxRequestBytes: '100Mi' }),
    'spec.limits.maxRequestBytes',
    'between 1Ki and 10Mi',
  ],
  [
    'maxRequestBytes that is not a quantity',
    (s) => (s.limits = { maxRequestBytes: 'lots' }),
    'spec.limits.maxRequestBytes',
    'between 1Ki and 10Mi',
  ],
  [
    'an http jwksUri',
    (s) => (s.jwt.providers[0].jwksUri = 'http://idp.example.com/jwks'),
    'spec.jwt.providers[0].jwksUri',
    'https',
  ],
  [
    'both jwks and jwksUri',
    (s) => (s.jwt.providers[0].jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }] }),
    'spec.jwt.providers[0]',
    'exactly one of jwksUri and jwks',
  ],
  [
    'neither jwks nor jwksUri',
    (s) => delete s.jwt.providers[0].jwksUri,
    'spec.jwt.providers[0]',
    'exactly one of jwksUri and jwks',
  ],
  [
    'a rule naming an undefined provider',
    (s) => (s.jwt.rules = [{ paths: ['/x'], providers: ['nobody'] }]),
    'spec.jwt.rules',
    'must be defined in jwt.providers',
  ],
  [
    'two providers with the same name',
    (s) => s.jwt.providers.push({ ...s.jwt.providers[0] }),
    'spec.jwt.providers[1]',
    'Duplicate value',
  ],
  [
    'an HMAC algorithm',
    (s) => (s.jwt.providers[0].algorithms = ['HS256']),
    'spec.jwt.providers[0].algorithms[0]',
    'Unsupported value',
  ],
  [
    'a private key in inline jwks',
    (s) => {
      delete s.jwt.providers[0].jwksUri;
      s.jwt.providers[0].jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret' }] };
    },
    'spec.jwt.providers[0].jwks.keys[0]',
    'public keys only',
  ],
  [
    'a public rule that requires scopes',
    (s) => (s.jwt.rules = [{ paths: ['/x'], public: true, requiredScopes: ['a'] }]),
    'spec.jwt.rules[0]',
    'public rule cannot',
  ],
  [
    'renewBefore equal to lifetime',
    (s) => (s.certificates = { lifetime: '1h', renewBefore: '1h' }),
    'spec.certificates.renewBefore',
    'shorter than lifetime',
  ],
  [
    'renewBefore longer than lifetime',
    (s) => (s.certificates = { lifetime: '1h', renewBefore: '2h' }),
    'spec.certificates.renewBefore',
    'shorter than lifetime',
  ],
  [
    'a 30s certificate lifetime',
    (s) => (s.certificates = { lifetime: '30s' }),
    'spec.certificates.lifetime',
    'between 1m and 2160h',
  ],
  [
    'a lifetime that is not a duration',
    (s) => (s.certificates = { lifetime: '1 day' }),
    'spec.certificates.lifetime',
    'should match',
  ],
  [
    'a negative rate',
    (s) => (s.limits = { rateLimit: { requestsPerSecond: -1 } }),
    'spec.limits.rateLimit.requestsPerSecond',
    'should be greater than or equal to 1',
  ],
  [
    'a zero burst',
    (s) => (s.limits = { rateLimit: { requestsPerSecond: 5, burst: 0 } }),
    'spec.limits.rateLimit.burst',
    'should be greater than or equal to 1',
  ],
  [
    'a malformed selector (In without values)',
    (s) => (s.selector = { matchExpressions: [{ key: 'app', operator: 'In' }] }),
    'spec.selector.matchExpressions[0].values',
    'must be non-empty',
  ],
  [
    'a selector with an unknown operator',
    (s) => (s.selector = { matchExpressions: [{ key: 'app', operator: 'Like', values: ['a'] }] }),
    'spec.selector.matchExpressions[0].operator',
    'Unsupported value',
  ],
  ['an unknown mode', (s) => (s.mode = 'Monitor'), 'spec.mode', 'Unsupported value'],
  [
    'an upstream port taken by the sidecar',
    (s) => (s.upstream = { port: 8443 }),
    'spec.upstream.port',
    "sidecar's ports",
  ],
  [
    'a peer with a namespace but no serviceAccount',
    (s) => (s.mtls = { allowedPeers: [{ namespace: 'shop' }] }),
    'spec.mtls.allowedPeers[0]',
    'either {namespace, serviceAccount} or {spiffeId}',
  ],
  [
    'a peer SPIFFE ID that is not spiffe://',
    (s) => (s.mtls = { allowedPeers: [{ spiffeId: 'https://x/ns/a/sa/b' }] }),
    'spec.mtls.allowedPeers[0].spiffeId',
    'should match',
  ],
  [
    'logging the Authorization header',
    (s) => (s.audit = { includeHeaders: ['authorization'] }),
    'spec.audit.includeHeaders',
    'credentials are never logged',
  ],
  [
    'an HSTS preload without a year of max-age',
    (s) => (s.tls = { hsts: { maxAgeSeconds: 600, preload: true } }),
    'spec.tls.hsts',
    'preload requires',
  ],
  ['an unknown field', (s) => (s.tlsVersion = '1.2'), 'spec.tlsVersion', 'unknown field'],
];

type Jwk = Record<string, unknown>;
const ecKey = (kid: string): Jwk => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid,
});
/** A P-256 key whose point is not on the curve: y with its last byte changed. */
function offCurveKey(kid: string): Jwk {
  const key = ecKey(kid);
  const y = Buffer.from(String(key['y']), 'base64url');
  y[y.length - 1] = (y[y.length - 1] ?? 0) ^ 1;
  return { ...key, y: y.toString('base64url') };
}
const inlineKeys = (s: Record<string, any>, keys: Jwk[], algorithms = ['ES256']): void => {
  delete s.jwt.providers[0].jwksUri;
  s.jwt.providers[0].jwks = { keys };
  s.jwt.providers[0].algorithms = algorithms;
};

/**
 * Policies the CRD's schema and CEL rules accept but the sidecar cannot
 * enforce as written: the semantic checks (@acp/crds checkPolicySpec)
 * refuse them wherever a policy is judged. The same table drives the
 * validating webhook on a real apiserver (test/integration/
 * webhook-policy.test.ts: kubectl apply is refused), the webhook's
 * admission unit test, `acp validate` (operator/src/cli/cli.test.ts) and
 * the offline check that the schema and CEL rules alone let each through
 * (crds/src/semantics/unenforceable.test.ts). Same shape as BAD; the
 * fragment is of our own message, which every surface prints unchanged.
 * Send these to kubectl as JSON: YAML 1.1 reads an EC key's bare `y` as true.
 */
export const UNENFORCEABLE: [string, (s: Record<string, any>) => void, string, string][] = [
  [
    'a rate limit by Subject without spec.jwt',
    (s) => {
      delete s.jwt;
      s.limits = { rateLimit: { requestsPerSecond: 5, by: 'Subject' } };
    },
    'spec.limits.rateLimit.by',
    'Subject needs spec.jwt',
  ],
  [
    'a headers timeout longer than the request timeout',
    (s) => (s.limits = { headersTimeoutSeconds: 60, requestTimeoutSeconds: 30 }),
    'spec.limits.headersTimeoutSeconds',
    'longer than requestTimeoutSeconds',
  ],
  [
    'an egress destination listed twice',
    (s) =>
      (s.egress = {
        allow: [
          { host: 'a.b.svc', port: 8443 },
          { host: 'a.b.svc', port: 8443 },
        ],
      }),
    'spec.egress.allow[1]',
    'is already listed in spec.egress.allow[0]',
  ],
  [
    'a claim forwarded in a header the sidecar sets itself',
    (s) => (s.jwt.providers[0].forwardClaims = [{ claim: 'sub', header: 'x-request-id' }]),
    'spec.jwt.providers[0].forwardClaims[0].header',
    'is set by the sidecar itself',
  ],
  [
    'a rule path an earlier rule always matches first',
    (s) => (s.jwt.rules = [{ paths: ['/v1/*'], public: true }, { paths: ['/v1/admin'] }]),
    'spec.jwt.rules[1].paths[0]',
    'is never reached',
  ],
  [
    'a rule path with a dot segment',
    (s) => (s.jwt.rules = [{ paths: ['/v1/../admin'] }]),
    'spec.jwt.rules[0].paths[0]',
    'never matches',
  ],
  [
    'an inline P-256 key whose point is not on the curve',
    (s) => inlineKeys(s, [offCurveKey('off-curve')]),
    'spec.jwt.providers[0].jwks.keys[0]',
    'is not a usable EC P-256 public key',
  ],
  [
    'an inline RSA key of 1024 bits',
    (s) =>
      inlineKeys(
        s,
        [{ ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) }],
        ['RS256'],
      ),
    'spec.jwt.providers[0].jwks.keys[0]',
    'at least 2048 are required',
  ],
  [
    'inline keys that verify none of the allowed algorithms',
    (s) => inlineKeys(s, [ecKey('ec')], ['RS256']),
    'spec.jwt.providers[0].algorithms',
    'no key in jwks can verify RS256',
  ],
];
