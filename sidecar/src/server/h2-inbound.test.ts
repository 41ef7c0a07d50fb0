import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sessionErrorCode } from './h2-inbound.ts';

describe('sessionErrorCode', () => {
  const cases: [string, string, string][] = [
    [
      'names a CONTINUATION flood',
      'Too many CONTINUATION frames following a HEADER frame',
      'ACP_ERR_H2_CONTINUATION_FLOOD',
    ],
    [
      'names a flood of frames that do no work (empty DATA)',
      'Too many invalid HTTP/2 frames',
      'ACP_ERR_H2_INVALID_FRAME_FLOOD',
    ],
    ['names streams refused past the limit', 'The user callback function failed', 'ACP_ERR_H2_STREAM_FLOOD'],
    [
      'names nghttp2 calling for calm a flood',
      'Session closed with error code NGHTTP2_ENHANCE_YOUR_CALM',
      'ACP_ERR_H2_FLOOD',
    ],
    ['calls anything else a protocol error', 'Protocol error', 'ACP_ERR_H2_PROTOCOL'],
  ];
  for (const [name, message, want] of cases) it(name, () => assert.equal(sessionErrorCode(message), want));
});
