// End-to-end: gRPC between two meshed services, with two REAL sidecar
// processes over real mTLS and a real gRPC client and app. The caller's
// gRPC client (@grpc/grpc-js, grpc_proxy set to A's outbound proxy) calls
// `payments.payments:8080`: it sends CONNECT and speaks h2c in the tunnel;
// A terminates the tunnel, sends each stream over h2 + mTLS with its own
// workload certificate (CLIENT_ID) to B's inbound port, checks B's SPIFFE
// ID, and B relays to its h2c gRPC app (upstream.protocol h2c). Also: the
// refusals as gRPC errors (an impostor callee, a Service the directory no
// longer names), a CONNECT to a name the caller may not reach, a tunnel
// that does not carry h2c, the caller's audit and metrics.
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  proxiedEchoClient,
  readRepeat,
  startGrpcApp,
  unary,
  type EchoClient,
  type GrpcApp,
} from './grpc-support.ts';
import {
  CLIENT_ID,
  OTHER_ID,
  paymentsEntry,
  SERVER_ID,
  startSidecar,
  waitFor,
  type RunningSidecar,
} from './sidecar-support.ts';

const DEST = 'payments/payments:8080';

function sumOf(metrics: string, name: string, labels = ''): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

/** A CONNECT to A's proxy, then `payload` in the tunnel; resolves with everything read until the close. */
function rawTunnel(a: RunningSidecar, target: string, payload: string): Promise<string> {
  return new Promise((done, fail) => {
    const s = netConnect(a.ports.outbound, '127.0.0.1', () => {
      s.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`);
    });
    let got = '';
    let sent = false;
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (!sent && got.includes('\r\n\r\n')) {
        sent = true;
        s.write(payload);
      }
    });
    s.on('close', () => done(got));
    s.on('error', fail);
    s.setTimeout(20_000, () => s.destroy(new Error('tunnel stayed open')));
  });
}

describe('sidecar e2e: gRPC between meshed services (CONNECT tunnel terminated, h2 + mTLS to the callee)', () => {
  let app: GrpcApp;
  let a: RunningSidecar;
  let b: RunningSidecar;
  let c: EchoClient;

  before(async () => {
    app = await startGrpcApp();
    b = await startSidecar((cfg) => {
      cfg.upstream.port = app.port;
      cfg.upstream.protocol = 'h2c';
      cfg.limits.maxRequestBytes = 64 * 1024;
    });
    a = await startSidecar((cfg) => (cfg.mesh = { services: [paymentsEntry(b)] }), {
      pki: b.pki,
      identity: (p) => p.client,
    });
    c = proxiedEchoClient(a.ports.outbound, 'payments.payments:8080');
  });
  after(async () => {
    // Whatever before() got to start is stopped, so a failed start does not hold the run open.
    for (const stop of [() => c.close(), () => a.stop(), () => b.stop(), () => app.close()])
      await Promise.resolve()
        .then(stop)
        .catch(() => undefined);
  });

  it('relays a unary call by Service name; the callee sees and audits the caller identity, the caller audits the callee', async () => {
    const r = await unary(c, 'Unary', 'hi', { 'x-request-id': 'mesh-grpc-unary-1' });
    assert.equal(r.error, undefined, String(r.error?.details));
    assert.equal(r.value?.toString(), 'echo:hi');
    const call = app.calls.at(-1);
    assert.equal(call?.path, 'Unary');
    assert.equal(call?.metadata['x-acp-peer-id'], CLIENT_ID, 'B saw A by its workload identity');
    assert.equal(call?.metadata['x-request-id'], 'mesh-grpc-unary-1');
    const inbound = await waitFor("the callee's audit record", () =>
      b.auditRecords().find((x) => x['requestId'] === 'mesh-grpc-unary-1'),
    );
    assert.equal(inbound['peer'], CLIENT_ID);
    assert.equal(inbound['path'], '/acp.test.Echo/Unary');
    const outbound = await waitFor("the caller's audit record", () =>
      a.auditRecords().find((x) => x['requestId'] === 'mesh-grpc-unary-1'),
    );
    assert.equal(outbound['direction'], 'outbound');
    assert.equal(outbound['destination'], DEST);
    assert.equal(outbound['peer'], SERVER_ID, "the caller's audit names the callee identity");
    assert.equal(outbound['protocol'], 'h2');
    assert.equal(outbound['decision'], 'allow');
  });

  it('relays a bidirectional stream, message by message, with its trailers', async () => {
    const chat = (c['Chat'] as () => grpc.ClientDuplexStream<Buffer, Buffer>).call(c);
    const got: string[] = [];
    const status = new Promise<grpc.StatusObject>((done) => chat.on('status', done));
    // Each answer arrives before the next message is sent: the stream is relayed as it goes, not buffered.
    for (const m of ['one', 'two', 'three']) {
      const answer = new Promise<string>((done) => chat.once('data', (d: Buffer) => done(d.toString())));
      chat.write(Buffer.from(m));
      got.push(await answer);
    }
    chat.end();
    assert.deepEqual(got, ['re:one', 're:two', 're:three']);
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(app.calls.at(-1)?.path, 'Chat');
  });

  it('relays client and server streaming with flow control (4 MiB back in 256 pieces, in order)', async () => {
    const collected = await new Promise<string>((done, fail) => {
      const call = (c['Collect'] as (...x: unknown[]) => grpc.ClientWritableStream<Buffer>).call(
        c,
        (e: grpc.ServiceError | null, v?: Buffer) => (e ? fail(e) : done(v?.toString() ?? '')),
      );
      for (let i = 0; i < 10; i++) call.write(Buffer.alloc(4000, 120));
      call.end();
    });
    assert.equal(collected, '10:40000');
    const call = (c['Repeat'] as (...x: unknown[]) => grpc.ClientReadableStream<Buffer>).call(
      c,
      Buffer.from('256,16384'),
    );
    assert.deepEqual(await readRepeat(call), { n: 256, bytes: 256 * 16384, inOrder: true });
  });

  it('multiplexes: 150 concurrent calls (past the 100 streams per session the callee allows) share the mesh session, at most 2 handshakes on the callee', async () => {
    const before = sumOf(await b.metrics(), 'acp_sidecar_tls_handshakes_total');
    const rs = await Promise.all(Array.from({ length: 150 }, (_, i) => unary(c, 'Unary', `m${i}`)));
    assert.deepEqual(
      rs.map((r) => r.value?.toString()),
      rs.map((_, i) => `echo:m${i}`),
    );
    const handshakes = sumOf(await b.metrics(), 'acp_sidecar_tls_handshakes_total') - before;
    assert.ok(handshakes <= 2, `${handshakes} handshakes for 150 calls`);
    const m = await a.metrics();
    assert.ok(
      sumOf(m, 'acp_sidecar_outbound_requests_total', `destination="${DEST}",decision="allow"`) >= 150,
      'the caller counts each stream per destination',
    );
  });

  it('serves HTTP/1.1 in a tunnel to a meshed Service (Node’s fetch tunnels http:// so): the answer comes from the callee over mTLS', async () => {
    const got = await rawTunnel(
      a,
      'payments.payments:8080',
      'GET /not-grpc HTTP/1.1\r\nhost: payments.payments:8080\r\nconnection: close\r\n\r\n',
    );
    assert.match(got, /^HTTP\/1\.1 200 /);
    const inner = got.slice(got.indexOf('\r\n\r\n') + 4);
    assert.match(inner, /^HTTP\/1\.1 \d{3} /, 'an HTTP/1.1 answer inside the tunnel');
    const rec = await waitFor("the caller's audit record", () =>
      a.auditRecords().find((x) => x['method'] === 'GET' && x['target'] === 'payments.payments:8080'),
    );
    assert.equal(rec['destination'], DEST);
    assert.equal(rec['decision'], 'allow');
  });

  it('closes a tunnel to a meshed Service that carries neither h2c nor HTTP/1.1 (a TLS ClientHello), with an audit line', async () => {
    const got = await rawTunnel(a, 'payments.payments:8080', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03');
    assert.match(got, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(got.slice(got.indexOf('\r\n\r\n') + 4), /HTTP/, 'nothing was answered in the tunnel');
    const rec = await waitFor("the caller's audit record", () =>
      a.auditRecords().find((x) => x['reason'] === 'ACP_ERR_MESH_TUNNEL_NOT_H2'),
    );
    assert.equal(rec['destination'], DEST);
    assert.equal(rec['decision'], 'deny');
  });

  it('refuses the CONNECT (403, x-acp-error) to a name the caller may not reach; the gRPC client reports UNAVAILABLE', async () => {
    const got = await rawTunnel(a, 'ledger.payments:8080', '');
    assert.match(got, /^HTTP\/1\.1 403 /);
    assert.match(got, /x-acp-error: ACP_ERR_EGRESS_DENIED/);
    const other = proxiedEchoClient(a.ports.outbound, 'ledger.payments:8080');
    try {
      const r = await unary(other, 'Unary', 'x', {}, { deadline: Date.now() + 10_000 });
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE, String(r.error?.details));
    } finally {
      other.close();
    }
    const rec = await waitFor("the caller's audit record of the CONNECT", () =>
      a.auditRecords().find((x) => x['method'] === 'CONNECT' && x['target'] === 'ledger.payments:8080'),
    );
    assert.equal(rec['reason'], 'ACP_ERR_EGRESS_DENIED');
  });

  it("relays the callee's own refusal unchanged: a caller outside B's allowedPeers gets PERMISSION_DENIED from B", async () => {
    b.writeConfig((cfg) => (cfg.mtls.allowedPeers = [OTHER_ID]));
    const r = await waitFor('B to apply allowedPeers', async () => {
      const x = await unary(c, 'Unary', 'not-allowed');
      return x.error ? x : undefined;
    });
    assert.equal(r.error?.code, grpc.status.PERMISSION_DENIED, String(r.error?.details));
    assert.equal(r.error?.metadata.get('x-acp-error')[0], 'ACP_ERR_PEER_NOT_ALLOWED');
    const rec = await waitFor("the callee's audit record", () =>
      b.auditRecords().find((x) => x['reason'] === 'ACP_ERR_PEER_NOT_ALLOWED'),
    );
    assert.equal(rec['peer'], CLIENT_ID, 'B refused A by its workload identity');
    b.writeConfig((cfg) => (cfg.mtls.allowedPeers = [CLIENT_ID]));
    await waitFor('B to allow A again', async () =>
      (await unary(c, 'Unary', 'ok')).value ? true : undefined,
    );
  });

  it('refuses a callee that proves another identity: UNAVAILABLE with ACP_ERR_EGRESS_PEER_MISMATCH, the app sees nothing', async () => {
    const m0 = sumOf(
      await a.metrics(),
      'acp_sidecar_outbound_mtls_failures_total',
      'ACP_ERR_EGRESS_PEER_MISMATCH',
    );
    a.writeConfig((cfg) => (cfg.mesh = { services: [paymentsEntry(b, { identities: [OTHER_ID] })] }));
    await waitFor('A to use the new directory', async () =>
      (await unary(c, 'Unary', 'probe')).error ? true : undefined,
    );
    const seen = app.calls.length;
    const r = await unary(c, 'Unary', 'impostor');
    assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(r.error?.metadata.get('x-acp-error')[0], 'ACP_ERR_EGRESS_PEER_MISMATCH');
    assert.match(r.error?.details ?? '', /ACP_ERR_EGRESS_PEER_MISMATCH/);
    assert.equal(app.calls.length, seen, 'nothing reached the app behind the wrong peer');
    const m = await a.metrics();
    assert.ok(
      sumOf(m, 'acp_sidecar_outbound_mtls_failures_total', 'ACP_ERR_EGRESS_PEER_MISMATCH') > m0,
      'an mTLS failure is counted',
    );
    const rec = await waitFor("the caller's audit record of the refusal", () =>
      a.auditRecords().find((x) => x['reason'] === 'ACP_ERR_EGRESS_PEER_MISMATCH'),
    );
    assert.equal(rec['destination'], DEST);
    assert.equal(rec['decision'], 'error');
  });

  it('routes each stream of an open tunnel again: a Service the directory no longer names is PERMISSION_DENIED', async () => {
    a.writeConfig((cfg) => (cfg.mesh = { services: [paymentsEntry(b)] }));
    await waitFor('A to use the good directory again', async () =>
      (await unary(c, 'Unary', 'back')).value ? true : undefined,
    );
    a.writeConfig((cfg) => (cfg.mesh = { services: [] }));
    const r = await waitFor('A to use the empty directory', async () => {
      const x = await unary(c, 'Unary', 'gone');
      return x.error ? x : undefined;
    });
    assert.equal(r.error?.code, grpc.status.PERMISSION_DENIED, String(r.error?.details));
    assert.equal(r.error?.metadata.get('x-acp-error')[0], 'ACP_ERR_EGRESS_DENIED');
  });

  it('answers UNAVAILABLE with ACP_ERR_MESH_UNAVAILABLE for a Service without meshed pods or address, never a clear-text call', async () => {
    a.writeConfig((cfg) => (cfg.mesh = { services: [paymentsEntry(b, { address: '', identities: [] })] }));
    const r = await waitFor('A to use the directory without an address', async () => {
      const x = await unary(c, 'Unary', 'nowhere');
      return x.error?.code === grpc.status.UNAVAILABLE ? x : undefined;
    });
    assert.equal(r.error?.metadata.get('x-acp-error')[0], 'ACP_ERR_MESH_UNAVAILABLE');
    assert.match(r.error?.details ?? '', /ACP_ERR_MESH_UNAVAILABLE/);
  });
});
