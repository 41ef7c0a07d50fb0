// End-to-end: requests the sidecar and the app could read two ways (issue
// 15: ambiguous credentials, path confusion, Host and Connection, tokens in
// non-canonical form), sent as RAW BYTES over mTLS to the running sidecar,
// once with the HTTP/1.1 fast path (default) and once with node:http alone
// (--no-http-fast-path). Each refusal: the status and ACP_ERR_* code in a
// JSON body, HSTS, X-Request-ID, exactly one audit record with that code,
// and the counting app receives zero bytes. Every request here carries what
// would make it pass without the check (valid tokens, public paths), so a
// test fails when the check is missing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createIdp, jwtConfig, type TestIdp } from '../../sidecar/src/testing/jwt.ts';
import { HSTS, startSidecar, tlsClient, waitFor, type RunningSidecar } from './sidecar-support.ts';

interface Reply {
  head: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Bytes that came after the first response (a second response would be a bug). */
  rest: string;
}

/** Sends raw bytes over mTLS and reads ONE response (Content-Length framed), then closes. */
function oneResponse(s: RunningSidecar, payload: string): Promise<Reply> {
  return new Promise((done, fail) => {
    const sock = tlsClient(s);
    let got = '';
    let settled = false;
    const finish = (): boolean => {
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const head = got.slice(0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? -1);
      if (length < 0 || got.length < end + 4 + length) return false;
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const c = line.indexOf(':');
        headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
      }
      settled = true;
      // Give a wrongly pipelined second response a moment to show up before closing.
      setTimeout(() => {
        sock.destroy();
        done({
          head,
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
          headers,
          body: got.slice(end + 4, end + 4 + length),
          rest: got.slice(end + 4 + length),
        });
      }, 50);
      return true;
    };
    sock.on('secureConnect', () => sock.write(payload, 'latin1'));
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!settled) finish();
    });
    sock.on('close', () => {
      if (!settled && !finish()) fail(new Error(`no complete response: ${JSON.stringify(got)}`));
    });
    sock.on('error', () => undefined);
    sock.setTimeout(15_000, () => sock.destroy());
  });
}

