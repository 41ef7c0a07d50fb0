import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownAnswer } from './own-answer.ts';

describe('ownAnswer', () => {
  const text = ownAnswer(414, 'ACP_ERR_URL_TOO_LONG', 'req-1', 'max-age=1', 'Sat, 05 Dec 2026 08:00:00 GMT');
  const [head = '', body = ''] = text.split('\r\n\r\n');
  it('has the status line of the status', () => assert.match(head, /^HTTP\/1\.1 414 URI Too Long\r\n/));
  it('carries HSTS and the request id', () => {
    assert.match(head, /\r\nstrict-transport-security: max-age=1\r\n/);
    assert.match(head, /\r\nx-request-id: req-1\r\n/);
  });
  it('has the JSON body with the code and the request id, and its exact length', () => {
    assert.deepEqual(JSON.parse(body), { error: 'ACP_ERR_URL_TOO_LONG', requestId: 'req-1' });
    assert.match(head, new RegExp(`\\r\\ncontent-length: ${Buffer.byteLength(body)}\\r\\n`));
  });
  it('closes the connection', () => assert.match(head, /\r\nconnection: close$/));
});
