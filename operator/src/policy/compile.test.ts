import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  validateSidecarConfig,
  type ApiCompliancePolicy,
  type JwtProviderSpec,
  type SidecarConfig,
} from '@acp/crds';
import {
  aPolicy,
  aProvider,
  anEcKey,
  anRsaKey,
  compiled,
  withAudit,
  withSpec,
  withEgress,
  withJwt,
  withLimits,
  withMode,
  withMtls,
  withRules,
  withTls,
} from '../testing/builders.ts';
import { compileSidecarConfig } from './compile.ts';
import { fieldErrorsOf } from './errors.ts';
import { configHash } from './hash.ts';

const examples = join(import.meta.dirname, '..', '..', '..', 'crds', 'examples');
const jwksProvider: JwtProviderSpec = {
  name: 'corp',
  issuer: 'https://idp.example.com/',
  audiences: ['api'],
  jwksUri: 'https://idp.example.com/jwks.json',
};

describe('compileSidecarConfig', () => {
  const cases: [string, ApiCompliancePolicy, (c: SidecarConfig) => unknown, unknown][] = [
    ['resolves the mode default to Enforce', aPolicy(), (c) => c.mode, 'Enforce'],
    ['keeps Audit mode', aPolicy(withMode('Audit')), (c) => c.mode, 'Audit'],
    [
      'names the policy it was compiled from',
      aPolicy(),
      (c) => c.policy,
      { namespace: 'shop', name: 'api', generation: 1 },
    ],
    [
      'uses the sidecar ports of the contract',
      aPolicy(),
      (c) => c.listeners,
      { inboundPort: 8443, adminPort: 15021, outboundPort: 15001 },
    ],
    [
      'reaches the app on loopback with the connect timeout in milliseconds, over HTTP/1.1 by default',
      aPolicy(),
      (c) => c.upstream,
      { host: '127.0.0.1', port: 8080, connectTimeoutMs: 5000, protocol: 'http1' },
    ],
    [
      'speaks h2c to an app whose policy says H2C',
      aPolicy(withSpec({ upstream: { port: 8080, connectTimeoutSeconds: 5, protocol: 'H2C' } })),
      (c) => c.upstream.protocol,
      'h2c',
    ],
    ['maps TLS1.2 to Node TLSv1.2', aPolicy(), (c) => c.tls.minVersion, 'TLSv1.2'],
    [
      'splits the default suites into TLS 1.3 and TLS 1.2 lists',
      aPolicy(),
      (c) => [c.tls.tls13CipherSuites, c.tls.tls12CipherSuites],
      [
        ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'],
        [
          'ECDHE-ECDSA-AES256-GCM-SHA384',
          'ECDHE-RSA-AES256-GCM-SHA384',
          'ECDHE-ECDSA-CHACHA20-POLY1305',
          'ECDHE-RSA-CHACHA20-POLY1305',
        ],
      ],
    ],
    [
      'maps IANA suite names to OpenSSL names and drops the duplicates they make',
      aPolicy(
        withTls({
          cipherSuites: [
            'TLS_AES_256_GCM_SHA384',
            'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
            'ECDHE-RSA-AES256-GCM-SHA384',
            'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
          ],
        }),
      ),
      (c) => c.tls.tls12CipherSuites,
      ['ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
    ],
    [
      'has no TLS 1.2 suites with a TLS 1.3 floor',
      aPolicy(withTls({ minVersion: 'TLS1.3', cipherSuites: ['TLS_AES_256_GCM_SHA384'] })),
      (c) => [c.tls.minVersion, c.tls.tls12CipherSuites],
      ['TLSv1.3', []],
    ],
    [
      'writes the default HSTS header',
      aPolicy(),
      (c) => c.tls.hsts.header,
      'max-age=31536000; includeSubDomains',
    ],
    [
      'writes the preload directive when asked',
      aPolicy(withTls({ hsts: { maxAgeSeconds: 63072000, includeSubDomains: true, preload: true } })),
      (c) => c.tls.hsts.header,
      'max-age=63072000; includeSubDomains; preload',
    ],
    [
      'writes a bare max-age without includeSubDomains',
      aPolicy(withTls({ hsts: { maxAgeSeconds: 0, includeSubDomains: false } })),
      (c) => c.tls.hsts.header,
      'max-age=0',
    ],
    [
      'turns peers into SPIFFE IDs of the trust domain, once each',
      aPolicy(
        withMtls({
          allowedPeers: [
            { namespace: 'shop', serviceAccount: 'checkout' },
            { spiffeId: 'spiffe://cluster.local/ns/shop/sa/checkout' },
            { spiffeId: 'spiffe://other.example/ns/a/sa/b' },
          ],
        }),
      ),
      (c) => c.mtls,
      {
        mode: 'Strict',
        allowedPeers: ['spiffe://cluster.local/ns/shop/sa/checkout', 'spiffe://other.example/ns/a/sa/b'],
      },
    ],
    ['has an explicit empty peer list by default', aPolicy(), (c) => c.mtls.allowedPeers, []],
    ['has jwt null without spec.jwt', aPolicy(), (c) => c.jwt, null],
    [
      'converts quantities to bytes and seconds to milliseconds',
      aPolicy(withLimits({ maxRequestBytes: '1.5Mi', maxHeaderBytes: 8192, requestTimeoutSeconds: 60 })),
      (c) => [
        c.limits.maxRequestBytes,
        c.limits.maxHeaderBytes,
        c.limits.requestTimeoutMs,
        c.limits.headersTimeoutMs,
      ],
      [1572864, 8192, 60000, 10000],
    ],
    [
      'converts maxUrlBytes from a quantity and passes the connection limits through',
      aPolicy(withLimits({ maxUrlBytes: '4Ki', maxConnections: 500, maxPendingHandshakesPerAddress: 8 })),
      (c) => [c.limits.maxUrlBytes, c.limits.maxConnections, c.limits.maxPendingHandshakesPerAddress],
      [4096, 500, 8],
    ],
    [
      'defaults the URL limit to 8Ki and the connection limits to 512 and 64 per address',
      aPolicy(),
      (c) => [c.limits.maxUrlBytes, c.limits.maxConnections, c.limits.maxPendingHandshakesPerAddress],
      [8192, 512, 64],
    ],
    ['has rateLimit null without one', aPolicy(), (c) => c.limits.rateLimit, null],
    [
      'sets burst to the rate and keys by identity by default',
      aPolicy(withLimits({ rateLimit: { requestsPerSecond: 50 } })),
      (c) => c.limits.rateLimit,
      { requestsPerSecond: 50, burst: 50, by: 'Identity' },
    ],
    [
      'denies undeclared egress by default, with an explicit empty allow list',
      aPolicy(),
      (c) => c.egress,
      { default: 'Deny', allow: [] },
    ],
    [
      'turns egress peers into SPIFFE IDs and keeps entries without peers as no-mTLS',
      aPolicy(
        withEgress({
          allow: [
            {
              host: 'ledger.ledger.svc.cluster.local',
              port: 8443,
              peers: [{ namespace: 'ledger', serviceAccount: 'ledger' }],
            },
            { host: 'api.example.com', port: 443 },
          ],
        }),
      ),
      (c) => c.egress.allow,
      [
        {
          host: 'ledger.ledger.svc.cluster.local',
          port: 8443,
          peers: ['spiffe://cluster.local/ns/ledger/sa/ledger'],
        },
        { host: 'api.example.com', port: 443, peers: [] },
      ],
    ],
    [
      'logs the default audit headers',
      aPolicy(),
      (c) => c.audit,
      { enabled: true, includeHeaders: ['x-request-id', 'x-forwarded-for'] },
    ],
    ['keeps audit off when disabled', aPolicy(withAudit({ enabled: false })), (c) => c.audit.enabled, false],
    [
      'refuses matrix parameters and offers HTTP/2 by default',
      aPolicy(),
      (c) => c.http,
      { allowMatrixParameters: false, http2: true },
    ],
    [
      'offers only HTTP/1.1 when the policy turns HTTP/2 off',
      aPolicy(withSpec({ http: { http2: false } })),
      (c) => c.http?.http2,
      false,
    ],
    [
      'allows matrix parameters when spec.http says so',
      aPolicy(withSpec({ http: { allowMatrixParameters: true } })),
      (c) => c.http,
      { allowMatrixParameters: true, http2: true },
    ],
  ];
  for (const [name, policy, pick, want] of cases) {
    it(name, async () => assert.deepEqual(pick(await compiled(policy)), want));
  }

  describe('the JWT section', () => {
    it('resolves every provider default and normalizes rules with explicit empty lists', async () => {
      const bare: JwtProviderSpec = {
        name: 'corp',
        issuer: 'https://i/',
        audiences: ['api'],
        jwks: { keys: [anRsaKey(2048) as never] },
      };
      const c = await compiled(
        aPolicy(withJwt(bare, [{ paths: ['/healthz'], public: true }, { paths: ['/v1/*'] }])),
      );
      const p = c.jwt?.providers[0];
      assert.deepEqual(p?.algorithms, ['RS256', 'ES256']);
      assert.equal(p?.clockSkewSeconds, 30);
      assert.deepEqual(p?.requiredClaims, ['exp']);
      assert.deepEqual(p?.forwardClaims, []);
      assert.deepEqual(c.jwt?.rules, [
        { paths: ['/healthz'], methods: [], public: true, providers: [], requiredScopes: [] },
        { paths: ['/v1/*'], methods: [], public: false, providers: [], requiredScopes: [] },
      ]);
    });

    it('requires iat when a maximum token age is set', async () => {
      const c = await compiled(
        aPolicy(withJwt(aProvider({ maxTokenAgeSeconds: 600, requiredClaims: ['exp', 'sub'] }))),
      );
      assert.deepEqual(c.jwt?.providers[0]?.requiredClaims, ['exp', 'sub', 'iat']);
      assert.equal(c.jwt?.providers[0]?.maxTokenAgeSeconds, 600);
    });

    it('embeds inline keys reduced to their public members', async () => {
      const key = anEcKey('k1', { alg: 'ES256', x5c: ['AAAA'] });
      const c = await compiled(aPolicy(withJwt(aProvider({ jwks: { keys: [key as never] } }))));
      assert.deepEqual(c.jwt?.providers[0]?.jwks.keys, [
        { kty: 'EC', crv: 'P-256', x: key['x'], y: key['y'], use: 'sig', kid: 'k1', alg: 'ES256' },
      ]);
    });

    it('embeds the keys supplied for a jwksUri provider, sorted by kid', async () => {
      const keys = [anEcKey('b'), anEcKey('a')];
      const c = await compiled(aPolicy(withJwt(jwksProvider)), {
        jwks: { corp: { keys } },
        missingJwks: 'error',
      });
      assert.deepEqual(
        c.jwt?.providers[0]?.jwks.keys.map((k) => k.kid),
        ['a', 'b'],
      );
    });

    it('refuses a jwksUri provider whose keys were never supplied, naming it', async () => {
      await assert.rejects(compiled(aPolicy(withJwt(jwksProvider)), { missingJwks: 'error' }), {
        code: 'ACP_ERR_JWKS_MISSING',
        message: /provider corp/,
      });
    });

    it('embeds no keys for a jwksUri provider without keys when asked to fail closed', async () => {
      assert.deepEqual((await compiled(aPolicy(withJwt(jwksProvider)))).jwt?.providers[0]?.jwks.keys, []);
    });

    it('refuses supplied keys that hold a private key, naming the provider', async () => {
      await assert.rejects(
        compiled(aPolicy(withJwt(jwksProvider)), {
          jwks: { corp: { keys: [anRsaKey(2048, 'r', true)] } },
        }),
        { code: 'ACP_ERR_JWKS_PRIVATE_KEY', message: /^provider corp: key 0 \(kid "r"\)/ },
      );
    });
  });

  it('refuses a policy the schema refuses, naming the field, with reason InvalidSpec', async () => {
    const bad = aPolicy(withTls({ minVersion: 'TLS1.0' as never }));
    await assert.rejects(compiled(bad), (e: unknown) => {
      assert.deepEqual(
        fieldErrorsOf(e).map((f) => f.field),
        ['spec.tls.minVersion'],
      );
      return (e as { code: string }).code === 'ACP_ERR_INVALID_SPEC';
    });
  });

  it('refuses a policy that cannot be enforced, naming the field', async () => {
    const bad = aPolicy(
      withJwt(aProvider(), [{ paths: ['/v1/*'] }, { paths: ['/v1/x'], requiredScopes: ['a'] }]),
    );
    await assert.rejects(compiled(bad), {
      code: 'ACP_ERR_INVALID_SPEC',
      message: /spec\.jwt\.rules\[1\]\.paths\[0\]/,
    });
  });

  it('refuses an output that does not validate (a trust domain with capitals), naming the field', async () => {
    await assert.rejects(compileSidecarConfig(aPolicy(), { trustDomain: 'Cluster.Local' }), {
      code: 'ACP_ERR_CONFIG_SCHEMA',
      message: /trustDomain/,
    });
  });

  it('does not modify the policy it compiles', async () => {
    const p = aPolicy(withJwt(aProvider()));
    const before = structuredClone(p);
    await compiled(p);
    assert.deepEqual(p, before);
  });

  it('is deterministic: the same policy always has the same hash', async () => {
    const p = aPolicy(withJwt(aProvider()), withRules({ paths: ['/healthz'], public: true }));
    assert.equal(configHash(await compiled(p)), configHash(await compiled(structuredClone(p))));
  });

  it('compiles every example in crds/examples into a configuration that validates', async () => {
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const c = await compiled(parse(readFileSync(join(examples, f), 'utf8')) as ApiCompliancePolicy);
      assert.equal(validateSidecarConfig(c).ok, true, f);
    }
  });
});
