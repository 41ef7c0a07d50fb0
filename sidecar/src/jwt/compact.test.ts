import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createIdp, type TestIdp } from '../testing/jwt.ts';
import { checkCompactJws, hasDuplicateMember } from './compact.ts';

const seg = (text: string): string => Buffer.from(text).toString('base64url');
const HEADER = seg('{"alg":"ES256","kid":"es-1"}');
const PAYLOAD = seg('{"sub":"alice","exp":4102444800}');
const SIG = seg('0123456789abcdef0123456789abcdef');

const outcome = (token: string): string => {
  try {
    checkCompactJws(token);
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('checkCompactJws', () => {
  let idp: TestIdp;
  before(async () => {
    idp = await createIdp();
  });
  it('passes a token as an IdP signs it', async () => {
    assert.equal(outcome(await idp.sign({})), 'ok');
  });
  it('refuses a signed token with "==" appended to the signature', async () => {
    assert.equal(outcome(`${await idp.sign({})}==`), 'ACP_ERR_JWT_NOT_CANONICAL');
  });
  it('refuses a signed token with a b64 header parameter', async () => {
    assert.equal(outcome(await idp.sign({}, { header: { b64: true } })), 'ACP_ERR_JWT_HEADER_PARAM');
  });

  const cases: [string, string, string][] = [
    ['passes three canonical segments', `${HEADER}.${PAYLOAD}.${SIG}`, 'ok'],
    ['leaves an empty signature (alg none) to jose', `${HEADER}.${PAYLOAD}.`, 'ok'],
    ['refuses two segments', `${HEADER}.${PAYLOAD}`, 'ACP_ERR_JWT_MALFORMED'],
    ['refuses four segments', `${HEADER}.${PAYLOAD}.${SIG}.${SIG}`, 'ACP_ERR_JWT_MALFORMED'],
    ['refuses five segments (a JWE)', `${HEADER}.${SIG}.${SIG}.${SIG}.${SIG}`, 'ACP_ERR_JWT_MALFORMED'],
    ['refuses one padding character', `${HEADER}.${PAYLOAD}.${SIG}=`, 'ACP_ERR_JWT_NOT_CANONICAL'],
    ['refuses padding on the header', `${HEADER}=.${PAYLOAD}.${SIG}`, 'ACP_ERR_JWT_NOT_CANONICAL'],
    ['refuses padding on the payload', `${HEADER}.${PAYLOAD}==.${SIG}`, 'ACP_ERR_JWT_NOT_CANONICAL'],
    [
      'refuses a space inside a segment',
      `${HEADER}.${PAYLOAD}.${SIG.slice(0, 4)} ${SIG.slice(4)}`,
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    ['refuses a tab inside a segment', `${HEADER}.${PAYLOAD}\t.${SIG}`, 'ACP_ERR_JWT_NOT_CANONICAL'],
    ['refuses a line break inside a segment', `${HEADER}.\n${PAYLOAD}.${SIG}`, 'ACP_ERR_JWT_NOT_CANONICAL'],
    [
      'refuses the standard base64 alphabet (+ and /)',
      `${HEADER}.${PAYLOAD}.${SIG.slice(0, -2)}+/`,
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    [
      'refuses a segment with stray trailing bits (two strings, one signature)',
      `${HEADER}.${PAYLOAD}.AB`,
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    ['refuses a segment of impossible length', `${HEADER}.${PAYLOAD}.AAAAA`, 'ACP_ERR_JWT_NOT_CANONICAL'],
    ['refuses an empty header', `.${PAYLOAD}.${SIG}`, 'ACP_ERR_JWT_MALFORMED'],
    ['refuses an empty payload', `${HEADER}..${SIG}`, 'ACP_ERR_JWT_MALFORMED'],
    ['refuses a header that is not JSON', `${seg('alg=ES256')}.${PAYLOAD}.${SIG}`, 'ACP_ERR_JWT_MALFORMED'],
    [
      'refuses a header that is a JSON array',
      `${seg('["ES256"]')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_MALFORMED',
    ],
    [
      'refuses a header that is not UTF-8',
      `${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_MALFORMED',
    ],
    [
      'refuses a header with a byte order mark',
      `${seg('\ufeff{"alg":"ES256"}')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_MALFORMED',
    ],
    [
      'refuses a header naming alg twice',
      `${seg('{"alg":"ES256","alg":"none"}')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    [
      'refuses a header naming alg twice, once escaped',
      `${seg('{"alg":"ES256","\\u0061lg":"none"}')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    [
      'refuses a payload naming sub twice',
      `${HEADER}.${seg('{"sub":"alice","sub":"admin"}')}.${SIG}`,
      'ACP_ERR_JWT_NOT_CANONICAL',
    ],
    [
      'refuses b64 false',
      `${seg('{"alg":"ES256","b64":false}')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_HEADER_PARAM',
    ],
    [
      'refuses b64 false with crit b64',
      `${seg('{"alg":"ES256","b64":false,"crit":["b64"]}')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_HEADER_PARAM',
    ],
    [
      'refuses crit naming an extension',
      `${seg('{"alg":"ES256","crit":["exp"],"exp":1}')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_HEADER_PARAM',
    ],
    [
      'refuses an empty crit list',
      `${seg('{"alg":"ES256","crit":[]}')}.${PAYLOAD}.${SIG}`,
      'ACP_ERR_JWT_HEADER_PARAM',
    ],
  ];
  for (const [name, token, code] of cases) it(name, () => assert.equal(outcome(token), code));
});

/** The same bytes with other trailing bits in the last character (a second string for one segment). */
function strayBits(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(segment.slice(-1));
  return segment.slice(0, -1) + (alphabet[last + 1] ?? '');
}

describe('checkCompactJws and stray trailing bits', () => {
  for (const [name, build] of [
    ['refuses a header with stray trailing bits', (h: string) => `${h}.${PAYLOAD}.${SIG}`],
    ['refuses a payload with stray trailing bits', (p: string) => `${HEADER}.${p}.${SIG}`],
  ] as const) {
    it(name, () => {
      const original = name.includes('header') ? HEADER : PAYLOAD;
      const variant = strayBits(original);
      assert.notEqual(variant, original);
      assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(original, 'base64url'));
      assert.equal(outcome(build(variant)), 'ACP_ERR_JWT_NOT_CANONICAL');
    });
  }
});

describe('hasDuplicateMember', () => {
  const cases: [string, string, boolean][] = [
    ['finds none in distinct members', '{"a":1,"b":{"a":2},"c":["a","a"]}', false],
    ['finds a repeated member', '{"a":1,"a":2}', true],
    ['finds a repeated member spelled with an escape', '{"a":1,"\\u0061":2}', true],
    ['finds a repeated member in a nested object', '{"a":{"x":1,"y":[{"z":1,"z":2}]}}', true],
    ['does not read string values as members', '{"a":"b","c":"a"}', false],
    ['does not read a quote inside a string as its end', '{"a\\"":1,"a":2}', false],
  ];
  for (const [name, text, want] of cases) it(name, () => assert.equal(hasDuplicateMember(text), want));
});
