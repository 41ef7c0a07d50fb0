import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseParser, type ResponseSink } from './response-parser.ts';

interface Seen {
  status: number | undefined;
  headers: string[];
  contentLength: number | undefined;
  body: string;
  ends: boolean[];
}

function recorder(): { sink: ResponseSink; seen: Seen } {
  const seen: Seen = { status: undefined, headers: [], contentLength: undefined, body: '', ends: [] };
  const sink: ResponseSink = {
    onHead(status, headers, contentLength) {
      seen.status = status;
      seen.headers = headers;
      seen.contentLength = contentLength;
    },
    onBody(chunk) {
      seen.body += chunk.toString('latin1');
    },
    onEnd(keepAlive) {
      seen.ends.push(keepAlive);
    },
  };
  return { sink, seen };
}

/** Feeds `text` in pieces of `size` bytes (0: all at once); returns what the sink saw and the bytes left over. */
function parse(text: string, size = 0, method = 'GET', eof = false): Seen & { left: number } {
  const { sink, seen } = recorder();
  const p = new ResponseParser(sink, 1024);
  p.expect(method);
  const bytes = Buffer.from(text, 'latin1');
  let left = 0;
  for (let i = 0; i < bytes.length; i += size || bytes.length) {
    const piece = bytes.subarray(i, size ? i + size : bytes.length);
    if (!p.idle) left += piece.length - p.push(piece);
    else left += piece.length;
  }
  if (eof) p.end();
  return { ...seen, left };
}

const ok: [string, string, Partial<Seen & { left: number }>, { method?: string; eof?: boolean }?][] = [
  [
    'reads a Content-Length body and keeps the connection',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello',
    {
      status: 200,
      body: 'hello',
      ends: [true],
      contentLength: 5,
      headers: ['content-length', '5', 'x-a', 'b'],
    },
  ],
  [
    'decodes a chunked body and drops its trailers',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
    { body: 'hello world', ends: [true], contentLength: undefined },
  ],
  [
    'reads a body to the end of the connection when there is no framing, and does not reuse it',
    'HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil close',
    { body: 'until close', ends: [false] },
    { eof: true },
  ],
  ['expects no body after a 204', 'HTTP/1.1 204 No Content\r\n\r\n', { status: 204, body: '', ends: [true] }],
  [
    'expects no body after a 304, whatever its Content-Length says',
    'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
    { status: 304, body: '', ends: [true] },
  ],
  [
    'expects no body for a HEAD request',
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n',
    { body: '', ends: [true], contentLength: 10 },
    { method: 'HEAD' },
  ],
  [
    'skips interim 1xx responses',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
    { status: 201, ends: [true] },
  ],
  [
    'does not reuse a connection the app closes',
    'HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\nx',
    { ends: [false] },
  ],
  [
    'does not reuse an HTTP/1.0 connection',
    'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx',
    { ends: [false] },
  ],
  [
    'does not reuse the connection after a HEAD response that gives no length (as llhttp)',
    'HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n',
    { body: '', ends: [false] },
    { method: 'HEAD' },
  ],
  [
    'reads chunk extensions with a token or a quoted value',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a;b=c;d="e f"\r\nab\r\n0\r\n\r\n',
    { body: 'ab', ends: [true] },
  ],
  [
    'accepts a status line without a reason and trims header whitespace',
    'HTTP/1.1 200\r\nX-A: \t b c \t\r\nContent-Length: 0\r\n\r\n',
    { status: 200, headers: ['x-a', 'b c', 'content-length', '0'] },
  ],
  [
    'stops at the end of the message and leaves unsolicited bytes alone',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA',
    { body: 'x', ends: [true], left: 5 },
  ],
  [
    'keeps latin-1 bytes of header values as they are',
    'HTTP/1.1 200 OK\r\nX-A: caf\xe9\r\nContent-Length: 0\r\n\r\n',
    { headers: ['x-a', 'caf\xe9', 'content-length', '0'] },
  ],
];

