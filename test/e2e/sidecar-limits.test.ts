// End-to-end: the running sidecar's limits and timeouts, and that every
// answer it gives is its own, driven with raw bytes over mTLS against a
// counting app, on both request paths (the fast path and node:http: a
// body, Connection: close, a connection node:http already serves, and a
// sidecar started with --no-http-fast-path): request targets over
// maxUrlBytes (414), bodies trickled past the request timeout (408, the
// app's connection reset), the headers timeout counted from the accept,
// transfer codings other than chunked, pipelining after Connection: close,
// and every malformed or refused request answered with HSTS, X-Request-ID,
// a JSON ACP_ERR_* body and exactly one audit record.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HSTS, startSidecar, tlsClient, waitFor, type RunningSidecar } from './sidecar-support.ts';

interface Exchange {
  raw: string;
  /** The status of each response, in order. */
  statuses: number[];
}

/** Sends `steps` (text, or a pause in ms) over one mTLS connection and reads until the sidecar closes it. */
function exchange(s: RunningSidecar, steps: (string | number)[]): Promise<Exchange> {
  return new Promise((done, fail) => {
    const sock = tlsClient(s);
    let raw = '';
    const finish = (): void =>
      done({ raw, statuses: [...raw.matchAll(/(?:^|\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])) });
    sock.on('secureConnect', () => {
      void (async () => {
        for (const step of steps) {
          if (sock.destroyed) return;
          if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
          else sock.write(step);
        }
      })();
    });
    sock.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    sock.on('close', finish);
    sock.on('error', (e: Error) => (raw ? undefined : fail(e)));
    sock.setTimeout(30_000, () => sock.destroy());
  });
}

function headersOf(raw: string): Record<string, string> {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  const h: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) h[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
  }
  return h;
}

/**
 * The one answer of `x` is the sidecar's own: the status, HSTS, X-Request-ID
 * equal to the JSON body's requestId, the code, and exactly one audit record
 * with that request id; returns the record.
 */
async function assertOwnAnswer(
  s: RunningSidecar,
  x: Exchange,
  statuses: number[],
  code?: string,
): Promise<Record<string, unknown>> {
  assert.equal(x.statuses.length, 1, `exactly one response:\n${x.raw}`);
  assert.ok(
    statuses.includes(x.statuses[0] ?? 0),
    `status ${x.statuses[0]} in ${statuses.join(',')}:\n${x.raw}`,
  );
  const h = headersOf(x.raw);
  assert.equal(h['strict-transport-security'], HSTS);
  const body = JSON.parse(x.raw.slice(x.raw.indexOf('\r\n\r\n') + 4)) as { error: string; requestId: string };
  assert.match(body.error, /^ACP_ERR_[A-Z_]+$/);
  if (code) assert.equal(body.error, code);
  assert.equal(h['x-request-id'], body.requestId);
  const records = await waitFor('the audit record of the answer', () => {
    const r = s.auditRecords().filter((a) => a['requestId'] === body.requestId);
    return r.length > 0 ? r : undefined;
  });
  // One more flush interval: a second record for the same answer would show up by then.
  await new Promise((r) => setTimeout(r, 1200));
  const all = s.auditRecords().filter((a) => a['requestId'] === body.requestId);
  assert.equal(all.length, 1, JSON.stringify(all));
  assert.equal(records[0]?.['reason'], body.error);
  assert.equal(records[0]?.['status'], x.statuses[0]);
  return records[0] ?? {};
}

/** Records every reset the app's side of its connections sees (ECONNRESET: the sidecar aborted). */
function watchResets(s: RunningSidecar): { resets: () => number } {
  let resets = 0;
  s.app.server.on('connection', (sock: Socket) =>
    sock.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'ECONNRESET') resets++;
    }),
  );
  return { resets: () => resets };
}

const LONG = (n: number): string => `/${'a'.repeat(n - 1)}`;

