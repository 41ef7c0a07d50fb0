import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bodyTokenAmbiguity,
  credentialsIn,
  isFormBody,
  queryParamName,
  queryTokens,
  requestAmbiguity,
} from './ambiguity.ts';
import { scanRequestHeaders } from './request-headers.ts';

const check = (raw: string[], query = ''): string =>
  requestAmbiguity(scanRequestHeaders(raw, new Set()), query)?.code ?? 'ok';
const H = ['Host', 'payments'];
const AUTH = ['Authorization', 'Bearer aaa.bbb.ccc'];

describe('requestAmbiguity', () => {
  const cases: [string, string[], string, string][] = [
    ['passes one Host and one bearer token', [...H, ...AUTH], 'a=1', 'ok'],
    ['passes a request without Host (HTTP/1.0)', [], '', 'ok'],
    ['passes Host with a port, an IPv6 literal, or empty', ['Host', '[::1]:8443'], '', 'ok'],
    ['passes an empty Host', ['Host', ''], '', 'ok'],
    ['refuses two Host fields with different values', [...H, 'Host', 'admin'], '', 'ACP_ERR_HOST_INVALID'],
    ['refuses two Host fields with the same value', [...H, ...H], '', 'ACP_ERR_HOST_INVALID'],
    [
      'refuses Host fields that differ only in the case of the name',
      [...H, 'HOST', 'payments'],
      '',
      'ACP_ERR_HOST_INVALID',
    ],
    ['refuses a Host holding a list', ['Host', 'payments, admin'], '', 'ACP_ERR_HOST_INVALID'],
    ['refuses a Host with whitespace inside', ['Host', 'pay ments'], '', 'ACP_ERR_HOST_INVALID'],
    ['refuses a Host with userinfo or a path', ['Host', 'a@payments/x'], '', 'ACP_ERR_HOST_INVALID'],
    ['passes Connection: keep-alive and close', [...H, 'Connection', 'keep-alive, close'], '', 'ok'],
    ['passes Connection naming a custom hop-by-hop header', [...H, 'Connection', 'x-hop'], '', 'ok'],
    [
      'refuses Connection naming Host',
      [...H, 'Connection', 'close, Host'],
      '',
      'ACP_ERR_HOP_BY_HOP_PROTECTED',
    ],
    [
      'refuses Connection naming Content-Length',
      [...H, 'Connection', 'content-length'],
      '',
      'ACP_ERR_HOP_BY_HOP_PROTECTED',
    ],
    [
      'refuses Connection naming Transfer-Encoding',
      [...H, 'Connection', 'Transfer-Encoding'],
      '',
      'ACP_ERR_HOP_BY_HOP_PROTECTED',
    ],
    [
      'refuses Connection naming Authorization',
      [...H, ...AUTH, 'Connection', 'AUTHORIZATION'],
      '',
      'ACP_ERR_HOP_BY_HOP_PROTECTED',
    ],
    [
      'refuses Connection naming Authorization in a second Connection field',
      [...H, 'Connection', 'keep-alive', 'connection', 'authorization'],
      '',
      'ACP_ERR_HOP_BY_HOP_PROTECTED',
    ],
    ['refuses Connection naming Cookie', [...H, 'Connection', 'cookie'], '', 'ACP_ERR_HOP_BY_HOP_PROTECTED'],
    [
      'refuses a Connection option that is not a token',
      [...H, 'Connection', 'keep alive'],
      '',
      'ACP_ERR_HOP_BY_HOP_PROTECTED',
    ],
    [
      'refuses two Authorization fields',
      [...H, ...AUTH, 'Authorization', 'Bearer x.y.z'],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses two Authorization fields in different case',
      [...H, ...AUTH, 'authorization', 'Bearer x.y.z'],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses two identical Authorization fields',
      [...H, ...AUTH, ...AUTH],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses an empty Authorization field next to another',
      [...H, 'Authorization', '', ...AUTH],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses two schemes in one Authorization field',
      [...H, 'Authorization', 'Basic YWJj, Bearer a.b.c'],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses a comma list of bearer tokens',
      [...H, 'Authorization', 'Bearer a.b.c,d.e.f'],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses two tokens after one Bearer',
      [...H, 'Authorization', 'Bearer a.b.c d.e.f'],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses two Bearer credentials separated by a space',
      [...H, 'Authorization', 'Bearer a.b.c Bearer d.e.f'],
      '',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'passes one Digest credential with auth-params (commas in quotes too)',
      [...H, 'Authorization', 'Digest username="a, b", realm="x", nonce=abc'],
      '',
      'ok',
    ],
    [
      'refuses a header token and a query token',
      [...H, ...AUTH],
      'access_token=x.y.z',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    ['refuses a token in the query alone', [...H], 'a=1&access_token=x.y.z', 'ACP_ERR_TOKEN_IN_QUERY'],
    [
      'refuses two tokens in the query',
      [...H],
      'access_token=a&access_token=b',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    ['refuses a percent-encoded access_token name', [...H], 'access%5Ftoken=x', 'ACP_ERR_TOKEN_IN_QUERY'],
    [
      'refuses a fully percent-encoded access_token name',
      [...H],
      '%61%63%63%65%73%73%5f%74%6f%6b%65%6e=x',
      'ACP_ERR_TOKEN_IN_QUERY',
    ],
    ['refuses access_token in another case', [...H], 'Access_Token=x', 'ACP_ERR_TOKEN_IN_QUERY'],
    ['refuses access_token after a ";" separator', [...H], 'a=1;access_token=x', 'ACP_ERR_TOKEN_IN_QUERY'],
    [
      'refuses PHP spellings of access_token (dot, array)',
      [...H],
      'access.token=x',
      'ACP_ERR_TOKEN_IN_QUERY',
    ],
    ['refuses access_token[] (a PHP array)', [...H], 'access_token[]=x', 'ACP_ERR_TOKEN_IN_QUERY'],
    [
      'passes a query parameter that only contains the word token',
      [...H],
      'token_type=a&my_access_token_hint=1',
      'ok',
    ],
    [
      'refuses X_Forwarded_For (read as X-Forwarded-For by CGI-style apps)',
      [...H, 'X_Forwarded_For', '1.2.3.4'],
      '',
      'ACP_ERR_HEADER_NAME_AMBIGUOUS',
    ],
    ['refuses x_acp_peer_id', [...H, 'x_acp_peer_id', 'spiffe://x'], '', 'ACP_ERR_HEADER_NAME_AMBIGUOUS'],
    ['refuses Content_Length', [...H, 'Content_Length', '5'], '', 'ACP_ERR_HEADER_NAME_AMBIGUOUS'],
    ['passes other names with an underscore', [...H, 'X_Custom', '1'], '', 'ok'],
  ];
  for (const [name, raw, query, code] of cases) it(name, () => assert.equal(check(raw, query), code));
});

describe('credentialsIn', () => {
  const cases: [string, string, number][] = [
    ['counts one bearer token', 'Bearer a.b.c', 1],
    ['counts a scheme alone as one', 'Bearer', 1],
    ['counts nothing in an empty value', '', 0],
    ['counts Basic with padding as one', 'Basic YWJjZA==', 1],
    ['counts auth-params as part of their credential', 'Digest realm="a,b", qop=auth', 1],
    ['counts each scheme of a list', 'Basic YQ==, Bearer a, Negotiate b', 3],
    ['counts several tokens of one Bearer', 'bearer a b', 2],
  ];
  for (const [name, value, n] of cases) it(name, () => assert.equal(credentialsIn(value), n));
});

describe('queryParamName and queryTokens', () => {
  it('decodes escapes and plus, lower-cases, and applies PHP name mangling', () => {
    assert.equal(queryParamName('%41ccess+Token'), 'access_token');
    assert.equal(queryParamName('access_token[x]'), 'access_token');
    assert.equal(queryParamName('%zz'), '%zz');
  });
  it('counts nothing in a query without the word token or an escape', () => {
    assert.equal(queryTokens('a=1&b=2'), 0);
  });
  it('counts an access_token without a value', () => {
    assert.equal(queryTokens('access_token'), 1);
  });
});

describe('isFormBody and bodyTokenAmbiguity', () => {
  const forms: [string, string | undefined, boolean][] = [
    ['reads the form media type', 'application/x-www-form-urlencoded', true],
    ['reads it in any case and with parameters', 'Application/X-WWW-Form-URLencoded ; charset=utf-8', true],
    ['does not read JSON as a form', 'application/json', false],
    ['does not read a missing Content-Type as a form', undefined, false],
  ];
  for (const [name, type, want] of forms) it(name, () => assert.equal(isFormBody(type), want));

  const body = (raw: string[], query: string, text: string): string =>
    bodyTokenAmbiguity(scanRequestHeaders(raw, new Set()), query, Buffer.from(text))?.code ?? 'ok';
  const cases: [string, string[], string, string, string][] = [
    ['passes a form without a token', [...H, ...AUTH], '', 'a=1&b=2', 'ok'],
    [
      'refuses a form token next to a header token',
      [...H, ...AUTH],
      '',
      'a=1&access_token=x',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    [
      'refuses a form token next to a query token',
      [...H],
      'access_token=y',
      'access_token=x',
      'ACP_ERR_CREDENTIALS_AMBIGUOUS',
    ],
    ['refuses two form tokens', [...H], '', 'access_token=x&access_token=y', 'ACP_ERR_CREDENTIALS_AMBIGUOUS'],
    ['refuses a form token alone', [...H], '', 'access%5ftoken=x', 'ACP_ERR_TOKEN_IN_BODY'],
  ];
  for (const [name, raw, query, text, code] of cases)
    it(name, () => assert.equal(body(raw, query, text), code));
});
