import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { SidecarConfig } from '@acp/crds/sidecar';
import { createMetrics } from '../metrics.ts';
import type { Handler, Layer, RequestContext } from '../pipeline/types.ts';
import { baseConfig } from '../testing/fixtures.ts';
import { fakeContext, policyOf, type RequestSpec } from '../testing/context.ts';
import { createIdp, jwtConfig, type TestIdp } from '../testing/jwt.ts';
import { ambiguityLayer } from './ambiguity.ts';
import { bodyLimitLayer } from './body-limit.ts';
import { jwtLayer } from './jwt.ts';
import { pathLayer } from './path.ts';
import { peerLayer } from './peer.ts';
import { rateLimitLayer } from './rate-limit.ts';

/** Runs one layer over a stub next; returns the error code it threw, or 'next' when it passed on. */
async function run(
  layer: Layer,
  config: SidecarConfig,
  spec: RequestSpec,
): Promise<{ outcome: string; ctx: RequestContext }> {
  let passed = false;
  const next: Handler = () => {
    passed = true;
  };
  const ctx = fakeContext(policyOf(config), spec);
  try {
    await layer(next)(ctx);
  } catch (e) {
    return { outcome: (e as { code: string }).code, ctx };
  }
  return { outcome: passed ? 'next' : 'stopped', ctx };
}

const metrics = () => createMetrics(new Registry());
const config = (mutate: (c: SidecarConfig) => void = () => undefined): SidecarConfig => {
  const c = baseConfig(1);
  mutate(c);
  return c;
};
const alice = 'spiffe://cluster.local/ns/shop/sa/checkout';
const bob = 'spiffe://cluster.local/ns/shop/sa/other';

describe('peerLayer', () => {
  const cases: [string, string[], string | undefined, string][] = [
    ['lets any verified peer through when allowedPeers is empty', [], bob, 'next'],
    ['lets a caller without a certificate through when allowedPeers is empty', [], undefined, 'next'],
    ['lets an allowed peer through', [alice], alice, 'next'],
    ['refuses a peer that is not allowed', [alice], bob, 'ACP_ERR_PEER_NOT_ALLOWED'],
    [
      'refuses a caller without a certificate when peers are listed',
      [alice],
      undefined,
      'ACP_ERR_PEER_NOT_ALLOWED',
    ],
  ];
  for (const [name, allowed, peer, outcome] of cases) {
    it(name, async () => {
      const r = await run(
        peerLayer,
        config((c) => (c.mtls.allowedPeers = allowed)),
        { peerId: peer },
      );
      assert.equal(r.outcome, outcome);
    });
  }
  it('records the would-be denial and lets the request through in Audit mode', async () => {
    const r = await run(
      peerLayer,
      config((c) => ((c.mtls.allowedPeers = [alice]), (c.mode = 'Audit'))),
      { peerId: bob },
    );
    assert.equal(r.outcome, 'next');
    assert.deepEqual(r.ctx.wouldDeny, ['ACP_ERR_PEER_NOT_ALLOWED']);
  });
  const probe = 'spiffe://cluster.local/ns/acp-system/sa/acp-probe';
  const probeCases: [string, string[], 'Enforce' | 'Audit'][] = [
    ['refuses the compliance prober even when any peer may call', [], 'Enforce'],
    ['refuses the compliance prober even when it is listed in allowedPeers', [probe], 'Enforce'],
    ['refuses the compliance prober in Audit mode too (it never reaches the app)', [], 'Audit'],
  ];
  for (const [name, allowed, mode] of probeCases)
    it(name, async () => {
      const r = await run(
        peerLayer,
        config((c) => ((c.mtls.allowedPeers = allowed), (c.mtls.probePeers = [probe]), (c.mode = mode))),
        { peerId: probe },
      );
      assert.equal(r.outcome, 'ACP_ERR_PEER_IS_PROBE');
    });
});

describe('ambiguityLayer', () => {
  it('refuses an ambiguous request in Audit mode too (protocol safety)', async () => {
    const r = await run(
      ambiguityLayer,
      config((c) => (c.mode = 'Audit')),
      { url: '/a', headers: { Host: 'a', Connection: 'host' } },
    );
    assert.equal(r.outcome, 'ACP_ERR_HOP_BY_HOP_PROTECTED');
  });
  it('passes a plain request on', async () => {
    assert.equal(
      (await run(ambiguityLayer, config(), { url: '/a', headers: { Host: 'a' } })).outcome,
      'next',
    );
  });
});

