import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { H2_PREFACE, looksLikeHttp1, prefaceState } from './outbound-h2.ts';

describe('prefaceState: what the first bytes of a tunnel to a meshed Service say', () => {
  const cases: [string, Buffer, 'h2' | 'other' | 'more'][] = [
    ['nothing yet is a prefix of the preface', Buffer.alloc(0), 'more'],
    ['the first bytes of the preface wait for more', H2_PREFACE.subarray(0, 10), 'more'],
    ['the whole preface is h2', H2_PREFACE, 'h2'],
    ['the preface followed by a SETTINGS frame is h2', Buffer.concat([H2_PREFACE, Buffer.alloc(9)]), 'h2'],
    ['an HTTP/1.1 request line is not h2', Buffer.from('GET / HTTP/1.1\r\n'), 'other'],
    ['a TLS ClientHello is not h2 from its first byte', Buffer.from([0x16, 0x03, 0x01]), 'other'],
    [
      'a preface that differs in its last byte is not h2',
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r'),
      'other',
    ],
  ];
  for (const [name, bytes, want] of cases) it(name, () => assert.equal(prefaceState(bytes), want));
});

describe('looksLikeHttp1: whether a tunnel that is not h2 starts like an HTTP/1.1 request', () => {
  const cases: [string, string | Buffer, boolean][] = [
    ['a GET request line is HTTP/1.1', 'GET / HTTP/1.1\r\n', true],
    ['a POST request line is HTTP/1.1', 'POST /v1/pay HTTP/1.1\r\n', true],
    ['a method not yet followed by its space may still be one', 'PATC', true],
    ['a TLS ClientHello is not', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), false],
    ['a lower-case method is not', 'get / HTTP/1.1\r\n', false],
    ['a line starting with a space is not', ' GET /', false],
    ['a token longer than any method is not', 'A'.repeat(30), false],
  ];
  for (const [name, bytes, want] of cases)
    it(name, () => assert.equal(looksLikeHttp1(Buffer.from(bytes)), want));
});