for (const mode of ['fast path', 'node:http only'] as const) {
  describe(`sidecar e2e: limits and timeouts (${mode})`, () => {
    let s: RunningSidecar;
    let resets: () => number;
    before(async () => {
      s = await startSidecar(
        (c) => {
          c.limits.maxUrlBytes = 1024;
          c.limits.maxHeaderBytes = 4096;
          c.limits.maxRequestBytes = 65536;
          c.limits.headersTimeoutMs = 1000;
          c.limits.requestTimeoutMs = 3000;
        },
        { args: mode === 'fast path' ? [] : ['--no-http-fast-path'] },
      );
      resets = watchResets(s).resets;
      s.app.handler = (req, res, body) => res.end(`${req.method} ${req.url} ${body.length}\n`);
    });
    after(async () => {
      await s.stop();
    });

    it('forwards a request target of exactly maxUrlBytes', async () => {
      const x = await exchange(s, [
        `GET ${LONG(1024)} HTTP/1.1\r\nHost: payments\r\nConnection: close\r\n\r\n`,
      ]);
      assert.deepEqual(x.statuses, [200]);
    });

    const longTargets: [string, (string | number)[]][] = [
      ['a GET one byte over the limit', [`GET ${LONG(1025)} HTTP/1.1\r\nHost: payments\r\n\r\n`]],
      ['a target longer than maxHeaderBytes', [`GET ${LONG(20_000)} HTTP/1.1\r\nHost: payments\r\n\r\n`]],
      ['a request line that never ends', [`GET ${LONG(100_000)}`]],
      [
        'a POST with a body',
        [`POST ${LONG(2000)} HTTP/1.1\r\nHost: payments\r\nContent-Length: 5\r\n\r\nhello`],
      ],
      [
        'a target over the limit after a request node:http served on the same connection',
        [
          'POST /first HTTP/1.1\r\nHost: payments\r\nContent-Length: 2\r\n\r\nhi',
          300,
          `GET ${LONG(3000)} HTTP/1.1\r\nHost: payments\r\n\r\n`,
        ],
      ],
      [
        'a target longer than maxHeaderBytes (under maxHeaderBytes + maxUrlBytes) after a request node:http served',
        [
          'POST /first HTTP/1.1\r\nHost: payments\r\nContent-Length: 2\r\n\r\nhi',
          300,
          `GET ${LONG(5000)} HTTP/1.1\r\nHost: payments\r\n\r\n`,
        ],
      ],
    ];
    for (const [name, steps] of longTargets) {
      it(`refuses ${name} with 414, and the app receives none of it`, async () => {
        const before = s.app.requests.length;
        const x = await exchange(s, steps);
        const answers = x.statuses.filter((st) => st !== 200);
        assert.deepEqual(answers, [414], x.raw);
        const last = x.raw.slice(x.raw.lastIndexOf('HTTP/1.1 '));
        await assertOwnAnswer(s, { raw: last, statuses: [414] }, [414], 'ACP_ERR_URL_TOO_LONG');
        assert.ok(
          s.app.requests.slice(before).every((r) => r.url === '/first'),
          'the long target never reached the app',
        );
      });
    }

    it('answers 408 to a Content-Length body trickled past the request timeout, and resets the app', async () => {
      const before = s.app.requests.length;
      const resetsBefore = resets();
      const trickle = Array.from({ length: 60 }, (_, i) => [i === 0 ? '' : 'x', 100]).flat();
      const x = await exchange(s, [
        'POST /trickle HTTP/1.1\r\nHost: payments\r\nContent-Length: 1000\r\n\r\n',
        ...trickle,
      ]);
      const record = await assertOwnAnswer(s, x, [408], 'ACP_ERR_REQUEST_TIMEOUT');
      assert.equal(record['path'], '/trickle', 'answered as the request it concerns');
      await waitFor('the app to see its connection reset', () =>
        resets() > resetsBefore ? true : undefined,
      );
      assert.equal(
        s.app.requests.slice(before).filter((r) => r.url === '/trickle').length,
        0,
        'the app never took the cut body for a whole request',
      );
    });

    it('answers 408 to a chunked body trickled past the request timeout, and the app receives zero bytes', async () => {
      const bytes = s.app.bytes();
      const trickle = Array.from({ length: 60 }, () => ['1\r\nx\r\n', 100]).flat();
      const x = await exchange(s, [
        'POST /trickle-chunked HTTP/1.1\r\nHost: payments\r\nTransfer-Encoding: chunked\r\n\r\n',
        ...trickle,
      ]);
      await assertOwnAnswer(s, x, [408], 'ACP_ERR_REQUEST_TIMEOUT');
      assert.equal(s.app.bytes(), bytes);
    });

    it('counts the headers timeout from the accept: a head sent complete after it is late gets 408', async () => {
      const bytes = s.app.bytes();
      const x = await exchange(s, [1600, 'GET /late HTTP/1.1\r\nHost: payments\r\n\r\n']);
      await assertOwnAnswer(s, x, [408], 'ACP_ERR_REQUEST_TIMEOUT');
      assert.equal(s.app.bytes(), bytes);
    });

    it('answers 408 to a request line trickled on a kept-alive connection', async () => {
      const line = 'GET /slow-line-that-never-ends-'.split('');
      const x = await exchange(s, [
        'GET /first HTTP/1.1\r\nHost: payments\r\n\r\n',
        300,
        ...line.flatMap((ch) => [ch, 150]),
        ...Array.from({ length: 40 }, () => ['a', 150]).flat(),
      ]);
      assert.equal(x.statuses[0], 200);
      const last = x.raw.slice(x.raw.lastIndexOf('HTTP/1.1 '));
      await assertOwnAnswer(s, { raw: last, statuses: [x.statuses.at(-1) ?? 0] }, [408]);
    });

    const codings: [string, string][] = [
      ['gzip, chunked', 'Transfer-Encoding: gzip, chunked'],
      ['chunked, gzip', 'Transfer-Encoding: chunked, gzip'],
      ['identity', 'Transfer-Encoding: identity'],
      ['xchunked', 'Transfer-Encoding: xchunked'],
      ['gzip alone', 'Transfer-Encoding: gzip'],
      ['chunked twice in one field', 'Transfer-Encoding: chunked, chunked'],
      ['chunked in two fields', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked'],
      ['gzip then chunked in two fields', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked'],
      ['an empty coding', 'Transfer-Encoding: '],
    ];
    for (const [name, field] of codings) {
      it(`refuses Transfer-Encoding ${name} with 400 or 501, and the app receives zero bytes`, async () => {
        const bytes = s.app.bytes();
        const x = await exchange(s, [
          `POST /te HTTP/1.1\r\nHost: payments\r\n${field}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
        ]);
        await assertOwnAnswer(s, x, [400, 501]);
        assert.equal(s.app.bytes(), bytes);
      });
    }

    const closers: [string, string][] = [
      ['Connection: close', 'GET /first HTTP/1.1\r\nHost: payments\r\nConnection: close\r\n\r\n'],
      ['Connection: CLOSE', 'GET /first HTTP/1.1\r\nHost: payments\r\nConnection: CLOSE\r\n\r\n'],
      [
        'Connection: close on a POST',
        'POST /first HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi',
      ],
      ['HTTP/1.0 without keep-alive', 'GET /first HTTP/1.0\r\n\r\n'],
    ];
    for (const [name, first] of closers) {
      it(`answers the first request after ${name} and never forwards the one pipelined behind it`, async () => {
        const before = s.app.requests.length;
        // One write: both requests in one TLS record.
        const x = await exchange(s, [`${first}GET /second HTTP/1.1\r\nHost: payments\r\n\r\n`]);
        assert.deepEqual(x.statuses, [200], x.raw);
        await waitFor('the first request at the app', () =>
          s.app.requests.length > before ? true : undefined,
        );
        assert.deepEqual(
          s.app.requests.slice(before).map((r) => r.url),
          ['/first'],
        );
      });
    }
  });
}

describe('sidecar e2e: every answer is the sidecar own', () => {
  let s: RunningSidecar;
  before(async () => {
    s = await startSidecar((c) => {
      c.limits.maxHeaderBytes = 2048;
      c.limits.headersTimeoutMs = 1000;
      c.limits.requestTimeoutMs = 3000;
    });
  });
  after(async () => {
    await s.stop();
  });

  const H = 'Host: payments\r\n';
  const malformed: [string, (string | number)[], number[]][] = [
    ['an HTTP/1.1 request without Host', ['GET /v1 HTTP/1.1\r\n\r\n'], [400]],
    ['an unknown method', [`FOO /v1 HTTP/1.1\r\n${H}\r\n`], [400, 501]],
    ['a lower-case method', [`get /v1 HTTP/1.1\r\n${H}\r\n`], [400, 501]],
    ['CONNECT', [`CONNECT payments:443 HTTP/1.1\r\nHost: payments:443\r\n\r\n`], [400, 405]],
    ['HTTP/2.0 in the request line', [`GET /v1 HTTP/2.0\r\n${H}\r\n`], [400, 505]],
    ['HTTP/3.0 in the request line', [`GET /v1 HTTP/3.0\r\n${H}\r\n`], [400, 505]],
    ['the HTTP/2 preface', ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'], [400, 505]],
    ['an unknown Expect', [`POST /v1 HTTP/1.1\r\n${H}Expect: teapot\r\nContent-Length: 3\r\n\r\nabc`], [417]],
    ['a space in a header name', [`GET /v1 HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`], [400]],
    ['a header line without a colon', [`GET /v1 HTTP/1.1\r\n${H}NoColon\r\n\r\n`], [400]],
    ['a NUL in a header value', [`GET /v1 HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`], [400]],
    ['an obs-fold header line', [`GET /v1 HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`], [400]],
    ['a bare LF', ['GET /v1 HTTP/1.1\nHost: payments\n\n'], [400]],
    ['headers over maxHeaderBytes', [`GET /v1 HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(3000)}\r\n\r\n`], [431]],
    [
      'many small headers over maxHeaderBytes',
      [`GET /v1 HTTP/1.1\r\n${H}${'X-A: aaaaaaaaaaaaaaaaaaaa\r\n'.repeat(200)}\r\n`],
      [431],
    ],
    ['a non-numeric Content-Length', [`POST /v1 HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n`], [400]],
    ['a negative Content-Length', [`POST /v1 HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`], [400]],
    [
      'Content-Length with Transfer-Encoding',
      [`POST /v1 HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
      [400],
    ],
    [
      'an invalid chunk size',
      [`POST /v1 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`],
      [400],
    ],
    ['garbage instead of a request', ['\x16\x03\x01garbage\r\n\r\n'], [400]],
    ['a head that never completes', [`GET /v1 HTTP/1.1\r\n${H}X-A: 1\r\n`, 3000], [408]],
    ['a connection that sends nothing', [3000], [408]],
  ];
  for (const [name, steps, statuses] of malformed) {
    it(`answers ${name} itself (HSTS, X-Request-ID, JSON code, one audit record), and the app receives zero bytes`, async () => {
      const bytes = s.app.bytes();
      const x = await exchange(s, steps);
      await assertOwnAnswer(s, x, statuses);
      assert.equal(s.app.bytes(), bytes);
    });
  }

  it('sends 100 Continue only once the request is admitted', async () => {
    const x = await exchange(s, [
      `POST /v1 HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n`,
      500,
      'abc',
    ]);
    assert.deepEqual(x.statuses, [100, 200], x.raw);
  });
});
