import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSimpleHead } from './simple-head.ts';

/** A head as the fast path passes it: up to the CRLF of the last header line. */
const head = (lines: string[]): string => lines.map((l) => `${l}\r\n`).join('');

describe('parseSimpleHead', () => {
  it('reads a GET with its headers as node:http would give them (names as sent, values trimmed)', () => {
    assert.deepEqual(
      parseSimpleHead(head(['GET /v1/a?b=c HTTP/1.1', 'Host: payments', 'X-A:  1 ', 'Accept: */*'])),
      {
        method: 'GET',
        url: '/v1/a?b=c',
        rawHeaders: ['Host', 'payments', 'X-A', '1', 'Accept', '*/*'],
      },
    );
  });
  const simple: [string, string[]][] = [
    ['accepts HEAD', ['HEAD / HTTP/1.1', 'Host: a']],
    ['accepts DELETE', ['DELETE /x HTTP/1.1', 'Host: a']],
    ['accepts OPTIONS', ['OPTIONS /x HTTP/1.1', 'Host: a']],
    ['accepts Connection: keep-alive', ['GET / HTTP/1.1', 'Host: a', 'Connection: Keep-Alive']],
    ['accepts an empty header value', ['GET / HTTP/1.1', 'Host: a', 'X-Empty:']],
    ['accepts an Authorization header', ['GET / HTTP/1.1', 'Host: a', 'Authorization: Bearer abc.def.ghi']],
  ];
  for (const [name, lines] of simple) {
    it(name, () => assert.notEqual(parseSimpleHead(head(lines)), null));
  }
  const notSimple: [string, string][] = [
    ['leaves a POST to node:http', head(['POST / HTTP/1.1', 'Host: a'])],
    ['leaves a lower-case method to node:http', head(['get / HTTP/1.1', 'Host: a'])],
    ['leaves HTTP/1.0 to node:http', head(['GET / HTTP/1.0', 'Host: a'])],
    ['leaves an absolute-form target to node:http', head(['GET http://a/ HTTP/1.1', 'Host: a'])],
    ['leaves an asterisk-form target to node:http', head(['OPTIONS * HTTP/1.1', 'Host: a'])],
    ['leaves a target with a space to node:http', head(['GET /a b HTTP/1.1', 'Host: a'])],
    ['leaves a target with a non-ASCII byte to node:http', head(['GET /\xe9 HTTP/1.1', 'Host: a'])],
    [
      'leaves a Content-Length to node:http, even 0',
      head(['GET / HTTP/1.1', 'Host: a', 'Content-Length: 0']),
    ],
    [
      'leaves Transfer-Encoding to node:http',
      head(['GET / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked']),
    ],
    ['leaves Expect to node:http', head(['GET / HTTP/1.1', 'Host: a', 'Expect: 100-continue'])],
    ['leaves Upgrade to node:http', head(['GET / HTTP/1.1', 'Host: a', 'Upgrade: websocket'])],
    ['leaves TE to node:http', head(['GET / HTTP/1.1', 'Host: a', 'TE: trailers'])],
    ['leaves Trailer to node:http', head(['GET / HTTP/1.1', 'Host: a', 'Trailer: x'])],
    ['leaves Connection: close to node:http', head(['GET / HTTP/1.1', 'Host: a', 'Connection: close'])],
    [
      'leaves Proxy-Connection to node:http (llhttp reads it as Connection)',
      head(['GET / HTTP/1.1', 'Host: a', 'Proxy-Connection: close']),
    ],
    [
      'leaves a Connection naming headers to node:http',
      head(['GET / HTTP/1.1', 'Host: a', 'Connection: x-a']),
    ],
    ['leaves a request without Host to node:http', head(['GET / HTTP/1.1', 'X: 1'])],
    ['leaves two Host headers to node:http', head(['GET / HTTP/1.1', 'Host: a', 'Host: b'])],
    ['leaves obsolete line folding to node:http', head(['GET / HTTP/1.1', 'Host: a', 'X: 1', ' 2'])],
    ['leaves whitespace before a colon to node:http', head(['GET / HTTP/1.1', 'Host : a'])],
    [
      'leaves a header name with a bad character to node:http',
      head(['GET / HTTP/1.1', 'Host: a', 'X(1): 2']),
    ],
    ['leaves a line without a colon to node:http', head(['GET / HTTP/1.1', 'Host: a', 'nocolon'])],
    ['leaves a bare LF inside the head to node:http', head(['GET / HTTP/1.1', 'Host: a\nX: 1'])],
    ['leaves a bare CR in a value to node:http', head(['GET / HTTP/1.1', 'Host: a\rb'])],
    ['leaves a NUL in a value to node:http', head(['GET / HTTP/1.1', 'Host: a\0'])],
    ['leaves a non-ASCII byte in a value to node:http', head(['GET / HTTP/1.1', 'Host: a', 'X: caf\xe9'])],
    ['leaves a head that does not end with CRLF to node:http', 'GET / HTTP/1.1\r\nHost: a'],
    [
      'leaves more than 100 headers to node:http',
      head(['GET / HTTP/1.1', 'Host: a', ...Array.from({ length: 100 }, (_, i) => `X-${i}: 1`)]),
    ],
  ];
  for (const [name, text] of notSimple) {
    it(name, () => assert.equal(parseSimpleHead(text), null));
  }
});
