// End-to-end: gRPC through the running sidecar with a real gRPC client
// (@grpc/grpc-js over mTLS, ALPN h2) to a real gRPC app behind it (h2c,
// upstream.protocol h2c): unary, client, server and bidirectional
// streaming relayed with trailers and flow control, the peer identity
// and request id passed to the app as metadata, JWT path rules matching
// /package.Service/Method, and every refusal a gRPC error with the
// right grpc-status (16, 7, 8, 3, 14, 4) and the ACP code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createIdp, jwtConfig, type TestIdp } from '../../sidecar/src/testing/jwt.ts';
import {
  echoClient,
  readRepeat,
  startGrpcApp,
  unary,
  type EchoClient,
  type GrpcApp,
} from './grpc-support.ts';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import { h2Session } from './h2-client.ts';
import { CLIENT_ID, startSidecar, waitFor, type RunningSidecar } from './sidecar-support.ts';

describe('sidecar: gRPC (h2 in, h2c to the app)', () => {
  let app: GrpcApp;
  let idp: TestIdp;
  let s: RunningSidecar;
  let c: EchoClient;
  before(async () => {
    app = await startGrpcApp();
    idp = await createIdp();
    s = await startSidecar((cfg) => {
      cfg.upstream.port = app.port;
      cfg.upstream.protocol = 'h2c';
      cfg.limits.maxRequestBytes = 64 * 1024;
      cfg.jwt = jwtConfig(idp.jwks);
      cfg.jwt.rules = [
        { paths: ['/acp.test.Echo/Public'], methods: [], public: true, providers: [], requiredScopes: [] },
        {
          paths: ['/acp.test.Echo/Chat'],
          methods: [],
          public: false,
          providers: ['corp'],
          requiredScopes: ['chat'],
        },
      ];
    });
    c = echoClient(s.pki, s.ports.inbound);
  });
  after(async () => {
    c.close();
    await s.stop();
    await app.close();
  });
  const bearer = async (claims: Record<string, unknown> = {}): Promise<Record<string, string>> => ({
    authorization: `Bearer ${await idp.sign(claims)}`,
  });

  it('relays a unary call with trailers; the app sees the peer identity and request id as metadata', async () => {
    const r = await unary(c, 'Unary', 'hi', await bearer());
    assert.equal(r.error, undefined);
    assert.equal(r.value?.toString(), 'echo:hi');
    const call = app.calls.at(-1);
    assert.equal(call?.path, 'Unary');
    assert.equal(call?.metadata['x-acp-peer-id'], CLIENT_ID);
    assert.equal(call?.metadata['x-acp-jwt-sub'], 'alice');
    assert.match(String(call?.metadata['x-request-id']), /^[0-9a-f-]{36}$/);
    const rec = await waitFor('the audit record', () =>
      s.auditRecords().find((a) => a['requestId'] === call?.metadata['x-request-id']),
    );
    assert.equal(rec['path'], '/acp.test.Echo/Unary');
    assert.equal(rec['decision'], 'allow');
  });

  it('matches JWT path rules on /package.Service/Method: Public needs no token, Unary does (UNAUTHENTICATED)', async () => {
    const pub = await unary(c, 'Public', 'x');
    assert.equal(pub.value?.toString(), 'echo:x');
    const calls = app.calls.length;
    const r = await unary(c, 'Unary', 'x');
    assert.equal(r.error?.code, grpc.status.UNAUTHENTICATED);
    assert.match(r.error?.details ?? '', /ACP_ERR_JWT_MISSING/);
    assert.equal(r.error?.metadata.get('x-acp-error')[0], 'ACP_ERR_JWT_MISSING');
    assert.equal(app.calls.length, calls, 'the app saw no call');
  });

  it('refuses a missing scope as PERMISSION_DENIED (7) and a bad token as UNAUTHENTICATED (16)', async () => {
    const chat = c['Chat'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<Buffer, Buffer>;
    const md = new grpc.Metadata();
    md.set('authorization', (await bearer({ scope: 'other' }))['authorization'] ?? '');
    const err = await new Promise<grpc.ServiceError>((done) => {
      const call = chat.call(c, md);
      call.on('error', done);
      call.on('data', () => undefined);
      call.end();
    });
    assert.equal(err.code, grpc.status.PERMISSION_DENIED);
    const bad = await unary(c, 'Unary', 'x', { authorization: 'Bearer not.a.token' });
    assert.equal(bad.error?.code, grpc.status.UNAUTHENTICATED);
  });

  it('relays client streaming (Collect) and caps the stream at maxRequestBytes (RESOURCE_EXHAUSTED)', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', (await bearer())['authorization'] ?? '');
    const collect = (parts: number, size: number): Promise<{ v?: string; e?: grpc.ServiceError }> =>
      new Promise((done) => {
        const call = (c['Collect'] as (...a: unknown[]) => grpc.ClientWritableStream<Buffer>).call(
          c,
          md,
          (e: grpc.ServiceError | null, v?: Buffer) => done(e ? { e } : { v: v?.toString() ?? '' }),
        );
        for (let i = 0; i < parts; i++) call.write(Buffer.alloc(size, 120));
        call.end();
      });
    assert.deepEqual(await collect(10, 4000), { v: '10:40000' });
    const over = await collect(40, 4000); // 160,000 bytes of messages > 64 KiB
    assert.equal(over.e?.code, grpc.status.RESOURCE_EXHAUSTED, String(over.e?.details));
  });

  it('relays server streaming with flow control (4 MiB in 256 pieces, in order)', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', (await bearer())['authorization'] ?? '');
    const call = (c['Repeat'] as (...a: unknown[]) => grpc.ClientReadableStream<Buffer>).call(
      c,
      Buffer.from('256,16384'),
      md,
    );
    assert.deepEqual(await readRepeat(call), { n: 256, bytes: 256 * 16384, inOrder: true });
  });

  it(
    'relays bidirectional streaming message by message (each answer before the next message)',
    { timeout: 20_000 },
    async () => {
      const md = new grpc.Metadata();
      md.set('authorization', (await bearer({ scope: 'chat' }))['authorization'] ?? '');
      const call = (c['Chat'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<Buffer, Buffer>).call(c, md);
      const got: string[] = [];
      for (const m of ['one', 'two', 'three']) {
        const answer = new Promise<string>((done) => call.once('data', (b: Buffer) => done(b.toString())));
        call.write(Buffer.from(m));
        got.push(await answer);
      }
      call.end();
      await new Promise((done) => call.on('status', done));
      assert.deepEqual(got, ['re:one', 're:two', 're:three']);
    },
  );

  it('honours grpc-timeout itself: past the deadline the sidecar answers DEADLINE_EXCEEDED (4) and audits a 504', async () => {
    app.delayMs = 1500;
    const h2 = h2Session(s);
    try {
      // node:http2 as a gRPC client that does not enforce its own deadline: the answer is the sidecar's.
      const msg = Buffer.from('slow');
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
      const started = Date.now();
      const a = await grpcRaw(
        h2,
        '/acp.test.Echo/Unary',
        { 'grpc-timeout': '300m', ...(await bearer()) },
        frame,
      );
      assert.equal(a.grpcStatus, '4', JSON.stringify(a));
      assert.ok(Date.now() - started < 1400, 'answered before the app would have');
      const rec = await waitFor('the audit record of the deadline', () =>
        s.auditRecords().find((r) => r['reason'] === 'ACP_ERR_UPSTREAM_TIMEOUT'),
      );
      assert.equal(rec['status'], 504);
    } finally {
      h2.close();
      app.delayMs = 0;
    }
  });

  it('answers a malformed gRPC call (bad grpc-timeout) with INVALID_ARGUMENT (3), trailers-only', async () => {
    const h2 = h2Session(s);
    try {
      const a = await grpcRaw(h2, '/acp.test.Echo/Public', { 'grpc-timeout': 'soon' }, Buffer.alloc(5));
      assert.equal(a.grpcStatus, '3');
      assert.equal(a.status, 200);
      assert.equal(a.dataBytes, 0, 'trailers-only: no DATA');
      assert.equal(a.headers['x-acp-error'], 'ACP_ERR_BAD_REQUEST');
    } finally {
      h2.close();
    }
  });
});

