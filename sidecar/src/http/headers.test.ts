import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptRequestId,
  clientResponseHeaders,
  forwardedHeadText,
  upstreamRequestHead,
  upstreamRequestHeaders,
} from './headers.ts';

const values = {
  requestId: 'req-12345678',
  clientAddress: '10.1.2.3',
  peerId: 'spiffe://cluster.local/ns/shop/sa/checkout',
  selfId: 'spiffe://cluster.local/ns/payments/sa/payments',
  claimHeaders: [['x-acp-jwt-sub', 'alice']] as const,
  contentLength: undefined,
};

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  return out;
}

describe('upstreamRequestHeaders', () => {
  const spoofed: [string, string][] = [
    ['X-Forwarded-For', '6.6.6.6'],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Host', 'evil'],
    ['Forwarded', 'for=6.6.6.6'],
    ['X-Real-IP', '6.6.6.6'],
    ['X-Forwarded-Client-Cert', 'URI=spiffe://cluster.local/ns/kube-system/sa/admin'],
    ['x-acp-peer-id', 'spiffe://cluster.local/ns/kube-system/sa/admin'],
    ['x-acp-jwt-sub', 'root'],
  ];
  for (const [name, value] of spoofed) {
    it(`replaces a client-supplied ${name} with what the sidecar vouches for`, () => {
      const out = pairs(upstreamRequestHeaders([name, value, 'host', 'x'], values));
      assert.equal(
        out.some(([k, v]) => k === name.toLowerCase() && v === value),
        false,
      );
    });
  }
  it('sets the client address, proto, request id, peer and XFCC', () => {
    const out = Object.fromEntries(pairs(upstreamRequestHeaders(['host', 'x'], values)));
    assert.equal(out['x-forwarded-for'], '10.1.2.3');
    assert.equal(out['x-forwarded-proto'], 'https');
    assert.equal(out['x-request-id'], 'req-12345678');
    assert.equal(out['x-acp-peer-id'], values.peerId);
    assert.equal(out['x-forwarded-client-cert'], `By=${values.selfId};URI=${values.peerId}`);
    assert.equal(out['x-acp-jwt-sub'], 'alice');
  });
  it('removes hop-by-hop headers and every header named in Connection', () => {
    const raw = [
      'Connection',
      'close, X-Secret',
      'X-Secret',
      '1',
      'Keep-Alive',
      '5',
      'TE',
      'trailers',
      'Upgrade',
      'h2c',
      'Accept',
      '*/*',
    ];
    const names = pairs(upstreamRequestHeaders(raw, values)).map(([k]) => k);
    for (const n of ['connection', 'x-secret', 'keep-alive', 'te', 'upgrade'])
      assert.equal(names.includes(n), false, n);
    assert.equal(names.includes('accept'), true);
  });
  it('announces the body length the sidecar knows instead of the client framing', () => {
    const raw = ['Transfer-Encoding', 'chunked', 'Content-Length', '999'];
    const out = pairs(upstreamRequestHeaders(raw, { ...values, contentLength: 12 }));
    assert.deepEqual(
      out.filter(([k]) => k === 'content-length' || k === 'transfer-encoding'),
      [['content-length', '12']],
    );
  });
  it('sets no peer headers for a caller without a certificate', () => {
    const names = pairs(upstreamRequestHeaders([], { ...values, peerId: undefined })).map(([k]) => k);
    assert.equal(names.includes('x-acp-peer-id'), false);
    assert.equal(names.includes('x-forwarded-client-cert'), false);
  });
});

describe('acceptRequestId', () => {
  const cases: [string, string | undefined, boolean][] = [
    ['keeps a UUID', '7d0c3f9e-2b8a-4c55-9d8e-1f2a3b4c5d6e', true],
    ['refuses a value that is too short', 'abc', false],
    ['refuses a value with spaces or quotes', 'abc def "x"', false],
    ['refuses a value that is too long', 'a'.repeat(129), false],
    ['refuses a missing value', undefined, false],
  ];
  for (const [name, value, kept] of cases) {
    it(name, () => assert.equal(acceptRequestId(value) !== undefined, kept));
  }
});

describe('clientResponseHeaders', () => {
  it('removes hop-by-hop headers and those named in Connection from an app response', () => {
    const h = clientResponseHeaders([
      'connection',
      'x-internal',
      'x-internal',
      '1',
      'transfer-encoding',
      'chunked',
      'keep-alive',
      'timeout=5',
      'content-type',
      'a',
    ]);
    assert.deepEqual(h, ['content-type', 'a']);
  });
  it('drops what the sidecar sets itself: Content-Length, HSTS and X-Request-ID', () => {
    const h = clientResponseHeaders([
      'content-length',
      '3',
      'strict-transport-security',
      'max-age=0',
      'x-request-id',
      'app',
      'x-a',
      'b',
    ]);
    assert.deepEqual(h, ['x-a', 'b']);
  });
  it('keeps repeated headers such as Set-Cookie in order', () => {
    assert.deepEqual(clientResponseHeaders(['set-cookie', 'a=1', 'set-cookie', 'b=2']), [
      'set-cookie',
      'a=1',
      'set-cookie',
      'b=2',
    ]);
  });
});

describe('upstreamRequestHead', () => {
  it('writes the request line, the headers of upstreamRequestHeaders one per line, and the empty line', () => {
    const raw = ['Host', 'x', 'X-A', '1', 'Connection', 'x-a'];
    const flat = upstreamRequestHeaders(raw, values);
    const lines = flat.filter((_, i) => i % 2 === 0).map((name, i) => `${name}: ${flat[2 * i + 1] ?? ''}`);
    assert.equal(
      upstreamRequestHead('GET', '/a?b', raw, values),
      `GET /a?b HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`,
    );
  });
  it('adds a Host header only when asked to (an HTTP/1.0 client sent none)', () => {
    assert.ok(
      upstreamRequestHead('GET', '/', [], { ...values, host: '127.0.0.1:8080' }).includes(
        '\r\nhost: 127.0.0.1:8080\r\n',
      ),
    );
    assert.ok(!upstreamRequestHead('GET', '/', [], values).includes('host:'));
  });
  it('puts the forwarded text the caller keeps per connection where the forwarded headers belong', () => {
    const kept = forwardedHeadText(values);
    assert.equal(
      upstreamRequestHead('GET', '/', ['X-A', '1'], values, kept),
      upstreamRequestHead('GET', '/', ['X-A', '1'], values),
    );
    const head = upstreamRequestHead('GET', '/', [], values, 'x-forwarded-for: kept\r\n');
    assert.match(
      head,
      /\r\nx-request-id: req-12345678\r\nx-forwarded-for: kept\r\nx-acp-jwt-sub: alice\r\n\r\n$/,
    );
  });
  it('vouches for no peer in the forwarded text of a connection without a client certificate', () => {
    const text = forwardedHeadText({ ...values, peerId: undefined });
    assert.equal(text, 'x-forwarded-for: 10.1.2.3\r\nx-forwarded-proto: https\r\n');
  });
});