const req = (target: string, headers: string[], method = 'GET'): string =>
  `${method} ${target} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
const HOST = 'Host: payments';

interface Case {
  name: string;
  /** The raw request; `token` is a valid token (signed for this sidecar's IdP). */
  payload: (token: string, idp: TestIdp) => Promise<string> | string;
  status: number;
  code: string;
}

const cases: Case[] = [
  // 1. Ambiguous credentials.
  {
    name: 'two Authorization fields, both valid tokens',
    payload: (t) => req('/v1/data', [HOST, `Authorization: Bearer ${t}`, `Authorization: Bearer ${t}`]),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'two Authorization fields whose names differ in case',
    payload: (t) => req('/v1/data', [HOST, `Authorization: Bearer ${t}`, `authorization: Bearer ${t}`]),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'a valid header token and an unchecked one after it',
    payload: (t) =>
      req('/v1/data', [HOST, `Authorization: Bearer ${t}`, 'AUTHORIZATION: Bearer forged.token.x']),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'two schemes in one Authorization field',
    payload: (t) => req('/v1/data', [HOST, `Authorization: Bearer ${t}, Basic YWRtaW46YWRtaW4=`]),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'a comma list of bearer tokens',
    payload: (t) => req('/v1/data', [HOST, `Authorization: Bearer ${t},${t}`]),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'a header token and an access_token in the query',
    payload: (t) => req(`/v1/data?access_token=${t}`, [HOST, `Authorization: Bearer ${t}`]),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'access_token twice in the query',
    payload: (t) => req(`/public/info?access_token=${t}&access_token=${t}`, [HOST]),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'an access_token in the query alone, on a public path',
    payload: (t) => req(`/public/info?access_token=${t}`, [HOST]),
    status: 400,
    code: 'ACP_ERR_TOKEN_IN_QUERY',
  },
  {
    name: 'a percent-encoded, upper-case access_token after a ";" separator',
    payload: (t) => req(`/v1/data?a=1;ACCESS%5FTOKEN=${t}`, [HOST, `Authorization: Bearer ${t}`]),
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'X_Forwarded_Client_Cert, which CGI-style apps read as X-Forwarded-Client-Cert',
    payload: () =>
      req('/public/info', [HOST, 'X_Forwarded_Client_Cert: URI=spiffe://cluster.local/ns/x/sa/admin']),
    status: 400,
    code: 'ACP_ERR_HEADER_NAME_AMBIGUOUS',
  },
  {
    name: 'a header token and an access_token in a form-encoded body',
    payload: (t) => {
      const form = `note=hi&access_token=${t}`;
      return `${req('/v1/data', [HOST, `Authorization: Bearer ${t}`, 'Content-Type: application/x-www-form-urlencoded', `Content-Length: ${form.length}`], 'POST')}${form}`;
    },
    status: 400,
    code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
  },
  {
    name: 'an access_token in a chunked form-encoded body alone, on a public path',
    payload: (t) => {
      const form = `access_token=${t}`;
      return `${req('/public/info', [HOST, 'Content-Type: application/x-www-form-urlencoded; charset=utf-8', 'Transfer-Encoding: chunked'], 'POST')}${form.length.toString(16)}\r\n${form}\r\n0\r\n\r\n`;
    },
    status: 400,
    code: 'ACP_ERR_TOKEN_IN_BODY',
  },
  // 2. Path confusion.
  {
    name: 'a path parameter hiding a dot-dot (/public/..;/admin)',
    payload: () => req('/public/..;/admin', [HOST]),
    status: 400,
    code: 'ACP_ERR_PATH_NOT_CANONICAL',
  },
  {
    name: 'a path parameter on a public segment (/public;x/../admin)',
    payload: () => req('/public;x/../v1/data', [HOST]),
    status: 400,
    code: 'ACP_ERR_PATH_NOT_CANONICAL',
  },
  {
    name: 'an encoded semicolon (/public/..%3b/admin)',
    payload: () => req('/public/..%3b/admin', [HOST]),
    status: 400,
    code: 'ACP_ERR_PATH_NOT_CANONICAL',
  },
  {
    name: 'an overlong UTF-8 dot-dot (%c0%ae%c0%ae)',
    payload: () => req('/public/%c0%ae%c0%ae/admin', [HOST]),
    status: 400,
    code: 'ACP_ERR_PATH_NOT_CANONICAL',
  },
  {
    name: 'a fullwidth dot-dot (%ef%bc%8e%ef%bc%8e, "." after NFKC)',
    payload: () => req('/public/%ef%bc%8e%ef%bc%8e/admin', [HOST]),
    status: 400,
    code: 'ACP_ERR_PATH_NOT_CANONICAL',
  },
  {
    name: 'a double-encoded dot-dot (%252e%252e)',
    payload: () => req('/public/%252e%252e/admin', [HOST]),
    status: 400,
    code: 'ACP_ERR_PATH_NOT_CANONICAL',
  },
  // 3. Host and Connection.
  {
    name: 'two Host fields with the same value',
    payload: () => req('/public/info', [HOST, HOST]),
    status: 400,
    code: 'ACP_ERR_HOST_INVALID',
  },
  {
    name: 'two Host fields with different values',
    payload: () => req('/public/info', [HOST, 'host: admin.internal']),
    status: 400,
    code: 'ACP_ERR_HOST_INVALID',
  },
  {
    name: 'a Host holding a list',
    payload: () => req('/public/info', ['Host: payments, admin.internal']),
    status: 400,
    code: 'ACP_ERR_HOST_INVALID',
  },
  {
    name: 'Connection naming Host',
    payload: () => req('/public/info', [HOST, 'Connection: keep-alive, Host']),
    status: 400,
    code: 'ACP_ERR_HOP_BY_HOP_PROTECTED',
  },
  {
    name: 'Connection naming Authorization (a checked token removed before the app)',
    payload: (t) => req('/v1/data', [HOST, `Authorization: Bearer ${t}`, 'Connection: authorization']),
    status: 400,
    code: 'ACP_ERR_HOP_BY_HOP_PROTECTED',
  },
  {
    name: 'Connection naming Content-Length on a request with a body',
    payload: () =>
      `${req('/public/info', [HOST, 'Content-Length: 5', 'Connection: content-length'], 'POST')}hello`,
    status: 400,
    code: 'ACP_ERR_HOP_BY_HOP_PROTECTED',
  },
  {
    name: 'Connection naming Transfer-Encoding',
    payload: () =>
      `${req('/public/info', [HOST, 'Transfer-Encoding: chunked', 'Connection: Transfer-Encoding'], 'POST')}5\r\nhello\r\n0\r\n\r\n`,
    status: 400,
    code: 'ACP_ERR_HOP_BY_HOP_PROTECTED',
  },
  // 7. One token, one string.
  {
    name: 'a valid token with "==" appended to its signature',
    payload: (t) => req('/v1/data', [HOST, `Authorization: Bearer ${t}==`]),
    status: 401,
    code: 'ACP_ERR_JWT_NOT_CANONICAL',
  },
  {
    name: 'a valid token with a padded payload segment',
    payload: (t) => {
      const [h, p, sig] = t.split('.');
      return req('/v1/data', [HOST, `Authorization: Bearer ${h}.${p}=.${sig}`]);
    },
    status: 401,
    code: 'ACP_ERR_JWT_NOT_CANONICAL',
  },
  {
    name: 'a token in the standard base64 alphabet',
    payload: (t) =>
      req('/v1/data', [HOST, `Authorization: Bearer ${t.replace(/-/g, '+').replace(/_/g, '/')}x+/`]),
    status: 401,
    code: 'ACP_ERR_JWT_NOT_CANONICAL',
  },
  {
    name: 'a signed token with a b64 header parameter',
    payload: async (_t, idp) =>
      req('/v1/data', [HOST, `Authorization: Bearer ${await idp.sign({}, { header: { b64: false } })}`]),
    status: 401,
    code: 'ACP_ERR_JWT_HEADER_PARAM',
  },
  {
    name: 'a signed token with four segments',
    payload: (t) => req('/v1/data', [HOST, `Authorization: Bearer ${t}.${t.split('.')[2] ?? ''}`]),
    status: 401,
    code: 'ACP_ERR_JWT_MALFORMED',
  },
];

for (const mode of ['the fast path', 'node:http'] as const) {
  describe(`sidecar e2e: request confusion, served by ${mode}`, () => {
    let s: RunningSidecar;
    let idp: TestIdp;
    before(async () => {
      idp = await createIdp();
      s = await startSidecar((c) => (c.jwt = jwtConfig(idp.jwks)), {
        args: mode === 'node:http' ? ['--no-http-fast-path'] : [],
      });
      s.app.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
        res.end('ok\n');
      };
    });
    after(() => s.stop());

    it('forwards a form-encoded body without a token whole, with one valid header token', async () => {
      const form = 'note=hi&amount=5';
      const payload = `${req('/v1/data', [HOST, `Authorization: Bearer ${await idp.sign({})}`, 'Content-Type: application/x-www-form-urlencoded', `Content-Length: ${form.length}`], 'POST')}${form}`;
      const r = await oneResponse(s, payload);
      assert.equal(r.status, 200);
      assert.equal(s.app.requests.at(-1)?.body.toString(), form);
    });
    it('forwards a request with one valid token (the baseline every case below breaks)', async () => {
      const before = s.app.bytes();
      const r = await oneResponse(
        s,
        req('/v1/data?a=1', [HOST, `Authorization: Bearer ${await idp.sign({})}`]),
      );
      assert.equal(r.status, 200);
      assert.ok(s.app.bytes() > before);
    });
    it(`answers a refused bodiless GET on ${mode} itself`, async () => {
      // The sidecar's own response: the fast path writes a lower-case date header, node:http "Date".
      const r = await oneResponse(s, req('/public/..;/admin', [HOST]));
      assert.equal(r.status, 400);
      assert.match(r.head, mode === 'the fast path' ? /\r\ndate: / : /\r\nDate: /);
    });

    for (const c of cases) {
      it(`refuses ${c.name} with ${c.status} ${c.code}, one audit record, and the app receives zero bytes`, async () => {
        const before = s.app.bytes();
        const r = await oneResponse(s, await c.payload(await idp.sign({}), idp));
        assert.equal(r.status, c.status, r.head);
        const body = JSON.parse(r.body) as { error: string; requestId: string };
        assert.equal(body.error, c.code);
        assert.equal(r.headers['strict-transport-security'], HSTS);
        const id = r.headers['x-request-id'] ?? '';
        assert.match(id, /^[0-9a-f-]{36}$/);
        assert.equal(body.requestId, id);
        assert.equal(r.rest, '', 'exactly one response');
        const records = await waitFor('the audit record', () => {
          const found = s.auditRecords().filter((a) => a['requestId'] === id);
          return found.length > 0 ? found : undefined;
        });
        assert.equal(records.length, 1);
        assert.equal(records[0]?.['reason'], c.code);
        assert.equal(records[0]?.['decision'], 'deny');
        assert.equal(s.app.bytes(), before);
      });
    }
  });
}
