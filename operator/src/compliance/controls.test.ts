// Every control of every profile, with a case that passes and a case that
// fails, each named as a sentence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy, type ApiCompliancePolicy, type SidecarConfig } from '@acp/crds';
import {
  aPolicy,
  aProvider,
  compiled,
  withAudit,
  withCertificates,
  withEgress,
  withJwt,
  withLimits,
  withMode,
  withMtls,
  withTls,
} from '../testing/builders.ts';
import { evaluateCompliance } from './evaluate.ts';
import { PROFILE_CONTROLS } from './profiles.ts';
import type { ComplianceInput } from './types.ts';

async function input(
  policy: ApiCompliancePolicy,
  tamper?: (c: SidecarConfig) => void,
): Promise<ComplianceInput> {
  const v = validatePolicy(policy);
  assert.ok(v.ok, JSON.stringify(v.ok ? null : v.errors));
  const config = await compiled(v.value);
  tamper?.(config);
  return { config, policy: v.value };
}

const strictWithPeers = withMtls({
  mode: 'Strict',
  allowedPeers: [{ namespace: 'shop', serviceAccount: 'web' }],
});
const permissive = withMtls({ mode: 'Permissive' });
const jwt = withJwt(aProvider(), [{ paths: ['/healthz'], public: true }]);
const scoped = withJwt(aProvider(), [{ paths: ['/v1/*'], requiredScopes: ['api:read'] }]);
const rateLimited = withLimits({ rateLimit: { requestsPerSecond: 10 } });
const weakSuite = (c: SidecarConfig) => (c.tls.tls12CipherSuites = ['AES256-SHA' as never]);
const tls11 = (c: SidecarConfig) => (c.tls.minVersion = 'TLSv1.1' as never);
const nistSuites = withTls({ cipherSuites: ['TLS_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'] });