/** A gRPC call with node:http2 (content-type application/grpc): status, grpc-status from headers or trailers. */
function grpcRaw(
  h2: ClientHttp2Session,
  path: string,
  extra: Record<string, string>,
  body: Buffer,
): Promise<{
  status: number;
  grpcStatus: string | undefined;
  headers: IncomingHttpHeaders;
  dataBytes: number;
}> {
  return new Promise((done) => {
    const r = h2.request({
      ':method': 'POST',
      ':path': path,
      ':authority': 'payments',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    let dataBytes = 0;
    r.on('response', (h) => (headers = h));
    r.on('trailers', (t) => (trailers = t));
    r.on('data', (d: Buffer) => (dataBytes += d.length));
    r.on('error', () => undefined);
    r.on('close', () =>
      done({
        status: Number(headers[':status'] ?? 0),
        grpcStatus: (headers['grpc-status'] ?? trailers['grpc-status']) as string | undefined,
        headers,
        dataBytes,
      }),
    );
    r.end(body);
  });
}

describe('sidecar: gRPC refusals outside the JWT layer', () => {
  it('refuses a caller outside allowedPeers (7), over the rate limit (8), an unreachable app (14)', async () => {
    const app = await startGrpcApp();
    const s = await startSidecar((cfg) => {
      cfg.upstream.port = app.port;
      cfg.upstream.protocol = 'h2c';
      cfg.limits.rateLimit = { requestsPerSecond: 1, burst: 2, by: 'Identity' };
    });
    const c = echoClient(s.pki, s.ports.inbound);
    try {
      const codes: (number | undefined)[] = [];
      for (let i = 0; i < 4; i++) codes.push((await unary(c, 'Unary', 'x')).error?.code);
      assert.deepEqual(codes.slice(0, 2), [undefined, undefined]);
      assert.equal(codes[3], grpc.status.RESOURCE_EXHAUSTED);
      s.writeConfig((cfg) => {
        cfg.limits.rateLimit = null;
        cfg.mtls.allowedPeers = ['spiffe://cluster.local/ns/other/sa/other'];
      });
      await waitFor('the new policy', async () =>
        (await unary(c, 'Unary', 'x')).error?.code === grpc.status.PERMISSION_DENIED ? true : undefined,
      );
      s.writeConfig((cfg) => {
        cfg.mtls.allowedPeers = [];
      });
      await app.close();
      await waitFor('UNAVAILABLE once the app is gone', async () =>
        (await unary(c, 'Unary', 'x')).error?.code === grpc.status.UNAVAILABLE ? true : undefined,
      );
    } finally {
      c.close();
      await s.stop();
      await app.close();
    }
  });
});
