import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { framingError, type FramingFacts } from './framing.ts';

const limits = { maxUrlBytes: 16, maxHeaderBytes: 40 };
const ok: FramingFacts = {
  h2: false,
  httpVersionMajor: 1,
  httpVersionMinor: 1,
  url: '/v1/items',
  rawHeaders: ['Host', 'payments'],
  hasHost: true,
  transferEncoding: undefined,
};

describe('framingError', () => {
  const cases: [string, Partial<FramingFacts>, string | undefined][] = [
    ['passes a plain HTTP/1.1 request', {}, undefined],
    ['passes a target of exactly maxUrlBytes', { url: `/${'a'.repeat(15)}` }, undefined],
    [
      'refuses a target one byte over maxUrlBytes with a URL code',
      { url: `/${'a'.repeat(16)}` },
      'ACP_ERR_URL_TOO_LONG',
    ],
    [
      'refuses HTTP/2.0 with the version code',
      { httpVersionMajor: 2, httpVersionMinor: 0 },
      'ACP_ERR_HTTP_VERSION',
    ],
    [
      'passes HTTP/2 from the HTTP/2 adapter',
      { h2: true, httpVersionMajor: 2, httpVersionMinor: 0 },
      undefined,
    ],
    [
      'refuses an HTTP/2 request without :authority or Host',
      { h2: true, httpVersionMajor: 2, httpVersionMinor: 0, hasHost: false, rawHeaders: [] },
      'ACP_ERR_BAD_REQUEST',
    ],
    ['refuses HTTP/1.1 from the HTTP/2 adapter with the version code', { h2: true }, 'ACP_ERR_HTTP_VERSION'],
    [
      'refuses HTTP/0.9 with the version code',
      { httpVersionMajor: 0, httpVersionMinor: 9 },
      'ACP_ERR_HTTP_VERSION',
    ],
    ['refuses HTTP/1.1 without Host', { hasHost: false, rawHeaders: [] }, 'ACP_ERR_BAD_REQUEST'],
    ['passes HTTP/1.0 without Host', { httpVersionMinor: 0, hasHost: false, rawHeaders: [] }, undefined],
    [
      'refuses header fields over maxHeaderBytes',
      { rawHeaders: ['Host', 'payments', 'X-Big', 'a'.repeat(30)] },
      'ACP_ERR_HEADERS_TOO_LARGE',
    ],
    ['passes Transfer-Encoding chunked', { transferEncoding: 'chunked' }, undefined],
    [
      'passes Transfer-Encoding Chunked (codings are case-insensitive)',
      { transferEncoding: 'Chunked' },
      undefined,
    ],
    ['refuses gzip, chunked', { transferEncoding: 'gzip, chunked' }, 'ACP_ERR_TRANSFER_CODING'],
    [
      'refuses chunked, chunked (two fields joined)',
      { transferEncoding: 'chunked, chunked' },
      'ACP_ERR_TRANSFER_CODING',
    ],
    ['refuses identity', { transferEncoding: 'identity' }, 'ACP_ERR_TRANSFER_CODING'],
    ['refuses an empty coding', { transferEncoding: '' }, 'ACP_ERR_TRANSFER_CODING'],
    [
      'names the version before the target when both are wrong',
      { httpVersionMajor: 2, url: `/${'a'.repeat(40)}` },
      'ACP_ERR_HTTP_VERSION',
    ],
  ];
  for (const [name, facts, want] of cases) {
    it(name, () => assert.equal(framingError({ ...ok, ...facts }, limits), want));
  }
});