type Case = [string, ComplianceInput, RegExp?];
// control id -> [passing cases, failing cases]
const CASES: Record<string, { pass: Case[]; fail: Case[] }> = {
  'PCI-DSS-4.0 4.2.1': {
    pass: [
      [
        'passes with TLS 1.2+ and AEAD ECDHE suites',
        await input(aPolicy()),
        /AEAD suites with ephemeral ECDHE only/,
      ],
    ],
    fail: [
      ['fails with a CBC suite', await input(aPolicy(), weakSuite), /not AEAD with ECDHE: AES256-SHA/],
      ['fails with a TLS 1.1 floor', await input(aPolicy(), tls11), /older than TLS 1.2/],
    ],
  },
  'PCI-DSS-4.0 7.2.1': {
    pass: [
      [
        'passes when only named workloads may call',
        await input(aPolicy(strictWithPeers)),
        /only 1 named workload identity/,
      ],
      ['passes when paths require scopes', await input(aPolicy(scoped)), /scopes are required on \/v1\/\*/],
    ],
    fail: [
      [
        'fails when any workload may call and no scope is required',
        await input(aPolicy(jwt)),
        /not narrowed/,
      ],
      ['fails in Audit mode', await input(aPolicy(strictWithPeers, withMode('Audit'))), /mode is Audit/],
    ],
  },
  'PCI-DSS-4.0 8.3.1': {
    pass: [
      ['passes with Strict mTLS', await input(aPolicy()), /Strict mTLS authenticates every caller/],
      [
        'passes with Permissive mTLS and a JWT on every non-public path',
        await input(aPolicy(permissive, jwt)),
        /JWT is required/,
      ],
    ],
    fail: [
      ['fails with Permissive mTLS and no JWT', await input(aPolicy(permissive)), /not authenticated/],
      [
        'fails with Permissive mTLS and a public rule for every path',
        await input(aPolicy(permissive, withJwt(aProvider(), [{ paths: ['/*'], public: true }]))),
        /makes every path public/,
      ],
      ['fails in Audit mode', await input(aPolicy(withMode('Audit'))), /mode is Audit/],
    ],
  },
  'PCI-DSS-4.0 10.2.1': {
    pass: [['passes with audit records on', await input(aPolicy()), /audit record for every request/]],
    fail: [
      [
        'fails with audit records off',
        await input(aPolicy(withAudit({ enabled: false }))),
        /no audit records/,
      ],
    ],
  },
  'PCI-DSS-4.0 10.2.2': {
    pass: [
      ['passes with identities and the client address in records', await input(aPolicy()), /x-forwarded-for/],
    ],
    fail: [
      [
        'fails without the origin header',
        await input(aPolicy(withAudit({ includeHeaders: ['x-request-id'] }))),
        /no origin/,
      ],
      ['fails without user identification', await input(aPolicy(permissive)), /no user identification/],
      ['fails with audit records off', await input(aPolicy(withAudit({ enabled: false }))), /disabled/],
    ],
  },
  'HIPAA 164.312(a)(1)': {
    pass: [
      ['passes when only named workloads may call', await input(aPolicy(strictWithPeers)), /named workload/],
      [
        'passes when every non-public path needs a token for this audience',
        await input(aPolicy(jwt)),
        /audience api/,
      ],
    ],
    fail: [
      [
        'fails when any workload of the mesh may call without a token',
        await input(aPolicy()),
        /access rights are not checked/,
      ],
      ['fails when callers are not authenticated', await input(aPolicy(permissive)), /not authenticated/],
      ['fails in Audit mode', await input(aPolicy(jwt, withMode('Audit'))), /mode is Audit/],
    ],
  },
  'HIPAA 164.312(b)': {
    pass: [['passes with audit records on', await input(aPolicy()), /recorded/]],
    fail: [
      [
        'fails with audit records off',
        await input(aPolicy(withAudit({ enabled: false }))),
        /no audit records/,
      ],
    ],
  },
  'HIPAA 164.312(d)': {
    pass: [['passes with Strict mTLS', await input(aPolicy()), /workload certificate/]],
    fail: [
      ['fails with Permissive mTLS and no JWT', await input(aPolicy(permissive)), /not authenticated/],
      ['fails in Audit mode', await input(aPolicy(withMode('Audit'))), /mode is Audit/],
    ],
  },
  'HIPAA 164.312(e)(1)': {
    pass: [['passes with Strict mTLS and strong TLS', await input(aPolicy()), /^Strict mTLS; /]],
    fail: [
      ['fails with Permissive mTLS', await input(aPolicy(permissive, jwt)), /Permissive/],
      ['fails with a weak suite', await input(aPolicy(), weakSuite), /AES256-SHA/],
      ['fails in Audit mode', await input(aPolicy(withMode('Audit'))), /mode is Audit/],
    ],
  },
  'HIPAA 164.312(e)(2)(i)': {
    pass: [['passes with AEAD suites only', await input(aPolicy()), /every suite is AEAD/]],
    fail: [['fails with a CBC suite', await input(aPolicy(), weakSuite), /AES256-SHA/]],
  },
  'HIPAA 164.312(e)(2)(ii)': {
    pass: [['passes with strong TLS and egress default Deny', await input(aPolicy()), /egress default Deny/]],
    fail: [
      [
        'fails with egress default Allow',
        await input(aPolicy(withEgress({ default: 'Allow' }))),
        /without mTLS/,
      ],
      ['fails with a TLS 1.1 floor', await input(aPolicy(), tls11), /older than TLS 1.2/],
      ['fails in Audit mode', await input(aPolicy(withMode('Audit'))), /mode is Audit/],
    ],
  },
  'SOC2 CC6.1': {
    pass: [
      [
        'passes with authenticated callers from named workloads',
        await input(aPolicy(strictWithPeers)),
        /named workload/,
      ],
    ],
    fail: [
      [
        'fails when any workload may call without a token',
        await input(aPolicy()),
        /access rights are not checked/,
      ],
      ['fails when callers are not authenticated', await input(aPolicy(permissive)), /not authenticated/],
      ['fails in Audit mode', await input(aPolicy(strictWithPeers, withMode('Audit'))), /mode is Audit/],
    ],
  },
  'SOC2 CC6.6': {
    pass: [
      [
        'passes with authentication and a rate limit',
        await input(aPolicy(rateLimited)),
        /10 requests\/s per Identity/,
      ],
    ],
    fail: [
      ['fails without a rate limit', await input(aPolicy()), /no rate limit/],
      ['fails without authentication', await input(aPolicy(permissive, rateLimited)), /not authenticated/],
      ['fails in Audit mode', await input(aPolicy(rateLimited, withMode('Audit'))), /mode is Audit/],
    ],
  },
  'SOC2 CC6.7': {
    pass: [
      ['passes with strong TLS and declared egress only', await input(aPolicy()), /declared destinations/],
    ],
    fail: [
      [
        'fails with egress default Allow',
        await input(aPolicy(withEgress({ default: 'Allow' }))),
        /any destination/,
      ],
      ['fails with a weak suite', await input(aPolicy(), weakSuite), /AES256-SHA/],
      ['fails in Audit mode', await input(aPolicy(withMode('Audit'))), /mode is Audit/],
    ],
  },
  'SOC2 CC7.2': {
    pass: [
      ['passes with records correlated by request id', await input(aPolicy()), /x-request-id/],
      [
        'passes in Audit mode, which still records every decision',
        await input(aPolicy(withMode('Audit'))),
        /recorded/,
      ],
    ],
    fail: [
      ['fails with audit records off', await input(aPolicy(withAudit({ enabled: false }))), /not recorded/],
      [
        'fails without the request id',
        await input(aPolicy(withAudit({ includeHeaders: ['x-forwarded-for'] }))),
        /correlated/,
      ],
    ],
  },
  'GDPR Art. 32(1)(a)': {
    pass: [
      ['passes with strong TLS and declared egress only', await input(aPolicy()), /declared destinations/],
    ],
    fail: [
      [
        'fails with egress default Allow',
        await input(aPolicy(withEgress({ default: 'Allow' }))),
        /undeclared destinations/,
      ],
      ['fails with a TLS 1.1 floor', await input(aPolicy(), tls11), /older than TLS 1.2/],
      ['fails in Audit mode', await input(aPolicy(withMode('Audit'))), /mode is Audit/],
    ],
  },
  'GDPR Art. 32(1)(b)': {
    pass: [
      [
        'passes with authentication, AEAD and a rate limit',
        await input(aPolicy(rateLimited)),
        /availability: rate limited/,
      ],
    ],
    fail: [
      ['fails without a rate limit', await input(aPolicy()), /availability: no rate limit/],
      ['fails without authentication', await input(aPolicy(permissive, rateLimited)), /confidentiality: /],
      ['fails with a non-AEAD suite', await input(aPolicy(rateLimited), weakSuite), /integrity: /],
      ['fails in Audit mode', await input(aPolicy(rateLimited, withMode('Audit'))), /mode is Audit/],
    ],
  },
  'GDPR Art. 5(1)(c)': {
    pass: [
      [
        'passes with only correlation headers in records',
        await input(aPolicy()),
        /copy only x-request-id, x-forwarded-for/,
      ],
      [
        'passes in Audit mode, which does not change what is logged',
        await input(aPolicy(withMode('Audit'))),
        /copy only/,
      ],
    ],
    fail: [
      [
        'fails when records copy an API key',
        await input(aPolicy(withAudit({ includeHeaders: ['x-api-key'] }))),
        /x-api-key/,
      ],
      [
        'fails when records copy an e-mail address',
        await input(aPolicy(withAudit({ includeHeaders: ['x-user-email'] }))),
        /x-user-email/,
      ],
      [
        'fails when records copy a session token',
        await input(aPolicy(withAudit({ includeHeaders: ['x-session-token'] }))),
        /x-session-token/,
      ],
    ],
  },
  'NIST-800-52r2 3.1': {
    pass: [
      ['passes with TLS 1.2 and 1.3', await input(aPolicy()), /TLS 1.2 and TLS 1.3/],
      [
        'passes with TLS 1.3 only',
        await input(aPolicy(withTls({ minVersion: 'TLS1.3', cipherSuites: ['TLS_AES_256_GCM_SHA384'] }))),
        /TLS 1.3 only/,
      ],
    ],
    fail: [
      ['fails with a TLS 1.1 floor', await input(aPolicy(), tls11), /older than TLS 1.2/],
      [
        'fails without TLS 1.3 suites',
        await input(aPolicy(), (c) => (c.tls.tls13CipherSuites = [])),
        /TLS 1.3 has no cipher suite/,
      ],
    ],
  },
  'NIST-800-52r2 3.3.1': {
    pass: [
      [
        'passes with AES-GCM ECDHE suites only',
        await input(aPolicy(nistSuites)),
        /AES-GCM with ephemeral ECDHE only/,
      ],
    ],
    fail: [
      [
        'fails with the default suites, which include ChaCha20-Poly1305',
        await input(aPolicy()),
        /TLS_CHACHA20_POLY1305_SHA256/,
      ],
      ['fails with a CBC suite', await input(aPolicy(nistSuites), weakSuite), /AES256-SHA/],
    ],
  },
  'NIST-800-52r2 3.2': {
    pass: [
      [
        'passes with ECDSA P-384 and an 8h lifetime',
        await input(aPolicy(withCertificates({ keyAlgorithm: 'ECDSA-P384', lifetime: '8h' }))),
        /ECDSA-P384 workload certificates valid for 8h/,
      ],
    ],
    fail: [
      [
        'fails with a lifetime over 90 days',
        {
          ...(await input(aPolicy())),
          policy: aPolicy(withCertificates({ keyAlgorithm: 'RSA-2048', lifetime: '2400h' })),
        },
        /longer than 90 days/,
      ],
      [
        'fails with an unapproved key algorithm',
        {
          ...(await input(aPolicy())),
          policy: aPolicy(withCertificates({ keyAlgorithm: 'RSA-1024' as never, lifetime: '24h' })),
        },
        /RSA-1024/,
      ],
      [
        'fails when the defaults were not applied',
        { ...(await input(aPolicy())), policy: aPolicy() },
        /defaults not applied/,
      ],
    ],
  },
};

describe('compliance controls', () => {
  for (const [profile, controls] of Object.entries(PROFILE_CONTROLS)) {
    for (const control of controls) {
      const key = `${profile} ${control.id}`;
      describe(`${key} (${control.title})`, () => {
        const cases = CASES[key];
        it('has a passing and a failing case', () => {
          assert.ok(cases && cases.pass.length > 0 && cases.fail.length > 0, key);
        });
        for (const [want, list] of [
          ['Pass', cases?.pass ?? []],
          ['Fail', cases?.fail ?? []],
        ] as const) {
          for (const [name, given, message] of list) {
            it(name, () => {
              const report = evaluateCompliance(given.config, given.policy, { profiles: [control.profile] });
              const got = report.controls.find((c) => c.id === control.id);
              assert.ok(got);
              assert.equal(got.status, want, got.message);
              if (message) assert.match(got.message, message);
            });
          }
        }
      });
    }
  }

  it('has no case for a control that does not exist', () => {
    const known = new Set(
      Object.entries(PROFILE_CONTROLS).flatMap(([p, cs]) => cs.map((c) => `${p} ${c.id}`)),
    );
    assert.deepEqual(
      Object.keys(CASES).filter((k) => !known.has(k)),
      [],
    );
  });
});
