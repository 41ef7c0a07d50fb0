import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// The shared semantic checks (@acp/crds) as the operator meets them, with
// the operator's policy builders.
import { semanticErrors, validatePolicy, type ApiCompliancePolicy } from '@acp/crds';
import {
  aPolicy,
  aProvider,
  anEcKey,
  anRsaKey,
  withEgress,
  withJwt,
  withLimits,
} from '../testing/builders.ts';

async function errorsOf(policy: ApiCompliancePolicy): Promise<{ field: string; message: string }[]> {
  const v = validatePolicy(policy);
  assert.equal(v.ok, true, JSON.stringify(v.ok ? null : v.errors));
  return v.ok ? semanticErrors(v.value) : [];
}

// [case, policy, field named, fragment of the message]
const BAD: [string, ApiCompliancePolicy, string, RegExp][] = [
  [
    'a path shadowed by an earlier prefix rule is never reached',
    aPolicy(withJwt(aProvider(), [{ paths: ['/v1/*'] }, { paths: ['/v1/data/x'], requiredScopes: ['s'] }])),
    'spec.jwt.rules[1].paths[0]',
    /never reached: spec\.jwt\.rules\[0\] \("\/v1\/\*"\) matches it first/,
  ],
  [
    'a prefix shadowed by a shorter earlier prefix is never reached',
    aPolicy(withJwt(aProvider(), [{ paths: ['/v1/*'], public: true }, { paths: ['/v1/data/*'] }])),
    'spec.jwt.rules[1].paths[0]',
    /never reached/,
  ],
  [
    'the same exact path twice is never reached the second time',
    aPolicy(withJwt(aProvider(), [{ paths: ['/a'], public: true }, { paths: ['/b', '/a'] }])),
    'spec.jwt.rules[1].paths[1]',
    /never reached/,
  ],
  [
    'a rule for some methods is shadowed by an earlier rule for all methods',
    aPolicy(withJwt(aProvider(), [{ paths: ['/a'] }, { paths: ['/a'], methods: ['GET'] }])),
    'spec.jwt.rules[1].paths[0]',
    /never reached/,
  ],
  [
    'a rule for GET is shadowed by an earlier rule for GET and POST',
    aPolicy(
      withJwt(aProvider(), [
        { paths: ['/a'], methods: ['GET', 'POST'] },
        { paths: ['/a'], methods: ['GET'] },
      ]),
    ),
    'spec.jwt.rules[1].paths[0]',
    /never reached/,
  ],
  [
    'a wildcard inside a segment never matches',
    aPolicy(withJwt(aProvider(), [{ paths: ['/v1/data*'] }])),
    'spec.jwt.rules[0].paths[0]',
    /never matches: a wildcard must be a whole last segment/,
  ],
  [
    'a dot segment never matches',
    aPolicy(withJwt(aProvider(), [{ paths: ['/v1/../admin'] }])),
    'spec.jwt.rules[0].paths[0]',
    /dot segments/,
  ],
  [
    'an encoded slash never matches',
    aPolicy(withJwt(aProvider(), [{ paths: ['/v1%2Fadmin'] }])),
    'spec.jwt.rules[0].paths[0]',
    /encoded slash/,
  ],
  [
    'a scope with a space can never be granted',
    aPolicy(withJwt(aProvider(), [{ paths: ['/a'], requiredScopes: ['read write'] }])),
    'spec.jwt.rules[0].requiredScopes[0]',
    /RFC 6749/,
  ],
  [
    'a claim forwarded in x-forwarded-for collides with the header the sidecar sets',
    aPolicy(withJwt(aProvider({ forwardClaims: [{ claim: 'sub', header: 'x-forwarded-for' }] }))),
    'spec.jwt.providers[0].forwardClaims[0].header',
    /set by the sidecar itself/,
  ],
  [
    'a claim forwarded in x-acp-peer-id collides with the peer identity header',
    aPolicy(withJwt(aProvider({ forwardClaims: [{ claim: 'sub', header: 'x-acp-peer-id' }] }))),
    'spec.jwt.providers[0].forwardClaims[0].header',
    /set by the sidecar itself/,
  ],
  [
    'two claims forwarded in one header are ambiguous',
    aPolicy(
      withJwt(
        aProvider({
          forwardClaims: [
            { claim: 'sub', header: 'x-user' },
            { claim: 'email', header: 'x-user' },
          ],
        }),
      ),
    ),
    'spec.jwt.providers[0].forwardClaims[1].header',
    /already carries forwardClaims\[0\]/,
  ],
  [
    'an inline RSA key under 2048 bits is refused',
    aPolicy(withJwt(aProvider({ algorithms: ['RS256'], jwks: { keys: [anRsaKey(1024) as never] } }))),
    'spec.jwt.providers[0].jwks.keys[0]',
    /RSA key of 1024 bits/,
  ],
  [
    'inline keys with a duplicate kid are refused',
    aPolicy(withJwt(aProvider({ jwks: { keys: [anEcKey('a') as never, anEcKey('a') as never] } }))),
    'spec.jwt.providers[0].jwks.keys[1]',
    /duplicates the kid/,
  ],
  [
    'inline keys that cannot verify any allowed algorithm make every token fail',
    aPolicy(withJwt(aProvider({ algorithms: ['RS256'] }))),
    'spec.jwt.providers[0].algorithms',
    /no key in jwks can verify RS256/,
  ],
  [
    'a rate limit by subject without JWT has no subject',
    aPolicy(withLimits({ rateLimit: { requestsPerSecond: 5, by: 'Subject' } })),
    'spec.limits.rateLimit.by',
    /Subject needs spec\.jwt/,
  ],
  [
    'a headers timeout longer than the request timeout never fires',
    aPolicy(withLimits({ requestTimeoutSeconds: 5, headersTimeoutSeconds: 20 })),
    'spec.limits.headersTimeoutSeconds',
    /longer than requestTimeoutSeconds/,
  ],
  [
    'an egress destination listed twice is ambiguous',
    aPolicy(
      withEgress({
        allow: [
          { host: 'a.b.svc', port: 8443, peers: [{ namespace: 'b', serviceAccount: 'a' }] },
          { host: 'a.b.svc', port: 8443 },
        ],
      }),
    ),
    'spec.egress.allow[1]',
    /already listed in spec\.egress\.allow\[0\]/,
  ],
];

