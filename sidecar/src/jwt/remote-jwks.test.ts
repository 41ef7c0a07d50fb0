import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createIdp, type TestIdp } from '../testing/jwt.ts';
import { createRemoteJwks, parseJwks } from './remote-jwks.ts';
import { compileProvider, createVerifier } from './verify.ts';
import { jwtConfig } from '../testing/jwt.ts';

describe('createRemoteJwks', () => {
  let idp: TestIdp;
  before(async () => {
    idp = await createIdp();
  });
  const settings = {
    uri: 'https://idp.example.com/jwks.json',
    timeoutMs: 1000,
    maxBytes: 65536,
    cooldownMs: 30_000,
  };
  const setup = (body: () => string, t = { now: 0 }) => {
    const errors: unknown[] = [];
    let fetches = 0;
    const fetchImpl = (() => {
      fetches++;
      return Promise.resolve(new Response(body(), { status: 200 }));
    }) as typeof fetch;
    const remote = createRemoteJwks(settings, {
      fetch: fetchImpl,
      nowMs: () => t.now,
      onError: (_u, e) => errors.push(e),
    });
    const config = jwtConfig({ keys: [] }).providers[0]!;
    const verifier = createVerifier([compileProvider(config, remote)], Date.now);
    return { verifier, errors, fetches: () => fetches };
  };

  it('verifies a token whose key is only in the remote JWKS', async () => {
    const { verifier } = setup(() => JSON.stringify(idp.jwks));
    const v = await verifier.verify(await idp.sign({}));
    assert.equal(v.subject, 'alice');
  });
  it('does not fetch again within the cooldown for an unknown kid', async () => {
    const { verifier, fetches } = setup(() => JSON.stringify(idp.jwks));
    await verifier.verify(await idp.sign({}));
    await assert.rejects(
      async () => verifier.verify(await idp.sign({}, { kid: 'new' })),
      (e: any) => e.code === 'ACP_ERR_JWT_UNKNOWN_KID',
    );
    assert.equal(fetches(), 1);
  });
  it('refuses a body over the size cap and keeps no keys', async () => {
    const { verifier, errors } = setup(() => JSON.stringify({ ...idp.jwks, pad: 'x'.repeat(70_000) }));
    await assert.rejects(
      async () => verifier.verify(await idp.sign({})),
      (e: any) => e.code === 'ACP_ERR_JWT_UNKNOWN_KID',
    );
    assert.equal((errors[0] as { code: string }).code, 'ACP_ERR_JWKS_TOO_LARGE');
  });
  it('drops private keys from a fetched JWKS', () => {
    assert.deepEqual(
      parseJwks(
        JSON.stringify({
          keys: [
            { kty: 'EC', d: 'secret' },
            { kty: 'EC', x: '1' },
          ],
        }),
      ),
      {
        keys: [{ kty: 'EC', x: '1' }],
      },
    );
  });
});
