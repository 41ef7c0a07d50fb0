// End-to-end: the running sidecar's bearer-token checks, driven with curl:
// every forged, expired or misdirected token is a 401 (403 for a missing
// scope) with WWW-Authenticate and HSTS, the app receives zero bytes, and
// each decision is one audit record (without the token). Audit mode lets
// the same request through and records the would-be denial.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  algNoneToken,
  createIdp,
  hs256WithPublicKey,
  jwtConfig,
  tamper,
  type TestIdp,
} from '../../sidecar/src/testing/jwt.ts';
import { curl, HSTS, startSidecar, type RunningSidecar } from './sidecar-support.ts';

const now = (): number => Math.floor(Date.now() / 1000);
const bearer = (t: string): string[] => ['-H', `Authorization: Bearer ${t}`];

describe('sidecar e2e: JWT', () => {
  let idp: TestIdp;
  let s: RunningSidecar;
  before(async () => {
    idp = await createIdp();
    s = await startSidecar((c) => {
      c.jwt = jwtConfig(idp.jwks);
      c.audit.includeHeaders = ['x-request-id', 'user-agent'];
    });
  });
  after(async () => {
    await s.stop();
  });

  it('forwards a request with a valid token and the subject as a header', async () => {
    const r = await curl(s, '/v1/data', { args: bearer(await idp.sign({ sub: 'alice' })) });
    assert.equal(r.status, 200);
    assert.equal(s.app.requests.at(-1)?.headers['x-acp-jwt-sub'], 'alice');
  });
  it('forwards a reused token again (served from the token cache)', async () => {
    const t = await idp.sign({});
    assert.equal((await curl(s, '/v1/data', { args: bearer(t) })).status, 200);
    assert.equal((await curl(s, '/v1/data', { args: bearer(t) })).status, 200);
  });
  it('forwards a public path without a token', async () => {
    assert.equal((await curl(s, '/public/info')).status, 200);
  });

  const refused: [string, () => Promise<string[]>, number, string][] = [
    ['refuses a request without a token', () => Promise.resolve([]), 401, 'ACP_ERR_JWT_MISSING'],
    [
      'refuses an expired token',
      async () => bearer(await idp.sign({ exp: now() - 300 })),
      401,
      'ACP_ERR_JWT_EXPIRED',
    ],
    [
      'refuses a token of another issuer',
      async () => bearer(await idp.sign({ iss: 'https://evil.example/' })),
      401,
      'ACP_ERR_JWT_ISSUER',
    ],
    [
      'refuses a token for another audience',
      async () => bearer(await idp.sign({ aud: 'billing' })),
      401,
      'ACP_ERR_JWT_AUDIENCE',
    ],
    [
      'refuses a token with a bad signature',
      async () => bearer(tamper(await idp.sign({}))),
      401,
      'ACP_ERR_JWT_SIGNATURE',
    ],
    [
      'refuses an unsigned token (alg none)',
      () => Promise.resolve(bearer(algNoneToken())),
      401,
      'ACP_ERR_JWT_ALGORITHM',
    ],
    [
      'refuses HS256 signed with the RSA public key',
      () => Promise.resolve(bearer(hs256WithPublicKey(idp.rsaPublicPem))),
      401,
      'ACP_ERR_JWT_ALGORITHM',
    ],
    [
      'refuses a token naming an unknown kid',
      async () => bearer(await idp.sign({}, { kid: 'rotated-away' })),
      401,
      'ACP_ERR_JWT_UNKNOWN_KID',
    ],
    [
      'refuses a token missing a required claim',
      async () => bearer(await idp.sign({ sub: undefined } as never)),
      401,
      'ACP_ERR_JWT_CLAIM_MISSING',
    ],
    [
      'refuses a token older than the maximum age',
      async () => bearer(await idp.sign({ iat: now() - 7200 })),
      401,
      'ACP_ERR_JWT_TOO_OLD',
    ],
    [
      'refuses a token without the required scope with 403',
      async () => bearer(await idp.sign({ scope: 'data:read' })),
      403,
      'ACP_ERR_JWT_SCOPE',
    ],
  ];
  for (const [name, args, status, code] of refused) {
    it(`${name}, and the app receives zero bytes`, async () => {
      const path = code === 'ACP_ERR_JWT_SCOPE' ? '/v1/write/x' : '/v1/data';
      const before = s.app.bytes();
      const r = await curl(s, path, { args: [...(await args()), '-H', 'Cookie: session=top-secret'] });
      assert.equal(r.status, status);
      assert.equal(JSON.parse(r.body).error, code);
      assert.equal(r.headers['strict-transport-security'], HSTS);
      assert.match(r.headers['www-authenticate'] ?? '', /^Bearer realm="acp"/);
      assert.equal(s.app.bytes(), before);
    });
  }

  it('writes one audit record per decision and never the token or cookies', async () => {
    const t = await idp.sign({ sub: 'audited' });
    await curl(s, '/v1/data', { args: [...bearer(t), '-H', 'X-Request-ID: audit-check-0001'] });
    await curl(s, '/v1/data', {
      args: ['-H', 'X-Request-ID: audit-check-0002', '-H', 'Cookie: c=top-secret'],
    });
    const metricsText = await s.metrics();
    const recs = await waitForRecords(s, ['audit-check-0001', 'audit-check-0002']);
    assert.equal(recs[0]?.['decision'], 'allow');
    assert.equal(recs[0]?.['subject'], 'audited');
    assert.equal(recs[0]?.['path'], '/v1/data');
    assert.equal(recs[1]?.['decision'], 'deny');
    assert.equal(recs[1]?.['reason'], 'ACP_ERR_JWT_MISSING');
    for (const field of ['time', 'peer', 'method', 'status', 'latencyMs', 'bytesIn', 'bytesOut']) {
      assert.ok(field in (recs[0] ?? {}), field);
    }
    assert.equal(s.stdout().includes(t), false, 'the token never reaches the log');
    assert.equal(s.stdout().includes('top-secret'), false, 'cookies never reach the log');
    assert.match(metricsText, /acp_sidecar_jwt_failures_total\{reason="ACP_ERR_JWT_EXPIRED"\} [1-9]/);
  });
});

async function waitForRecords(s: RunningSidecar, ids: string[]): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 100; i++) {
    const recs = ids.map((id) => s.auditRecords().find((r) => r['requestId'] === id));
    if (recs.every((r) => r !== undefined)) return recs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`audit records ${ids.join(', ')} never appeared`);
}

describe('sidecar e2e: Audit mode', () => {
  let s: RunningSidecar;
  before(async () => {
    const idp = await createIdp();
    s = await startSidecar((c) => {
      c.mode = 'Audit';
      c.jwt = jwtConfig(idp.jwks);
    });
  });
  after(async () => {
    await s.stop();
  });
  it('lets a request without a token through, and logs and counts the would-be denial', async () => {
    const r = await curl(s, '/v1/data', { args: ['-H', 'X-Request-ID: audit-mode-00001'] });
    assert.equal(r.status, 200);
    const [rec] = await waitForRecords(s, ['audit-mode-00001']);
    assert.equal(rec?.['decision'], 'would_deny');
    assert.equal(rec?.['reason'], 'ACP_ERR_JWT_MISSING');
    assert.match(await s.metrics(), /decision="would_deny",reason="ACP_ERR_JWT_MISSING"\} 1/);
  });
});