describe('semanticErrors', () => {
  for (const [name, policy, field, fragment] of BAD) {
    it(`says ${name}, naming ${field}`, async () => {
      const errors = await errorsOf(policy);
      const hit = errors.find((e) => e.field === field);
      assert.ok(hit, JSON.stringify(errors));
      assert.match(hit.message, fragment);
    });
  }

  const GOOD: [string, ApiCompliancePolicy][] = [
    ['a minimal policy', aPolicy()],
    [
      'a rule for POST after a rule for GET on the same path',
      aPolicy(
        withJwt(aProvider(), [
          { paths: ['/a'], methods: ['GET'] },
          { paths: ['/a'], methods: ['POST'] },
        ]),
      ),
    ],
    [
      'a prefix rule after an exact rule on its parent',
      aPolicy(withJwt(aProvider(), [{ paths: ['/v1'], public: true }, { paths: ['/v1/*'] }])),
    ],
    [
      'a claim forwarded in an x-acp-* header of its own',
      aPolicy(withJwt(aProvider({ forwardClaims: [{ claim: 'sub', header: 'x-acp-jwt-sub' }] }))),
    ],
    [
      'a rate limit by subject with JWT',
      aPolicy(withJwt(aProvider()), withLimits({ rateLimit: { requestsPerSecond: 5, by: 'Subject' } })),
    ],
    [
      'a jwksUri provider whose keys were never fetched (a JWKS condition, not a spec error)',
      aPolicy(withJwt({ name: 'corp', issuer: 'https://i/', audiences: ['a'], jwksUri: 'https://i/jwks' })),
    ],
    [
      'the same host on two ports',
      aPolicy(
        withEgress({
          allow: [
            { host: 'a.svc', port: 80 },
            { host: 'a.svc', port: 443 },
          ],
        }),
      ),
    ],
  ];
  for (const [name, policy] of GOOD) {
    it(`accepts ${name}`, async () => assert.deepEqual(await errorsOf(policy), []));
  }
});
