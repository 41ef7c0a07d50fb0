import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import {
  algNoneToken,
  createIdp,
  defaultClaims,
  hs256WithPublicKey,
  jwtConfig,
  tamper,
  type TestIdp,
} from '../testing/jwt.ts';
import { compileProvider, createVerifier } from './verify.ts';
import { createTokenCache } from './token-cache.ts';

describe('createVerifier', () => {
  let idp: TestIdp;
  before(async () => {
    idp = await createIdp();
  });
  const verifier = (now = Date.now) =>
    createVerifier(
      jwtConfig(idp.jwks).providers.map((p) => compileProvider(p, undefined)),
      now,
    );
  const expectCode = async (token: string | Promise<string>, code: string, now?: () => number) => {
    await assert.rejects(
      async () => verifier(now).verify(await token),
      (e: any) => e.code === code,
    );
  };
  const now = () => Math.floor(Date.now() / 1000);

  it('accepts a valid ES256 token and reads subject, scopes and forwarded claims', async () => {
    const v = await verifier().verify(await idp.sign({ scope: 'a b', scp: ['c'] }));
    assert.equal(v.subject, 'alice');
    assert.deepEqual([...v.scopes].sort(), ['a', 'b', 'c']);
    assert.deepEqual(v.claimHeaders, [['x-acp-jwt-sub', 'alice']]);
  });
  it('accepts a valid RS256 token', async () => {
    await verifier().verify(await idp.sign({}, { alg: 'RS256' }));
  });
  const refused: [string, () => string | Promise<string>, string][] = [
    ['refuses an expired token', () => idp.sign({ exp: now() - 120 }), 'ACP_ERR_JWT_EXPIRED'],
    [
      'refuses a token of another issuer',
      () => idp.sign({ iss: 'https://evil.example.com/' }),
      'ACP_ERR_JWT_ISSUER',
    ],
    ['refuses a token for another audience', () => idp.sign({ aud: 'billing' }), 'ACP_ERR_JWT_AUDIENCE'],
    ['refuses a token with a bad signature', async () => tamper(await idp.sign({})), 'ACP_ERR_JWT_SIGNATURE'],
    ['refuses alg none', () => algNoneToken(), 'ACP_ERR_JWT_ALGORITHM'],
    [
      'refuses HS256 signed with the RSA public key',
      () => hs256WithPublicKey(idp.rsaPublicPem),
      'ACP_ERR_JWT_ALGORITHM',
    ],
    ['refuses an unknown kid', () => idp.sign({}, { kid: 'nope' }), 'ACP_ERR_JWT_UNKNOWN_KID'],
    [
      'refuses a token missing a required claim',
      () => idp.sign({ sub: undefined } as never),
      'ACP_ERR_JWT_CLAIM_MISSING',
    ],
    ['refuses a token not valid yet', () => idp.sign({ nbf: now() + 3600 }), 'ACP_ERR_JWT_NOT_YET_VALID'],
    [
      'refuses a token older than the maximum age',
      () => idp.sign({ iat: now() - 7200, exp: now() + 600 }),
      'ACP_ERR_JWT_TOO_OLD',
    ],
    ['refuses garbage', () => 'not.a.token', 'ACP_ERR_JWT_MALFORMED'],
    [
      'refuses a valid token with "==" appended to its signature',
      async () => `${await idp.sign({})}==`,
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    [
      'refuses a valid token with whitespace inside',
      async () => (await idp.sign({})).replace('.', '. '),
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    [
      'refuses a signed token with a b64 header parameter',
      () => idp.sign({}, { header: { b64: false } }),
      'ACP_ERR_JWT_HEADER_PARAM',
    ],
  ];
  for (const [name, token, code] of refused) it(name, () => expectCode(token(), code));

  it('accepts a token expired within the clock skew', async () => {
    await verifier().verify(await idp.sign({ exp: now() - 10 }));
  });
  it('serves a reused token from the cache without verifying it again', async () => {
    const cache = createTokenCache<any>();
    const providers = jwtConfig(idp.jwks).providers.map((p) => compileProvider(p, undefined));
    const v = createVerifier(providers, Date.now, cache);
    const token = await idp.sign({});
    const first = v.verify(token);
    assert.ok(first instanceof Promise, 'the first use verifies');
    await first;
    const second = v.verify(token);
    assert.equal(second instanceof Promise, false, 'the second use is a synchronous cache hit');
    assert.equal(cache.size, 1);
  });
  it('stops serving a cached token once it expires', async () => {
    let t = Date.now();
    const v = verifier(() => t);
    const claims: JWTPayload = { ...defaultClaims(), sub: 'alice', exp: now() + 5 };
    const token = await idp.sign(claims);
    await v.verify(token);
    t += 60_000;
    await assert.rejects(
      async () => v.verify(token),
      (e: any) => e.code === 'ACP_ERR_JWT_EXPIRED',
    );
  });
});
