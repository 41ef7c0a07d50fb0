// End-to-end: the running sidecar's HTTP handling, driven with curl and raw
// TLS: canonical paths, request smuggling, header and body limits (the app
// receives zero bytes of a refused request), spoofed forwarding headers,
// request ids, rate limits, and the app failing (refused, slow, reset).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../harness/ports.ts';
import {
  CLIENT_ID,
  curl,
  HSTS,
  rawTls,
  startSidecar,
  tlsClient,
  waitFor,
  type RunningSidecar,
} from './sidecar-support.ts';

describe('sidecar e2e: HTTP', () => {
  let s: RunningSidecar;
  const held: IncomingMessage[] = [];
  let files: string;
  before(async () => {
    files = mkdtempSync(join(tmpdir(), 'acp-bodies-'));
    writeFileSync(join(files, 'big'), Buffer.alloc(5000, 97));
    writeFileSync(join(files, 'small'), Buffer.alloc(3000, 98));
    s = await startSidecar((c) => (c.limits.requestTimeoutMs = 1000));
    s.app.handler = (req, res, body) => {
      if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 3000).unref();
        return;
      }
      if (req.url === '/hold') {
        held.push(req);
        return;
      }
      if (req.url === '/reset') {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setImmediate(() => req.socket.destroy());
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'x-app-internal',
        'x-app-internal': '1',
      });
      res.end(JSON.stringify({ url: req.url, headers: req.headers, length: body.length }));
    };
  });
  after(async () => {
    await s.stop();
    rmSync(files, { recursive: true, force: true });
  });

  it('forwards the canonical path to the app', async () => {
    const r = await curl(s, '/v1/a/./b/../c?q=%2F');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).url, '/v1/a/c?q=%2F');
  });
  const badPaths: [string, string][] = [
    ['refuses an encoded slash with 400', '/v1/a%2fb'],
    ['refuses a dot-dot above the root with 400', '/../etc/passwd'],
    ['refuses an encoded dot-dot with 400', '/v1/%2e%2e/admin'],
    ['refuses an encoded NUL with 400', '/v1/a%00b'],
    ['refuses an encoded backslash with 400', '/v1/a%5cb'],
    ['refuses a double slash with 400', '/v1//admin'],
  ];
  for (const [name, path] of badPaths) {
    it(`${name}, and the app receives zero bytes`, async () => {
      const before = s.app.bytes();
      const r = await curl(s, path);
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body).error, 'ACP_ERR_PATH_NOT_CANONICAL');
      assert.equal(r.headers['strict-transport-security'], HSTS);
      assert.equal(s.app.bytes(), before);
    });
  }
  it('refuses a raw backslash in the path with 400', async () => {
    const before = s.app.bytes();
    const out = await rawTls(s, 'GET /v1/a\\..\\admin HTTP/1.1\r\nHost: payments\r\n\r\n');
    assert.match(out, /^HTTP\/1.1 400/);
    assert.equal(s.app.bytes(), before);
  });

  const smuggling: [string, string][] = [
    [
      'refuses Content-Length together with Transfer-Encoding (CL.TE)',
      'POST /v1 HTTP/1.1\r\nHost: payments\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n',
    ],
    [
      'refuses two different Content-Length headers',
      'POST /v1 HTTP/1.1\r\nHost: payments\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc',
    ],
    [
      'refuses two equal Content-Length headers',
      'POST /v1 HTTP/1.1\r\nHost: payments\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    ],

    ['refuses a bare LF line ending in headers', 'GET /v1 HTTP/1.1\nHost: payments\nX-A: b\n\n'],
  ];
  for (const [name, payload] of smuggling) {
    it(`${name} with 400 and HSTS, and the app receives zero bytes`, async () => {
      const before = s.app.bytes();
      const out = await rawTls(s, payload);
      assert.match(out, /^HTTP\/1.1 400/);
      assert.match(out, /strict-transport-security: max-age=31536000/i);
      assert.equal((out.match(/HTTP\/1.1/g) ?? []).length, 1, 'exactly one response');
      assert.equal(s.app.bytes(), before);
    });
  }

  it('refuses headers larger than maxHeaderBytes with 431 and HSTS, and the app receives zero bytes', async () => {
    const before = s.app.bytes();
    const r = await curl(s, '/v1', { args: ['-H', `X-Big: ${'a'.repeat(6000)}`] });
    assert.equal(r.status, 431);
    assert.equal(r.headers['strict-transport-security'], HSTS);
    assert.equal(s.app.bytes(), before);
  });
  it('refuses a Content-Length over maxRequestBytes with 413 before reading, and the app receives zero bytes', async () => {
    const before = s.app.bytes();
    const r = await curl(s, '/v1', { args: ['--data-binary', `@${join(files, 'big')}`] });
    assert.equal(r.status, 413);
    assert.equal(r.headers['connection'], 'close');
    assert.equal(s.app.bytes(), before);
  });
  it('refuses a chunked body crossing maxRequestBytes with 413 and closes, and the app receives zero bytes', async () => {
    const before = s.app.bytes();
    const r = await curl(s, '/v1', {
      args: ['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${join(files, 'big')}`],
    });
    assert.equal(r.status, 413);
    assert.equal(r.headers['connection'], 'close');
    assert.equal(s.app.bytes(), before);
  });
  it('forwards a chunked body under the limit whole, with a Content-Length', async () => {
    const r = await curl(s, '/v1', {
      args: ['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${join(files, 'small')}`],
    });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body);
    assert.equal(seen.length, 3000);
    assert.equal(seen.headers['content-length'], '3000');
    assert.equal(seen.headers['transfer-encoding'], undefined);
  });

  it('replaces spoofed forwarding and identity headers with what the sidecar vouches for', async () => {
    const spoof = [
      'X-Forwarded-For: 6.6.6.6',
      'X-Forwarded-Proto: http',
      'X-Forwarded-Host: evil',
      'Forwarded: for=6.6.6.6',
      'X-Real-IP: 6.6.6.6',
      'X-Forwarded-Client-Cert: URI=spiffe://cluster.local/ns/kube-system/sa/admin',
      'x-acp-peer-id: spiffe://cluster.local/ns/kube-system/sa/admin',
      'x-acp-jwt-sub: root',
      'Connection: X-Hop',
      'X-Hop: 1',
    ].flatMap((h) => ['-H', h]);
    const r = await curl(s, '/v1', { args: spoof });
    const h = JSON.parse(r.body).headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-forwarded-host'], undefined);
    assert.equal(h['forwarded'], undefined);
    assert.equal(h['x-real-ip'], undefined);
    assert.equal(h['x-acp-peer-id'], CLIENT_ID);
    assert.match(h['x-forwarded-client-cert'], new RegExp(`URI=${CLIENT_ID}$`));
    assert.equal(h['x-acp-jwt-sub'], undefined);
    assert.equal(h['x-hop'], undefined);
    assert.equal(r.headers['x-app-internal'], undefined, 'hop-by-hop headers of the app are dropped too');
  });
  it('keeps a well-formed incoming X-Request-ID and replaces a malformed one', async () => {
    const kept = await curl(s, '/v1', { args: ['-H', 'X-Request-ID: trace-1234-abcd'] });
    assert.equal(kept.headers['x-request-id'], 'trace-1234-abcd');
    assert.equal(JSON.parse(kept.body).headers['x-request-id'], 'trace-1234-abcd');
    const replaced = await curl(s, '/v1', { args: ['-H', 'X-Request-ID: bad id <script>'] });
    assert.match(replaced.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  it('answers 504 when the app is slower than the request timeout', async () => {
    const r = await curl(s, '/slow');
    assert.equal(r.status, 504);
    assert.equal(JSON.parse(r.body).error, 'ACP_ERR_UPSTREAM_TIMEOUT');
    assert.equal(r.headers['strict-transport-security'], HSTS);
  });
  it('closes the request to the app when the client goes away before the answer', async () => {
    const sock = tlsClient(s);
    sock.on('error', () => undefined);
    sock.on('secureConnect', () => sock.write('GET /hold HTTP/1.1\r\nHost: payments\r\n\r\n'));
    const appSide = await waitFor('the app to get the request', () => held.at(-1));
    const closed = new Promise<void>((r) => appSide.socket.once('close', () => r()));
    sock.destroy();
    await closed;
    const record = await waitFor('the audit record of the abandoned request', () =>
      s.auditRecords().find((r) => r['path'] === '/hold'),
    );
    assert.equal(record['reason'], 'ACP_ERR_CLIENT_CLOSED', 'abandoned by the client, not timed out');
  });
  it('aborts the client connection when the app resets mid-response (never a complete 200)', async () => {
    const r = await curl(s, '/reset');
    assert.notEqual(r.exit, 0, 'curl reports a transfer error');
    assert.match(
      r.stderr,
      /transfer closed|end of response|partial|empty reply|\(18\)|\(52\)|\(56\)|\(92\)/i,
    );
  });
});

describe('sidecar e2e: app unreachable, rate limit', () => {
  let down: RunningSidecar;
  let limited: RunningSidecar;
  before(async () => {
    const closed = await freePort();
    down = await startSidecar((c) => (c.upstream.port = closed));
    limited = await startSidecar(
      (c) => (c.limits.rateLimit = { requestsPerSecond: 1, burst: 2, by: 'Identity' }),
    );
  });
  after(async () => {
    await down.stop();
    await limited.stop();
  });
  it('answers 502 when the app refuses the connection', async () => {
    const r = await curl(down, '/v1');
    assert.equal(r.status, 502);
    assert.equal(JSON.parse(r.body).error, 'ACP_ERR_UPSTREAM_UNAVAILABLE');
    assert.equal(r.headers['strict-transport-security'], HSTS);
  });
  it('answers 429 with Retry-After once an identity used its burst, and the app receives zero bytes', async () => {
    const statuses: number[] = [];
    let last = await curl(limited, '/v1');
    statuses.push(last.status);
    for (let i = 0; i < 4 && last.status !== 429; i++) {
      last = await curl(limited, '/v1');
      statuses.push(last.status);
    }
    assert.equal(last.status, 429, statuses.join(','));
    assert.match(last.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    const before = limited.app.bytes();
    const again = await curl(limited, '/v1', { args: ['-H', 'X-Forwarded-For: 9.9.9.9'] });
    assert.equal(again.status, 429, 'a client header does not buy a new bucket');
    assert.equal(limited.app.bytes(), before);
    assert.match(await limited.metrics(), /acp_sidecar_rate_limited_total [1-9]/);
  });
  it('keeps a separate bucket for another identity', async () => {
    assert.equal((await curl(limited, '/v1', { cert: limited.pki.other })).status, 200);
  });
});