const bad: [string, string, { method?: string; eof?: boolean }?][] = [
  ['refuses a bad status line', 'HTTP/2 200 OK\r\n\r\n'],
  ['refuses a status line with a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n'],
  ['refuses obsolete line folding', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n'],
  ['refuses a header without a colon', 'HTTP/1.1 200 OK\r\nX-A\r\n\r\n'],
  ['refuses a space before the colon', 'HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n'],
  ['refuses a control byte in a header value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n'],
  ['refuses a bare LF inside a header value', 'HTTP/1.1 200 OK\r\nX-A: a\nB: c\r\n\r\n'],
  [
    'refuses Content-Length together with Transfer-Encoding',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
  ],
  [
    'refuses conflicting Content-Length values',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n',
  ],
  ['refuses a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n'],
  // Found by the differential fuzzing against llhttp (testing/http-diff.ts): llhttp refuses these, or
  // reads them another way.
  ['refuses a list of equal Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab'],
  [
    'refuses a second Content-Length header of the same value',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab',
  ],
  [
    'refuses whitespace after a chunk size',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nab\r\n0\r\n\r\n',
  ],
  [
    'refuses whitespace around a chunk extension',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2; a=b\r\nab\r\n0\r\n\r\n',
  ],
  [
    'refuses a chunk extension name that is not a token',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;\xff\r\nab\r\n0\r\n\r\n',
  ],
  [
    'refuses Transfer-Encoding: chunked followed by a tab (llhttp would read to the close)',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t \r\n\r\n2\r\nab\r\n0\r\n\r\n',
  ],
  [
    'refuses a trailer whose name is not a token',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA"B: 1\r\n\r\n',
  ],
  [
    'refuses an interim response that closes the connection before the final one',
    'HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
  ],
  [
    'refuses an HTTP/1.0 interim response (it ends the connection too)',
    'HTTP/1.0 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
  ],
  [
    'refuses a malformed Content-Length in an interim response',
    'HTTP/1.1 100 Continue\r\nContent-Length: 0\xa0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
  ],
  [
    'refuses a transfer coding other than chunked',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
  ],
  [
    'refuses chunked applied twice',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
  ],
  ['refuses a 101 it never asked for', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
  ['refuses a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
  [
    'refuses a chunk size with a bare LF',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n',
  ],
  [
    'refuses chunk data longer than its size',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
  ],
  ['refuses a head larger than the limit', `HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(2000)}\r\n\r\n`],
  [
    'refuses a connection closed mid-body',
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort',
    { eof: true },
  ],
  ['refuses a connection closed mid-head', 'HTTP/1.1 200 OK\r\nContent-Le', { eof: true }],
  [
    'refuses a connection closed before the last chunk',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    { eof: true },
  ],
  ['refuses a connection closed before any byte', '', { eof: true }],
];

describe('ResponseParser', () => {
  for (const [name, text, want, o] of ok) {
    for (const size of [0, 1, 7]) {
      it(`${name} (${size ? `${size}-byte pieces` : 'one piece'})`, () => {
        const got = parse(text, size, o?.method, o?.eof);
        for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof typeof got], v, k);
      });
    }
  }
  for (const [name, text, o] of bad) {
    for (const size of [0, 1]) {
      it(`${name} (${size ? 'byte by byte' : 'one piece'})`, () => {
        assert.throws(
          () => parse(text, size, o?.method, o?.eof),
          (e: unknown) => (e as { code?: string }).code === 'ACP_ERR_UPSTREAM_PROTOCOL',
        );
      });
    }
  }
  it('parses the next response after being armed again on the same connection', () => {
    const { sink, seen } = recorder();
    const p = new ResponseParser(sink, 1024);
    for (const body of ['one', 'two']) {
      p.expect('GET');
      const used = p.push(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n${body}`));
      assert.equal(used, 41);
      assert.ok(p.idle);
    }
    assert.equal(seen.body, 'onetwo');
    assert.deepEqual(seen.ends, [true, true]);
  });
});
