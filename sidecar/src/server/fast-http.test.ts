import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestLineState } from './fast-http.ts';

describe('requestLineState', () => {
  const max = 16;
  const cases: [string, string, string][] = [
    ['says ok for a complete line with a short target', 'GET /a HTTP/1.1\r\nHost: x\r\n', 'ok'],
    ['says ok for a target of exactly the limit', `GET /${'a'.repeat(15)} HTTP/1.1\r\n`, 'ok'],
    ['says too-long for a target one byte over the limit', `GET /${'a'.repeat(16)} HTTP/1.1\r\n`, 'too-long'],
    ['says incomplete for a line still arriving', 'GET /a', 'incomplete'],
    [
      'says incomplete while the line is within the limit and the slack',
      `GET /${'a'.repeat(60)}`,
      'incomplete',
    ],
    [
      'says too-long for a line with no end past the limit and the slack',
      `GET /${'a'.repeat(100)}`,
      'too-long',
    ],
    ['says ok for a line without spaces (node:http refuses it)', 'garbage\r\n', 'ok'],
    ['measures the target of a bare-LF line too', `GET /${'a'.repeat(16)} HTTP/1.1\n`, 'too-long'],
    ['says ok for a leading empty line', '\r\nGET / HTTP/1.1\r\n', 'ok'],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => assert.equal(requestLineState(Buffer.from(text, 'latin1'), max), want));
  }
});
