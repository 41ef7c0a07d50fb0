import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGrpcTimeout, readH2Head } from './h2-request.ts';

const base = [':method', 'GET', ':scheme', 'https', ':path', '/v1/x?y=1', ':authority', 'payments'];

describe('readH2Head', () => {
  const cases: [string, string[], Partial<ReturnType<typeof readH2Head>>][] = [
    [
      'reads the pseudo-headers as method and target, and :authority as the one Host field',
      [...base, 'accept', '*/*'],
      {
        method: 'GET',
        url: '/v1/x?y=1',
        rawHeaders: ['host', 'payments', 'accept', '*/*'],
        error: undefined,
      },
    ],
    [
      'keeps a host equal to :authority once',
      [...base, 'host', 'payments'],
      { rawHeaders: ['host', 'payments'] },
    ],
    [
      'refuses a host that differs from :authority',
      [...base, 'host', 'admin'],
      { error: 'ACP_ERR_HOST_INVALID' },
    ],
    [
      'takes host when :authority is absent',
      [':method', 'GET', ':scheme', 'https', ':path', '/', 'host', 'payments'],
      { rawHeaders: ['host', 'payments'], error: undefined },
    ],
    [
      'joins two host fields into a list (the ambiguity check refuses it)',
      [':method', 'GET', ':scheme', 'https', ':path', '/', 'host', 'a', 'host', 'b'],
      { rawHeaders: ['host', 'a, b'] },
    ],
    [
      'has no Host at all without :authority and host (framing refuses it)',
      [':method', 'GET', ':scheme', 'https', ':path', '/'],
      { rawHeaders: [] },
    ],
    [
      'joins split cookies with "; " (RFC 9113 8.2.3)',
      [...base, 'cookie', 'a=1', 'cookie', 'b=2'],
      { rawHeaders: ['host', 'payments', 'cookie', 'a=1; b=2'] },
    ],
    [
      'refuses a :scheme other than https',
      [...base.slice(0, 2), ':scheme', 'http', ':path', '/'],
      { error: 'ACP_ERR_BAD_REQUEST' },
    ],
    [
      'refuses CONNECT',
      [':method', 'CONNECT', ':authority', 'x:443'],
      { error: 'ACP_ERR_METHOD_NOT_ALLOWED' },
    ],
    [
      'marks a gRPC call and reads its timeout',
      [...base, 'content-type', 'application/grpc+proto', 'grpc-timeout', '250m'],
      { grpc: true, grpcTimeoutMs: 250, error: undefined },
    ],
    ['refuses a malformed grpc-timeout', [...base, 'grpc-timeout', '1.5S'], { error: 'ACP_ERR_BAD_REQUEST' }],
    [
      'does not take application/json for gRPC',
      [...base, 'content-type', 'application/json'],
      { grpc: false },
    ],
  ];
  for (const [name, raw, want] of cases) {
    it(name, () => {
      const got = readH2Head(raw);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof typeof got], v, k);
    });
  }
});

describe('parseGrpcTimeout', () => {
  const cases: [string, string, number | undefined][] = [
    ['reads milliseconds', '100m', 100],
    ['reads seconds', '5S', 5000],
    ['reads hours', '1H', 3_600_000],
    ['rounds microseconds up to 1 ms', '10u', 1],
    ['refuses nine digits', '123456789S', undefined],
    ['refuses an unknown unit', '5s', undefined],
    ['refuses an empty value', '', undefined],
  ];
  for (const [name, v, want] of cases) it(name, () => assert.equal(parseGrpcTimeout(v), want));
});
