import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAuditLog, jsonString, type RequestRecord } from './audit.ts';

const base: RequestRecord = {
  requestId: 'req-12345678',
  peer: 'spiffe://cluster.local/ns/shop/sa/checkout',
  subject: 'alice',
  client: '10.1.2.3',
  method: 'GET',
  path: '/v1/items',
  status: 200,
  decision: 'allow',
  reason: 'ACP_OK',
  wouldDeny: undefined,
  latencyMs: 1.25,
  bytesIn: 0,
  bytesOut: 12,
  policyJson: jsonString('shop/payments@3'),
  headers: [['x-request-id', 'req-12345678']],
};

function capture(now = 1_790_000_000_123) {
  const lines: string[] = [];
  return { lines, audit: createAuditLog({ write: (l) => lines.push(l) }, () => now) };
}

describe('createAuditLog', () => {
  it('writes a request record as one JSON line in the pino layout', () => {
    const { lines, audit } = capture();
    audit.request(base);
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.endsWith('}\n'));
    assert.deepEqual(Object.keys(JSON.parse(lines[0] ?? '')), [
      'level',
      'time',
      'type',
      'requestId',
      'peer',
      'subject',
      'client',
      'method',
      'path',
      'status',
      'decision',
      'reason',
      'latencyMs',
      'bytesIn',
      'bytesOut',
      'policy',
      'headers',
    ]);
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      level: 30,
      time: new Date(1_790_000_000_123).toISOString(),
      type: 'audit',
      ...Object.fromEntries(
        Object.entries(base).filter(([k]) => !['policyJson', 'headers', 'wouldDeny'].includes(k)),
      ),
      policy: 'shop/payments@3',
      headers: { 'x-request-id': 'req-12345678' },
    });
  });
  it('escapes what JSON must escape and keeps the values exact', () => {
    const { lines, audit } = capture();
    const nasty = 'a"b\\c\u0001d\u00e9\u2028\ud800';
    audit.request({ ...base, path: nasty, subject: nasty, headers: [['x-request-id', nasty]] });
    const r = JSON.parse(lines[0] ?? '');
    assert.equal(r.path, nasty);
    assert.equal(r.subject, nasty);
    assert.equal(r.headers['x-request-id'], nasty);
  });
  it('writes null for a caller without a certificate or token, and lists would-be denials', () => {
    const { lines, audit } = capture();
    audit.request({
      ...base,
      peer: undefined,
      subject: undefined,
      decision: 'would_deny',
      wouldDeny: ['ACP_ERR_X'],
    });
    const r = JSON.parse(lines[0] ?? '');
    assert.equal(r.peer, null);
    assert.equal(r.subject, null);
    assert.deepEqual(r.wouldDeny, ['ACP_ERR_X']);
  });
  it('leaves the headers out when none are configured', () => {
    const { lines, audit } = capture();
    audit.request({ ...base, headers: undefined });
    assert.equal('headers' in JSON.parse(lines[0] ?? ''), false);
  });
  it('writes other records with JSON.stringify, leaving undefined fields out', () => {
    const { lines, audit } = capture();
    audit.record({
      client: '1.2.3.4',
      peer: null,
      status: 0,
      reason: 'ACP_ERR_TLS_HANDSHAKE',
      extra: undefined,
    });
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      level: 30,
      time: new Date(1_790_000_000_123).toISOString(),
      type: 'audit',
      client: '1.2.3.4',
      peer: null,
      status: 0,
      reason: 'ACP_ERR_TLS_HANDSHAKE',
    });
    audit.record({});
    assert.equal(JSON.parse(lines[1] ?? '').type, 'audit');
  });
});