describe('pathLayer', () => {
  it('sets the canonical path and passes on', async () => {
    const r = await run(pathLayer, config(), { url: '/a/./b?x=1' });
    assert.equal(r.outcome, 'next');
    assert.equal(r.ctx.path, '/a/b');
    assert.equal(r.ctx.query, 'x=1');
  });
  it('refuses an ambiguous path with ACP_ERR_PATH_NOT_CANONICAL', async () => {
    assert.equal(
      (await run(pathLayer, config(), { url: '/a/%2e%2e/b' })).outcome,
      'ACP_ERR_PATH_NOT_CANONICAL',
    );
  });
  it('passes the raw path on in Audit mode and records the would-be denial', async () => {
    const r = await run(
      pathLayer,
      config((c) => (c.mode = 'Audit')),
      { url: '/a%2fb' },
    );
    assert.equal(r.outcome, 'next');
    assert.equal(r.ctx.path, '/a%2fb');
    assert.deepEqual(r.ctx.wouldDeny, ['ACP_ERR_PATH_NOT_CANONICAL']);
  });
  it('refuses a path parameter by default', async () => {
    const r = await run(pathLayer, config(), { url: '/public/..;/admin' });
    assert.equal(r.outcome, 'ACP_ERR_PATH_NOT_CANONICAL');
  });
  it('keeps matrix parameters for the app and sets the route without them when the policy allows them', async () => {
    const allow = config((c) => (c.http = { allowMatrixParameters: true }));
    const r = await run(pathLayer, allow, { url: '/v1/write;v=2/x?a=1' });
    assert.equal(r.outcome, 'next');
    assert.equal(r.ctx.path, '/v1/write;v=2/x');
    assert.equal(r.ctx.route, '/v1/write/x');
    assert.equal(
      (await run(pathLayer, allow, { url: '/public/..;/admin' })).outcome,
      'ACP_ERR_PATH_NOT_CANONICAL',
    );
  });
});

describe('jwtLayer', () => {
  let idp: TestIdp;
  before(async () => {
    idp = await createIdp();
  });
  const withJwt = (c: SidecarConfig) => (c.jwt = jwtConfig(idp.jwks));
  const cases: [string, () => Promise<RequestSpec>, string][] = [
    [
      'lets a valid token through',
      async () => ({ url: '/v1/x', headers: { authorization: `Bearer ${await idp.sign({})}` } }),
      'next',
    ],
    ['lets a public path through without a token', () => Promise.resolve({ url: '/public/x' }), 'next'],
    ['refuses a missing token', () => Promise.resolve({ url: '/v1/x' }), 'ACP_ERR_JWT_MISSING'],
    [
      'refuses a non-bearer Authorization header',
      () => Promise.resolve({ url: '/v1/x', headers: { authorization: 'Basic YTpi' } }),
      'ACP_ERR_JWT_MISSING',
    ],
    [
      'refuses an expired token',
      async () => ({ url: '/v1/x', headers: { authorization: `Bearer ${await idp.sign({ exp: 1000 })}` } }),
      'ACP_ERR_JWT_EXPIRED',
    ],
    [
      'refuses a token without a required scope',
      async () => ({
        url: '/v1/write/x',
        headers: { authorization: `Bearer ${await idp.sign({ scope: 'data:read' })}` },
      }),
      'ACP_ERR_JWT_SCOPE',
    ],
    [
      'lets a token with the required scope through',
      async () => ({
        url: '/v1/write/x',
        headers: { authorization: `Bearer ${await idp.sign({ scp: ['data:write'] })}` },
      }),
      'next',
    ],
  ];
  for (const [name, spec, outcome] of cases) {
    it(name, async () => {
      const s = await spec();
      const r = await run(jwtLayer(metrics()), config(withJwt), { ...s, url: s.url ?? '/' });
      assert.equal(r.outcome, outcome);
    });
  }
  it('sets the subject and the forwarded claim headers', async () => {
    const r = await run(jwtLayer(metrics()), config(withJwt), {
      url: '/v1/x',
      headers: { authorization: `Bearer ${await idp.sign({ sub: 'carol' })}` },
    });
    assert.equal(r.ctx.subject, 'carol');
    assert.deepEqual(r.ctx.claimHeaders, [['x-acp-jwt-sub', 'carol']]);
  });
  it('matches the rules on the route (the path without matrix parameters)', async () => {
    const c = config((x) => (withJwt(x), (x.http = { allowMatrixParameters: true })));
    const token = `Bearer ${await idp.sign({ scope: 'data:read' })}`;
    let passed = false;
    const ctx = fakeContext(policyOf(c), { url: '/v1/write;v=2/x', headers: { authorization: token } });
    const layers = pathLayer(jwtLayer(metrics())(() => void (passed = true)));
    await assert.rejects(async () => layers(ctx), { code: 'ACP_ERR_JWT_SCOPE' });
    assert.equal(passed, false);
  });
  it('lets everything through when the config has no JWT section', async () => {
    assert.equal((await run(jwtLayer(metrics()), config(), { url: '/v1/x' })).outcome, 'next');
  });
  it('counts a refused token by reason', async () => {
    const m = metrics();
    await run(jwtLayer(m), config(withJwt), { url: '/v1/x' });
    const text = await m.registry.metrics();
    assert.match(text, /acp_sidecar_jwt_failures_total\{reason="ACP_ERR_JWT_MISSING"\} 1/);
  });
});

