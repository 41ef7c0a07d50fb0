import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grpcMessage, grpcStatusFor } from './grpc-status.ts';

describe('grpcStatusFor', () => {
  const cases: [string, number, number][] = [
    ['maps 401 to UNAUTHENTICATED', 401, 16],
    ['maps 403 to PERMISSION_DENIED', 403, 7],
    ['maps 429 to RESOURCE_EXHAUSTED', 429, 8],
    ['maps 413 to RESOURCE_EXHAUSTED', 413, 8],
    ['maps a malformed request (400) to INVALID_ARGUMENT', 400, 3],
    ['maps 502 to UNAVAILABLE', 502, 14],
    ['maps 503 to UNAVAILABLE', 503, 14],
    ['maps 504 to DEADLINE_EXCEEDED', 504, 4],
    ['maps an unlisted status to UNKNOWN', 418, 2],
  ];
  for (const [name, http, grpc] of cases) it(name, () => assert.equal(grpcStatusFor(http), grpc));
});

describe('grpcMessage', () => {
  it('keeps printable ASCII', () =>
    assert.equal(grpcMessage('ACP_ERR_JWT_MISSING (x)'), 'ACP_ERR_JWT_MISSING (x)'));
  it('percent-encodes % and bytes outside printable ASCII', () =>
    assert.equal(grpcMessage('50% é\n'), '50%25 %C3%A9%0A'));
});
