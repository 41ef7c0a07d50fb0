import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { AcpError } from '@acp/crds/sidecar';
import { createMetrics } from '../metrics.ts';
import { baseConfig } from '../testing/fixtures.ts';
import { fakeContext, policyOf } from '../testing/context.ts';
import { createAuditLog } from './audit.ts';
import { createRecorder } from './recorder.ts';
import { rescueLayer } from './rescue.ts';

function setup(thrown: unknown, async = false) {
  const lines: string[] = [];
  const log = pino({ base: null }, { write: (l: string) => lines.push(l) });
  const metrics = createMetrics(new Registry());
  const recorder = createRecorder({
    audit: createAuditLog({ write: (l: string) => lines.push(l) }, () => 5),
    metrics,
    nowMs: () => 5,
  });
  const handler = rescueLayer({ recorder, log })(() =>
    async
      ? Promise.reject(thrown instanceof Error ? thrown : new Error(String(thrown)))
      : (() => {
          throw thrown;
        })(),
  );
  const ctx = fakeContext(policyOf(baseConfig(1)));
  return { handler, ctx, lines, metrics };
}

describe('rescueLayer', () => {
  const cases: [string, string, number][] = [
    ['maps a non-canonical path to 400', 'ACP_ERR_PATH_NOT_CANONICAL', 400],
    ['maps a missing token to 401', 'ACP_ERR_JWT_MISSING', 401],
    ['maps a missing scope to 403', 'ACP_ERR_JWT_SCOPE', 403],
    ['maps a peer that is not allowed to 403', 'ACP_ERR_PEER_NOT_ALLOWED', 403],
    ['maps an oversized body to 413', 'ACP_ERR_BODY_TOO_LARGE', 413],
    ['maps the rate limit to 429', 'ACP_ERR_RATE_LIMITED', 429],
    ['maps an unreachable app to 502', 'ACP_ERR_UPSTREAM_UNAVAILABLE', 502],
    ['maps a slow app to 504', 'ACP_ERR_UPSTREAM_TIMEOUT', 504],
    ['maps an unknown code to 500', 'ACP_ERR_SOMETHING_NEW', 500],
  ];
  for (const [name, code, status] of cases) {
    it(name, async () => {
      const { handler, ctx } = setup(new AcpError(code, 'x'), true);
      await handler(ctx);
      assert.equal(ctx.out.status, status);
      assert.equal(JSON.parse(ctx.out.body).error, code);
    });
  }
  it('turns an unexpected error into a logged 500', async () => {
    const { handler, ctx, lines } = setup(new TypeError('boom'));
    await handler(ctx);
    assert.equal(ctx.out.status, 500);
    assert.ok(lines.some((l) => l.includes('unexpected error') && l.includes('boom')));
  });
  it('puts HSTS and the request id on its own responses', async () => {
    const { handler, ctx } = setup(new AcpError('ACP_ERR_JWT_MISSING', 'x'));
    await handler(ctx);
    assert.equal(ctx.out.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assert.equal(ctx.out.headers['x-request-id'], 'req-00000001');
    assert.equal(ctx.out.headers['www-authenticate'], 'Bearer realm="acp"');
  });
  it('says why a token was refused in WWW-Authenticate', async () => {
    const { handler, ctx } = setup(new AcpError('ACP_ERR_JWT_EXPIRED', 'x'));
    await handler(ctx);
    assert.match(String(ctx.out.headers['www-authenticate']), /error="invalid_token"/);
  });
  it('sends Retry-After with a 429', async () => {
    const { handler, ctx } = setup(new AcpError('ACP_ERR_RATE_LIMITED', 'x', { retryAfterSeconds: 3 }));
    await handler(ctx);
    assert.equal(ctx.out.headers['retry-after'], '3');
  });
  it('writes one audit record with the decision and reason, without Authorization', async () => {
    const { handler, ctx, lines, metrics } = setup(new AcpError('ACP_ERR_JWT_EXPIRED', 'x'));
    (ctx.req.headers as Record<string, string>)['authorization'] = 'Bearer secret-token';
    (ctx.req.headers as Record<string, string>)['cookie'] = 'session=secret';
    await handler(ctx);
    const audit = lines.map((l) => JSON.parse(l)).filter((r) => r.type === 'audit');
    assert.equal(audit.length, 1);
    assert.equal(audit[0].decision, 'deny');
    assert.equal(audit[0].reason, 'ACP_ERR_JWT_EXPIRED');
    assert.equal(audit[0].status, 401);
    assert.equal(lines.join('').includes('secret'), false);
    assert.match(await metrics.registry.metrics(), /decision="deny",reason="ACP_ERR_JWT_EXPIRED"\} 1/);
  });
});