describe('rateLimitLayer', () => {
  const limited = (by: 'Identity' | 'Subject' | 'SourceIP') =>
    config((c) => (c.limits.rateLimit = { requestsPerSecond: 1, burst: 1, by }));
  it('refuses the second request of an identity within a second, with Retry-After', async () => {
    const c = policyOf(limited('Identity'));
    const layer = rateLimitLayer(metrics(), () => 0)(() => undefined);
    await layer(fakeContext(c, { peerId: alice }));
    assert.throws(
      () => layer(fakeContext(c, { peerId: alice })),
      (e: any) => e.code === 'ACP_ERR_RATE_LIMITED' && e.details.retryAfterSeconds === 1,
    );
    await layer(fakeContext(c, { peerId: bob }));
  });
  it('keys on the source address, never on a client header', async () => {
    const c = policyOf(limited('SourceIP'));
    const layer = rateLimitLayer(metrics(), () => 0)(() => undefined);
    await layer(fakeContext(c, { remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '1.1.1.1' } }));
    assert.throws(() =>
      layer(fakeContext(c, { remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '2.2.2.2' } })),
    );
  });
  it('keys on the verified JWT subject when told to', async () => {
    const c = policyOf(limited('Subject'));
    const layer = rateLimitLayer(metrics(), () => 0)(() => undefined);
    const ctx = (sub: string) => Object.assign(fakeContext(c, { peerId: alice }), { subject: sub });
    await layer(ctx('alice'));
    await layer(ctx('bob'));
    assert.throws(() => layer(ctx('alice')));
  });
});

describe('bodyLimitLayer', () => {
  it('refuses a Content-Length over the limit before reading the body', async () => {
    const r = await run(bodyLimitLayer, config(), { method: 'POST', headers: { 'content-length': '5000' } });
    assert.equal(r.outcome, 'ACP_ERR_BODY_TOO_LARGE');
  });
  it('passes a Content-Length body on to be streamed', async () => {
    const r = await run(bodyLimitLayer, config(), { method: 'POST', headers: { 'content-length': '10' } });
    assert.equal(r.outcome, 'next');
    assert.equal(r.ctx.bodyLength, 10);
    assert.equal(r.ctx.body, undefined);
  });
  it('reads a form-encoded Content-Length body completely before passing on (for the body-token check)', async () => {
    const r = await run(bodyLimitLayer, config(), {
      method: 'POST',
      headers: { 'content-length': '6', 'content-type': 'application/x-www-form-urlencoded' },
      body: [Buffer.from('a=1'), Buffer.from('&b=')],
    });
    assert.equal(r.outcome, 'next');
    assert.equal(r.ctx.body?.toString(), 'a=1&b=');
    assert.equal(r.ctx.bodyLength, 6);
  });
  it('reads a chunked body under the limit completely before passing on', async () => {
    const r = await run(bodyLimitLayer, config(), {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: [Buffer.from('abc'), Buffer.from('def')],
    });
    assert.equal(r.outcome, 'next');
    assert.equal(r.ctx.body?.toString(), 'abcdef');
  });
  it('refuses a chunked body that crosses the limit', async () => {
    const r = await run(bodyLimitLayer, config(), {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: [Buffer.alloc(3000), Buffer.alloc(3000)],
    });
    assert.equal(r.outcome, 'ACP_ERR_BODY_TOO_LARGE');
  });
  it('forwards an oversized chunked body in Audit mode and records it', async () => {
    const r = await run(
      bodyLimitLayer,
      config((c) => (c.mode = 'Audit')),
      {
        method: 'POST',
        headers: { 'transfer-encoding': 'chunked' },
        body: [Buffer.alloc(3000), Buffer.alloc(3000)],
      },
    );
    assert.equal(r.outcome, 'next');
    assert.deepEqual(r.ctx.wouldDeny, ['ACP_ERR_BODY_TOO_LARGE']);
  });
});
