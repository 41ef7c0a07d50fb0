// Differential fuzzing of the hand-written HTTP/1.1 parsers (the fast
// path's request-head check, the upstream response parser) against llhttp,
// a seeded, bounded slice of test/bench/fuzz/http-diff.ts; and a check that
// the llhttp driver (testing/llhttp.ts) gives the verdicts of a real
// node:http server and client on loopback, so the reference is node:http's.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, get, type IncomingMessage } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fuzz, MAX_HEAD_BYTES, type FuzzStats } from '../testing/http-diff.ts';
import { llhttpParse } from '../testing/llhttp.ts';

const SEED = 20261205;

function report(stats: FuzzStats): string {
  return stats.disagreements.map((d) => `case ${d.index}: ${d.why}\n  ${JSON.stringify(d.c)}`).join('\n');
}

describe('differential fuzzing against llhttp (seeded, bounded)', () => {
  it('never lets the fast path serve a request head llhttp refuses or reads differently', () => {
    const stats = fuzz('request', { seed: SEED, count: 20_000 });
    assert.deepEqual(stats.disagreements, [], `seed ${SEED}:\n${report(stats)}`);
    assert.ok(stats.oursAccepted > 500, `only ${stats.oursAccepted} heads compared field by field`);
    assert.ok(stats.onlyLlhttp > 500, 'the generator also makes heads only llhttp accepts');
  });
  it('never lets the response parser complete a response llhttp refuses or frames differently', () => {
    const stats = fuzz('response', { seed: SEED, count: 8_000 });
    assert.deepEqual(stats.disagreements, [], `seed ${SEED}:\n${report(stats)}`);
    assert.ok(stats.oursAccepted > 500, `only ${stats.oursAccepted} responses compared field by field`);
  });
});

const REQUESTS = [
  'GET /a?b=c HTTP/1.1\r\nHost: payments\r\nX-A:  1 \t\r\n\r\n',
  'DELETE /x HTTP/1.1\r\nHost: p\r\nConnection: keep-alive\r\n\r\n',
  'GET /a"b{}|^` HTTP/1.1\r\nHost: p\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: p\r\nX: a\x7fb\r\n\r\n',
  'GET / HTTP/1.1\r\nHost : p\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: p\r\nX: 1\r\n 2\r\n\r\n',
  'GET /\x01 HTTP/1.1\r\nHost: p\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: p\nX: 1\r\n\r\n',
  'GET  / HTTP/1.1\r\nHost: p\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: p\r\nX\x00: 1\r\n\r\n',
];

/** node:http's server on `bytes`: the request it read, or null when it answered with an error. */
async function serverReads(
  bytes: string,
): Promise<{ method: string; url: string; rawHeaders: string[] } | null> {
  let seen: IncomingMessage | null = null;
  const server = createHttpServer({ maxHeaderSize: MAX_HEAD_BYTES }, (req, res) => {
    seen = req;
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.end(Buffer.from(bytes, 'latin1'));
  socket.resume();
  await once(socket, 'close');
  server.close();
  const req = seen as IncomingMessage | null;
  return req ? { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders } : null;
}

const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nX: 1\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx',
  'HTTP/1.1 200 OK\r\nX: 1\r\n\r\nuntil the close',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA"B: 1\r\n\r\n',
];

/** node:http's client on `bytes` (then the close): status and body, or null when it fails. */
async function clientReads(bytes: string): Promise<{ status: number; body: string } | null> {
  const server = createTcpServer((socket) => {
    socket.once('data', () => socket.end(Buffer.from(bytes, 'latin1')));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await new Promise((done) => {
      const req = get(
        { port: (server.address() as AddressInfo).port, host: '127.0.0.1', agent: false },
        (res) => {
          let body = '';
          res.setEncoding('latin1');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => done({ status: res.statusCode ?? 0, body }));
          res.on('error', () => done(null));
        },
      );
      req.on('error', () => done(null));
    });
  } finally {
    server.close();
  }
}

describe('the llhttp driver gives node:http verdicts (real server and client on loopback)', () => {
  for (const bytes of REQUESTS) {
    it(`reads ${JSON.stringify(bytes)} as node:http's server does`, async () => {
      const real = await serverReads(bytes);
      const ref = llhttpParse('request', Buffer.from(bytes, 'latin1'), { maxHeaderSize: MAX_HEAD_BYTES });
      const first = ref.messages[0];
      const driver =
        ref.error === null && first?.complete
          ? { method: first.method ?? '', url: first.url, rawHeaders: first.rawHeaders }
          : null;
      assert.deepEqual(driver, real);
    });
  }
  for (const bytes of RESPONSES) {
    it(`reads ${JSON.stringify(bytes)} as node:http's client does`, async () => {
      const real = await clientReads(bytes);
      const ref = llhttpParse('response', Buffer.from(bytes, 'latin1'), {
        maxHeaderSize: MAX_HEAD_BYTES,
        eof: true,
      });
      const last = ref.messages.at(-1);
      const driver =
        ref.error === null && last?.complete
          ? { status: last.status, body: last.body.toString('latin1') }
          : null;
      assert.deepEqual(driver, real);
    });
  }
});
