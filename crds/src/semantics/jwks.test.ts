import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { keyMatchesAlgorithm, validateJwks } from './jwks.ts';

type Jwk = Record<string, unknown>;
const anEcKey = (kid = 'ec-1', extra: Jwk = {}): Jwk => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid,
  ...extra,
});
const anRsaKey = (bits: number, kid = 'rsa-1', withPrivate = false): Jwk => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { ...(withPrivate ? privateKey : publicKey).export({ format: 'jwk' }), kid };
};
/** A base64url member with its last byte changed: for a P-256 y, a point that is not on the curve. */
const flipLastByte = (b64: unknown): string => {
  const bytes = Buffer.from(String(b64), 'base64url');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  return bytes.toString('base64url');
};
const offCurve = (kid = 'bad'): Jwk => {
  const k = anEcKey(kid);
  return { ...k, y: flipLastByte(k['y']) };
};

const ed25519 = (): Record<string, unknown> => ({
  ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }),
  kid: 'ed',
});
const x25519 = (): Record<string, unknown> => ({
  ...generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }),
  kid: 'x',
});
const limits = { maxKeys: 3, minRsaBits: 2048 };

describe('validateJwks refuses', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['a document without a keys array', { kid: 'x' }, 'ACP_ERR_JWKS_INVALID', /"keys" array/],
    ['a document that is not an object', 'keys', 'ACP_ERR_JWKS_INVALID', /"keys" array/],
    [
      'an RSA private key (parameter d)',
      { keys: [anRsaKey(2048, 'r', true)] },
      'ACP_ERR_JWKS_PRIVATE_KEY',
      /key 0 \(kid "r"\): holds private key material \("d"\)/,
    ],
    [
      'a key with only a prime (parameter p)',
      { keys: [{ ...anRsaKey(2048), p: 'AQAB' }] },
      'ACP_ERR_JWKS_PRIVATE_KEY',
      /"p"/,
    ],
    [
      'an EC private key',
      { keys: [{ ...anEcKey(), d: 'c2VjcmV0' }] },
      'ACP_ERR_JWKS_PRIVATE_KEY',
      /private key material/,
    ],
    [
      'a symmetric oct key',
      { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }] },
      'ACP_ERR_JWKS_SYMMETRIC_KEY',
      /symmetric/,
    ],
    [
      'an RSA key of 1024 bits',
      { keys: [anRsaKey(1024)] },
      'ACP_ERR_JWKS_WEAK_KEY',
      /RSA key of 1024 bits; at least 2048 are required/,
    ],
    ['an unknown key type', { keys: [{ kty: 'PQC', kid: 'q' }] }, 'ACP_ERR_JWKS_UNKNOWN_KEY_TYPE', /"PQC"/],
    ['a key without a key type', { keys: [{ kid: 'q' }] }, 'ACP_ERR_JWKS_UNKNOWN_KEY_TYPE', /undefined/],
    [
      'more keys than the limit',
      { keys: [anEcKey('a'), anEcKey('b'), anEcKey('c'), anEcKey('d')] },
      'ACP_ERR_JWKS_TOO_MANY_KEYS',
      /4 keys; at most 3/,
    ],
    [
      'two keys with the same kid',
      { keys: [anEcKey('a'), anEcKey('a')] },
      'ACP_ERR_JWKS_DUPLICATE_KID',
      /key 1 \(kid "a"\)/,
    ],
    [
      'a set with only encryption keys',
      { keys: [anEcKey('e', { use: 'enc' })] },
      'ACP_ERR_JWKS_NO_KEYS',
      /no public signature key/,
    ],
    ['an empty set', { keys: [] }, 'ACP_ERR_JWKS_NO_KEYS', /no public signature key/],
    [
      'an EC key on a curve the sidecar cannot verify',
      { keys: [{ ...anEcKey(), crv: 'secp256k1' }] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /secp256k1/,
    ],
    [
      'an RSA key without a modulus',
      { keys: [{ kty: 'RSA', e: 'AQAB', kid: 'r' }] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /"n" must be a base64url string/,
    ],
    [
      'a key whose alg does not fit its type',
      { keys: [anEcKey('e', { alg: 'RS256' })] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /alg "RS256" is not a signature algorithm for this key/,
    ],
    [
      'a P-256 key whose point is not on the curve (jose cannot import it)',
      { keys: [anEcKey('good'), offCurve('bad')] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /key 1 \(kid "bad"\): is not a usable EC P-256 public key \(jose: .+\)/,
    ],
    [
      'an Ed25519 key of the wrong length (jose cannot import it)',
      { keys: [{ ...ed25519(), x: 'AAAA' }] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /is not a usable OKP Ed25519 public key/,
    ],
    [
      'an Ed448 key (jose, and so the sidecar, verifies EdDSA with Ed25519 only)',
      { keys: [{ kty: 'OKP', crv: 'Ed448', x: 'AAAA', kid: 'ed448' }] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /OKP curve "Ed448" is not Ed25519/,
    ],
    [
      'two unusable keys: the first in document order is named',
      { keys: [offCurve('first'), offCurve('second')] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /^key 0 \(kid "first"\)/,
    ],
    [
      'a key that is not an object',
      { keys: ['x'] },
      'ACP_ERR_JWKS_INVALID_KEY',
      /key 0: is not a JSON object/,
    ],
  ];
  for (const [name, doc, code, message] of cases) {
    it(name, () => assert.rejects(validateJwks(doc, limits), { code, message }));
  }
});

describe('validateJwks keeps', () => {
  it('public RSA, EC and Ed25519 signature keys, reduced to public members', async () => {
    const rsa = anRsaKey(2048, 'r');
    const ec = anEcKey('e', { alg: 'ES256', x5c: ['AAAA'], key_ops: ['verify'] });
    const ed = ed25519();
    assert.deepEqual(await validateJwks({ keys: [rsa, ec, ed] }, limits), [
      { kty: 'EC', crv: 'P-256', x: ec['x'], y: ec['y'], use: 'sig', kid: 'e', alg: 'ES256' },
      { kty: 'OKP', crv: 'Ed25519', x: ed['x'], use: 'sig', kid: 'ed' },
      { kty: 'RSA', n: rsa['n'], e: rsa['e'], use: 'sig', kid: 'r' },
    ]);
  });

  it('only signature keys: drops use "enc", key_ops without verify, encryption algs and X25519', async () => {
    const kept = await validateJwks(
      {
        keys: [
          anEcKey('sig'),
          anEcKey('enc', { use: 'enc' }),
          anEcKey('ops', { key_ops: ['encrypt'] }),
          { ...anRsaKey(2048, 'oaep'), alg: 'RSA-OAEP-256' },
          x25519(),
        ],
      },
      { maxKeys: 10, minRsaBits: 2048 },
    );
    assert.deepEqual(
      kept.map((k) => k.kid),
      ['sig'],
    );
  });

  it('keys without a kid, after the ones with a kid, in document order', async () => {
    const a = anEcKey('a');
    const noKid1 = anEcKey('x');
    const noKid2 = anEcKey('y');
    delete noKid1['kid'];
    delete noKid2['kid'];
    const kept = await validateJwks({ keys: [noKid1, a, noKid2] }, limits);
    assert.deepEqual(
      kept.map((k) => k.kid ?? k.x),
      ['a', noKid1['x'], noKid2['x']],
    );
  });

  it('the same result however the identity provider orders its keys', async () => {
    const keys = [anEcKey('b'), anEcKey('a'), anEcKey('c')];
    assert.deepEqual(
      await validateJwks({ keys }, limits),
      await validateJwks({ keys: [...keys].reverse() }, limits),
    );
  });
});

describe('keyMatchesAlgorithm', async () => {
  const [rsa] = await validateJwks({ keys: [anRsaKey(2048)] });
  const [p256] = await validateJwks({ keys: [anEcKey()] });
  const cases: [string, boolean][] = [
    ['RS256', true],
    ['PS384', true],
    ['ES256', false],
    ['EdDSA', false],
  ];
  for (const [alg, want] of cases)
    it(`says an RSA key ${want ? 'can' : 'cannot'} verify ${alg}`, () =>
      assert.equal(keyMatchesAlgorithm(rsa!, alg), want));
  it('says a P-256 key verifies ES256 but not ES384', () => {
    assert.equal(keyMatchesAlgorithm(p256!, 'ES256'), true);
    assert.equal(keyMatchesAlgorithm(p256!, 'ES384'), false);
  });
});
