// End-to-end: inbound HTTP/2 through the running sidecar over real mTLS.
// ALPN offers h2 and http/1.1; HTTP/2 requests run through the same layers
// as HTTP/1.1 (canonical path, ambiguity, allowed peers, body limit,
// forwarding with the sidecar's headers, audit), and every HTTP/2 rule is
// held: pseudo-headers, :authority vs host, connection-specific fields,
// `te` other than trailers, upper-case names, Content-Length against the
// DATA frames (raw frames, test/e2e/h2-frames.ts). Clients: node:http2,
// curl --http2 and raw frames.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { auditOf, h2Request, h2Session } from './h2-client.ts';
import { ERR, data, headers, rawH2, requestFields, T } from './h2-frames.ts';
import { HSTS, CLIENT_ID, startSidecar, tlsClient, waitFor, type RunningSidecar } from './sidecar-support.ts';

describe('sidecar: inbound HTTP/2', () => {
  let s: RunningSidecar;
  let c: ClientHttp2Session;
  before(async () => {
    s = await startSidecar();
    c = h2Session(s);
  });
  after(async () => {
    c.close();
    await s.stop();
  });

  it('offers h2 in ALPN and relays a GET with the sidecar headers (app sees HTTP/1.1, Host from :authority)', async () => {
    const before = s.app.requests.length;
    const a = await h2Request(c, { ':path': '/v1/items?x=1', 'x-forwarded-for': '6.6.6.6' });
    assert.equal(a.status, 200);
    assert.equal(a.body, 'hello from the app\n');
    assert.equal(a.headers['strict-transport-security'], HSTS);
    const id = String(a.headers['x-request-id']);
    const got = s.app.requests[before];
    assert.ok(got);
    assert.equal(got.url, '/v1/items?x=1');
    assert.equal(got.headers.host, 'payments');
    assert.equal(got.headers['x-acp-peer-id'], CLIENT_ID);
    assert.equal(got.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(got.headers['x-request-id'], id);
    const rec = await auditOf(s, id);
    assert.equal(rec['decision'], 'allow');
    assert.equal(rec['path'], '/v1/items');
  });

  it('relays the app response head: repeated fields each in their order, connection-specific ones dropped', async () => {
    const saved = s.app.handler;
    s.app.handler = (_req, res) => {
      res.writeHead(200, [
        'Content-Type',
        'text/plain',
        'Set-Cookie',
        'a=1',
        'X-App',
        'one',
        'Set-Cookie',
        'b=2',
        'Keep-Alive',
        'timeout=5',
      ]);
      res.end('ok');
    };
    try {
      const a = await h2Request(c, { ':path': '/head' });
      assert.equal(a.status, 200);
      assert.equal(a.body, 'ok');
      assert.deepEqual(a.headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(a.headers['x-app'], 'one');
      assert.equal(a.headers['content-type'], 'text/plain');
      assert.equal(a.headers['keep-alive'], undefined);
      assert.equal(a.headers['strict-transport-security'], HSTS);
    } finally {
      s.app.handler = saved;
    }
  });

  it('relays a body with Content-Length and a streamed body without one', async () => {
    const before = s.app.requests.length;
    const a = await h2Request(c, { ':path': '/up', ':method': 'POST', 'content-length': '5' }, 'hello');
    assert.equal(a.status, 200);
    const b = await h2Request(c, { ':path': '/up', ':method': 'POST' }, 'streamed body');
    assert.equal(b.status, 200);
    assert.deepEqual(
      s.app.requests.slice(before).map((r) => r.body.toString()),
      ['hello', 'streamed body'],
    );
  });

  it('refuses a body over maxRequestBytes (413) with and without Content-Length; the app gets no whole body', async () => {
    const before = s.app.requests.length;
    const big = 'x'.repeat(5000);
    const a = await h2Request(c, { ':path': '/up', ':method': 'POST', 'content-length': '5000' }, big);
    assert.equal(a.status, 413);
    assert.equal(JSON.parse(a.body).error, 'ACP_ERR_BODY_TOO_LARGE');
    const b = await h2Request(c, { ':path': '/up', ':method': 'POST' }, big);
    assert.ok(b.status === 413 || b.rst !== undefined, `413 or reset, got ${JSON.stringify(b)}`);
    if (b.status === 413) assert.equal(JSON.parse(b.body).error, 'ACP_ERR_BODY_TOO_LARGE');
    assert.equal(s.app.requests.length, before, 'no body reached the app whole');
  });

  it('runs the same layers: a non-canonical path is a 400 with its code and an audit record', async () => {
    const a = await h2Request(c, { ':path': '/a/%2e%2e/admin' });
    assert.equal(a.status, 400);
    const body = JSON.parse(a.body) as { error: string; requestId: string };
    assert.equal(body.error, 'ACP_ERR_PATH_NOT_CANONICAL');
    const rec = await auditOf(s, body.requestId);
    assert.equal(rec['reason'], 'ACP_ERR_PATH_NOT_CANONICAL');
    assert.equal(rec['decision'], 'deny');
  });

  it('refuses :authority and host that differ (400 ACP_ERR_HOST_INVALID), and a token in the query', async () => {
    const a = await h2Request(c, { ':path': '/x', host: 'admin.internal' });
    assert.equal(a.status, 400);
    assert.equal(JSON.parse(a.body).error, 'ACP_ERR_HOST_INVALID');
    const b = await h2Request(c, { ':path': '/x?access_token=abc' });
    assert.equal(b.status, 400);
    assert.equal(JSON.parse(b.body).error, 'ACP_ERR_TOKEN_IN_QUERY');
  });

  it('curl --http2 negotiates h2 and gets the app answer', async () => {
    const out = await new Promise<string>((done) => {
      const p = spawn('curl', [
        '-sS',
        '-i',
        '--http2',
        '--max-time',
        '20',
        '--cacert',
        s.pki.ca.certPath,
        '--cert',
        s.pki.client.certPath,
        '--key',
        s.pki.client.keyPath,
        '--resolve',
        `payments:${s.ports.inbound}:127.0.0.1`,
        `https://payments:${s.ports.inbound}/curl`,
      ]);
      let o = '';
      p.stdout.on('data', (d: Buffer) => (o += d.toString()));
      p.on('close', () => done(o));
    });
    assert.match(out, /^HTTP\/2 200/);
    assert.match(out, /hello from the app/);
  });

  describe('HTTP/2 message rules (raw frames): the stream is reset, the app gets no request', () => {
    const cases: [string, [string, string][], string | undefined][] = [
      ['a connection-specific field (connection)', [['connection', 'keep-alive']], undefined],
      ['transfer-encoding', [['transfer-encoding', 'chunked']], undefined],
      ['te other than trailers', [['te', 'gzip']], undefined],
      ['an upper-case field name', [['X-Upper', '1']], undefined],
      [
        'a pseudo-header after a regular field',
        [
          ['x-a', '1'],
          [':foo', 'bar'],
        ],
        undefined,
      ],
      ['Content-Length larger than the DATA sent', [['content-length', '10']], 'short'],
      ['Content-Length smaller than the DATA sent', [['content-length', '2']], 'longer'],
    ];
    for (const [name, extra, body] of cases) {
      it(`refuses ${name}`, async () => {
        const appRequests = s.app.requests.length;
        const h = await rawH2(tlsClient(s, { ALPNProtocols: ['h2'] }));
        h.send(headers(1, requestFields('/rule', extra, body ? 'POST' : 'GET'), body === undefined));
        if (body) h.send(data(1, body, true));
        await waitFor('the reset', () =>
          h.reader.reset(1) !== undefined || h.reader.goaway() !== undefined ? true : undefined,
        );
        assert.equal(h.reader.status(1), undefined, 'no response head');
        // nghttp2 resets the stream (PROTOCOL_ERROR); for DATA past the Content-Length it ends the
        // whole connection (GOAWAY, INTERNAL_ERROR as node:http2 reports the callback's refusal).
        const goaway = h.reader.goaway();
        assert.ok(
          h.reader.reset(1) === ERR.PROTOCOL_ERROR ||
            goaway === ERR.PROTOCOL_ERROR ||
            (body === 'longer' && goaway === ERR.INTERNAL_ERROR),
          `PROTOCOL_ERROR: ${JSON.stringify(h.reader.frames.map((f) => [f.type, f.payload.toString('hex')]))}`,
        );
        h.socket.destroy();
        assert.equal(s.app.requests.length, appRequests, 'the app received no complete request');
        assert.equal(s.proc.exitCode, null, 'the sidecar still runs');
      });
    }

    it('passes te: trailers and a lower-case request (control: a 200 HEADERS frame)', async () => {
      const h = await rawH2(tlsClient(s, { ALPNProtocols: ['h2'] }));
      h.send(headers(1, requestFields('/ok', [['te', 'trailers']])));
      await waitFor('the response', () => (h.reader.status(1) !== undefined ? true : undefined));
      assert.equal(h.reader.status(1), 200);
      assert.ok(h.reader.frames.some((f) => f.type === T.DATA && f.streamId === 1));
      h.socket.destroy();
    });
  });
});

describe('sidecar: HTTP/2 switched off by the policy (http.http2: false)', () => {
  it('offers only http/1.1, refuses an h2-only client in the handshake, and offers h2 again after a reload', async () => {
    const s = await startSidecar((c) => {
      c.http = { allowMatrixParameters: false, http2: false };
    });
    try {
      const alpn = (protocols: string[]): Promise<string | false | null | Error> =>
        new Promise((done) => {
          const sock = tlsClient(s, { ALPNProtocols: protocols });
          sock.once('secureConnect', () => {
            done(sock.alpnProtocol);
            sock.destroy();
          });
          sock.once('error', (e) => done(e));
        });
      assert.equal(await alpn(['h2', 'http/1.1']), 'http/1.1');
      assert.ok((await alpn(['h2'])) instanceof Error, 'an h2-only client is refused');
      s.writeConfig((c) => {
        c.http = { allowMatrixParameters: false, http2: true };
      });
      await waitFor('h2 offered again', async () =>
        (await alpn(['h2', 'http/1.1'])) === 'h2' ? true : undefined,
      );
    } finally {
      await s.stop();
    }
  });
});
