import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { scanRequestHeaders } from './request-headers.ts';

/** Sends raw header lines through Node's real parser; returns the server's view of them. */
function parsed(lines: [string, string][]): Promise<IncomingMessage> {
  return new Promise((done) => {
    const server = createServer((req, res) => {
      res.end();
      server.close();
      server.closeAllConnections();
      done(req);
    });
    server.listen(0, '127.0.0.1', () => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.end(`GET / HTTP/1.1\r\nHost: x\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    });
  });
}

describe('scanRequestHeaders', () => {
  it("reads what req.headers would say, with Node's rules for repeated fields", async () => {
    const req = await parsed([
      ['Authorization', 'Bearer first'],
      ['authorization', 'Bearer second'],
      ['X-Audit', 'a'],
      ['x-audit', 'b'],
      ['User-Agent', 'ua1'],
      ['user-agent', 'ua2'],
      ['X-Request-ID', 'trace-12345678'],
    ]);
    const h = scanRequestHeaders(req.rawHeaders, new Set(['x-audit', 'user-agent', 'x-missing']));
    assert.equal(h.authorization, req.headers.authorization);
    assert.equal(h.requestId, req.headers['x-request-id']);
    assert.equal(h.hasHost, req.headers.host !== undefined);
    assert.deepEqual(h.audit, [
      ['x-audit', req.headers['x-audit']],
      ['user-agent', req.headers['user-agent']],
    ]);
  });
  it('treats a repeated X-Request-ID as absent', () => {
    const h = scanRequestHeaders(
      ['X-Request-ID', 'trace-12345678', 'x-request-id', 'trace-87654321'],
      new Set(),
    );
    assert.equal(h.requestId, undefined);
  });
  it('reports body framing headers and no audit list when none is configured', () => {
    const h = scanRequestHeaders(['Content-Length', '10', 'Transfer-Encoding', 'chunked'], new Set());
    assert.equal(h.contentLength, '10');
    assert.equal(h.transferEncoding, 'chunked');
    assert.equal(h.audit, undefined);
    assert.equal(h.hasHost, false);
  });
});
