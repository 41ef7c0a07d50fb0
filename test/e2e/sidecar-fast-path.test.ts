// End-to-end: the inbound fast path (sidecar/src/server/fast-http.ts, on
// by default) on the running sidecar, driven over raw TLS: pipelined bodiless requests
// answered in order, the hand-over to node:http mid-connection (a body, a
// Connection: close, a head split across writes), HEAD, a streamed
// (chunked) app response, and the headers every response carries.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HSTS, rawTls, startSidecar, tlsClient, type RunningSidecar } from './sidecar-support.ts';

/** Splits raw HTTP/1.1 responses (Content-Length or chunked bodies) into heads and bodies. */
function responses(raw: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end > 0, `no response head in ${JSON.stringify(rest.slice(0, 200))}`);
    const head = rest.slice(0, end);
    rest = rest.slice(end + 4);
    const length = /\r\ncontent-length: (\d+)/i.exec(head);
    let body = '';
    if (length) {
      body = rest.slice(0, Number(length[1]));
      rest = rest.slice(Number(length[1]));
    } else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      for (;;) {
        const eol = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, eol), 16);
        rest = rest.slice(eol + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    }
    out.push({ head, body });
  }
  return out;
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: payments\r\n${extra}\r\n`;

describe('sidecar e2e: the inbound fast path', () => {
  let s: RunningSidecar;
  /** "METHOD url" of every request the app received. */
  const seen: string[] = [];
  before(async () => {
    s = await startSidecar();
    s.app.handler = (req, res, body) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first,');
        setTimeout(() => res.end('second'), 20);
        return;
      }
      const text = JSON.stringify({ url: req.url, method: req.method, length: body.length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
  });
  after(() => s.stop());

  it('answers pipelined bodiless requests in order, one response each', async () => {
    const raw = await rawTls(s, GET('/a') + GET('/b') + GET('/c') + GET('/d', 'Connection: close\r\n'));
    const rs = responses(raw);
    assert.deepEqual(
      rs.map((r) => JSON.parse(r.body).url),
      ['/a', '/b', '/c', '/d'],
    );
    for (const r of rs) assert.match(r.head, /^HTTP\/1\.1 200 OK\r\n/);
  });
  it('puts HSTS, X-Request-ID, Date, Content-Length and keep-alive on a fast-path response', async () => {
    const [first] = responses(await rawTls(s, GET('/a') + GET('/b', 'Connection: close\r\n')));
    const head = first?.head ?? '';
    assert.match(head, new RegExp(`\\r\\nstrict-transport-security: ${HSTS}\\r\\n`, 'i'));
    assert.match(head, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    assert.match(head, /\r\ndate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n/i);
    assert.match(head, /\r\ncontent-length: \d+\r\n/i);
    assert.match(head, /\r\nconnection: keep-alive\r\n/i);
  });
  it("gives the sidecar's own answer on the fast path a Date and HSTS, and closes after a 400", async () => {
    const raw = await rawTls(s, GET('/v1//admin') + GET('/never'));
    const rs = responses(raw);
    assert.equal(rs.length, 1, 'nothing is answered after the 400 closed the connection');
    assert.match(rs[0]?.head ?? '', /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(rs[0]?.head ?? '', /\r\nconnection: close(\r\n|$)/i);
    assert.match(rs[0]?.head ?? '', /\r\ndate: /i);
    assert.match(rs[0]?.head ?? '', new RegExp(`\\r\\nstrict-transport-security: ${HSTS}`, 'i'));
    assert.equal(JSON.parse(rs[0]?.body ?? '{}').error, 'ACP_ERR_PATH_NOT_CANONICAL');
  });
  it('hands the connection to node:http at a request with a body, and answers both', async () => {
    const post =
      'POST /upload HTTP/1.1\r\nHost: payments\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
    const rs = responses(await rawTls(s, GET('/before') + post));
    assert.deepEqual(
      rs.map((r) => JSON.parse(r.body)),
      [
        { url: '/before', method: 'GET', length: 0 },
        { url: '/upload', method: 'POST', length: 5 },
      ],
    );
  });
  it('leaves a smuggling attempt after a fast-path request to node:http, which answers it 400 and closes', async () => {
    const before = s.app.bytes();
    const smuggle =
      'POST /v1 HTTP/1.1\r\nHost: payments\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n';
    const raw = await rawTls(s, GET('/first') + smuggle);
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '400'], raw);
    assert.match(raw, /ACP_ERR_BAD_REQUEST/);
    assert.ok(s.app.bytes() > before, 'the first request reached the app');
    assert.ok(seen.includes('GET /first'));
    assert.ok(!seen.includes('POST /v1') && !seen.includes('GET /admin'), seen.join(', '));
  });
  it('answers a request whose head arrives in two writes (node:http reads the rest)', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = tlsClient(s);
      let got = '';
      sock.on('secureConnect', () => {
        sock.write('GET /split HTTP/1.1\r\nHo');
        void sleep(50).then(() => sock.write('st: payments\r\nConnection: close\r\n\r\n'));
      });
      sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    assert.equal(JSON.parse(responses(raw)[0]?.body ?? '{}').url, '/split');
  });
  it('answers HEAD with the head only, and the next response on the connection is intact', async () => {
    const raw = await rawTls(
      s,
      `HEAD /h HTTP/1.1\r\nHost: payments\r\n\r\n${GET('/g', 'Connection: close\r\n')}`,
    );
    const heads = raw.split('HTTP/1.1 200 OK');
    assert.equal(heads.length, 3, raw);
    const first = heads[1] ?? '';
    assert.ok(first.endsWith('\r\n\r\n'), 'no body bytes after the HEAD response head');
    const last = responses(`HTTP/1.1 200 OK${heads[2] ?? ''}`)[0];
    assert.equal(JSON.parse(last?.body ?? '{}').url, '/g');
  });
  it('relays a streamed app response through node:http (Connection: close) as a chunked one, whole', async () => {
    const rs = responses(await rawTls(s, GET('/stream', 'Connection: close\r\n')));
    assert.equal(rs[0]?.body, 'first,second');
  });
  it('closes a keep-alive connection idle for the keep-alive timeout (5 s), not before', async () => {
    const started = await new Promise<{ answeredMs: number; closedMs: number }>((resolve, reject) => {
      const sock = tlsClient(s);
      let answeredMs = 0;
      sock.on('secureConnect', () => sock.write(GET('/idle')));
      sock.on('data', () => (answeredMs ||= Date.now()));
      sock.on('close', () => resolve({ answeredMs, closedMs: Date.now() }));
      sock.on('error', reject);
    });
    assert.ok(started.answeredMs > 0, 'the request was answered');
    const idleMs = started.closedMs - started.answeredMs;
    assert.ok(idleMs >= 4500 && idleMs < 8000, `closed after ${idleMs} ms idle`);
  });
  it('relays a streamed app response on the fast path as a chunked one, whole', async () => {
    const rs = responses(await rawTls(s, GET('/stream') + GET('/end', 'Connection: close\r\n')));
    assert.match(rs[0]?.head ?? '', /\r\ntransfer-encoding: chunked\r\n/i);
    assert.equal(rs[0]?.body, 'first,second');
    assert.equal(JSON.parse(rs[1]?.body ?? '{}').url, '/end');
  });
});
