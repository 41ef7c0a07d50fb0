// End-to-end: calls by Service name through the outbound proxy, with two
// REAL sidecar processes over real mTLS. The caller's app (curl through
// A's proxy) calls http://payments:8080 and the longer names; A finds the
// Service in its mesh directory (config.mesh), originates mTLS with its
// own workload certificate (CLIENT_ID) to B's inbound port and checks B's
// SPIFFE ID against the Service's identities. Also: every refusal's
// status, code and request id (403, 502, 503, 504), retries of idempotent
// requests whose connection failed and none for a POST, keep-alive reuse,
// the caller's audit line and per-destination metrics.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PROXY_ENV } from '@acp/webhooks/inject';
import { freePort } from '../harness/ports.ts';
import {
  CLIENT_ID,
  OTHER_ID,
  paymentsEntry,
  SERVER_ID,
  startSidecar,
  viaProxy,
  waitFor,
  type MeshService,
  type RunningSidecar,
} from './sidecar-support.ts';

function counter(metrics: string, name: string, labels: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('sidecar e2e: calls by Service name over the mesh directory', () => {
  let a: RunningSidecar;
  let b: RunningSidecar;
  let silent: Server;
  let silentPort: number;
  const held: Socket[] = [];
  let closedPort: number;

  /** Rewrites A's directory and waits until a probe call shows it is in force. */
  async function setMesh(services: MeshService[], probe: string, want: number): Promise<void> {
    a.writeConfig((c) => (c.mesh = { services }));
    await waitFor(`A to use the new directory (${probe} -> ${want})`, async () =>
      (await viaProxy(a, probe)).status === want ? true : undefined,
    );
  }

  before(async () => {
    b = await startSidecar();
    closedPort = await freePort();
    silent = createServer((s) => held.push(s)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
    a = await startSidecar(
      (c) => {
        c.mesh = { services: [paymentsEntry(b)] };
        c.egress.allow = [{ host: '127.0.0.1', port: silentPort, peers: [] }];
        c.limits.requestTimeoutMs = 1000;
      },
      { pki: b.pki, identity: (p) => p.client },
    );
  });
  after(async () => {
    for (const s of held) s.destroy();
    silent.close();
    await a.stop();
    await b.stop();
  });

  it('reaches the Service by its short name and by its FQDN over mTLS, and the callee sees the caller identity', async () => {
    for (const host of [
      'payments',
      'payments.payments',
      'payments.payments.svc',
      'payments.payments.svc.cluster.local',
    ]) {
      const r = await viaProxy(a, `http://${host}:8080/by-name?h=${host}`);
      assert.equal(r.status, 200, `${host}: ${r.body} ${r.headers}`);
      assert.equal(b.app.requests.at(-1)?.url, `/by-name?h=${host}`);
      assert.equal(
        b.app.requests.at(-1)?.headers['x-acp-peer-id'],
        CLIENT_ID,
        'B saw A by its workload identity',
      );
    }
    // Audit records are flushed every second.
    const inbound = await waitFor("the callee's audit records", () => {
      const recs = b.auditRecords().filter((r) => String(r['path']).startsWith('/by-name'));
      return recs.length >= 4 ? recs : undefined;
    });
    assert.ok(
      inbound.every((r) => r['peer'] === CLIENT_ID),
      "the callee's audit shows the caller",
    );
    await waitFor("the caller's audit records", () =>
      a.auditRecords().filter((r) => r['destination'] === 'payments/payments:8080').length >= 4
        ? true
        : undefined,
    );
    const outbound = a
      .auditRecords()
      .filter((r) => r['direction'] === 'outbound' && r['destination'] === 'payments/payments:8080');
    assert.ok(outbound.length >= 4);
    assert.equal(outbound.at(-1)?.['peer'], SERVER_ID, "the caller's audit names the callee identity");
    assert.equal(outbound.at(-1)?.['decision'], 'allow');
  });

  it('serves a Node app’s plain fetch() with only the injected variables: fetch tunnels http:// with CONNECT, the proxy serves the HTTP/1.1 inside over mTLS', async () => {
    // The variables the webhook sets (PROXY_ENV), no agent or proxy code in the app.
    const env = Object.fromEntries(PROXY_ENV.map((e) => [e.name, e.value]));
    const proxy = `http://127.0.0.1:${a.ports.outbound}`;
    const js = `Promise.all([['GET', '/fetch-1'], ['POST', '/fetch-2?x=1']].map(([method, p]) => fetch('http://payments.payments:8080' + p, { method, body: method === 'POST' ? 'hello' : undefined }).then(async (r) => r.status + ' ' + (await r.text()).length))).then((x) => { console.log(JSON.stringify(x)); process.exit(0); }, (e) => { console.log(String(e.cause ?? e)); process.exit(1); });`;
    const out = await new Promise<{ code: number | null; stdout: string }>((done) => {
      const child = spawn(process.execPath, ['-e', js], {
        env: { PATH: process.env['PATH'] ?? '', ...env, HTTP_PROXY: proxy, http_proxy: proxy },
      });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.once('close', (code) => done({ code, stdout }));
    });
    assert.equal(out.code, 0, out.stdout);
    assert.deepEqual(
      (JSON.parse(out.stdout) as string[]).map((x) => x.split(' ')[0]),
      ['200', '200'],
      out.stdout,
    );
    const seen = b.app.requests.filter((r) => r.url.startsWith('/fetch-'));
    assert.deepEqual(seen.map((r) => r.url).sort(), ['/fetch-1', '/fetch-2?x=1']);
    assert.ok(
      seen.every((r) => r.headers['x-acp-peer-id'] === CLIENT_ID),
      'B saw A by its workload identity',
    );
    const rec = await waitFor("the caller's audit record of the tunnelled POST", () =>
      a.auditRecords().find((r) => r['method'] === 'POST' && r['target'] === 'payments.payments:8080'),
    );
    assert.equal(rec['destination'], 'payments/payments:8080');
    assert.equal(rec['peer'], SERVER_ID);
    assert.equal(rec['decision'], 'allow');
  });

  it('curl --http2 and --http2-prior-knowledge through the proxy reach the meshed Service over mTLS (HTTP/1.1 to the proxy, and h2c in a CONNECT tunnel)', async () => {
    const upgrade = await viaProxy(a, 'http://payments.payments:8080/curl-h2-upgrade', ['--http2']);
    assert.equal(upgrade.status, 200, upgrade.body);
    assert.match(upgrade.headers, /^http\/1\.1 200/, 'an h2c upgrade through a proxy stays HTTP/1.1');
    const prior = await viaProxy(a, 'http://payments.payments:8080/curl-h2-prior', [
      '--proxytunnel',
      '--http2-prior-knowledge',
    ]);
    assert.equal(prior.status, 200, prior.headers + prior.body);
    // curl -i prints the proxy's CONNECT answer, then the h2 response from inside the tunnel.
    assert.match(prior.headers, /^http\/1\.1 200 connection established/);
    assert.match(prior.body, /^HTTP\/2 200/, 'h2 inside the tunnel');
    for (const path of ['/curl-h2-upgrade', '/curl-h2-prior']) {
      const seen = b.app.requests.find((r) => r.url === path);
      assert.equal(seen?.headers['x-acp-peer-id'], CLIENT_ID, `${path}: B saw A by its workload identity`);
    }
  });

  it('keeps connections alive: 30 sequential calls cost far fewer than 30 handshakes on the callee', async () => {
    const before = await b.metrics();
    const sum = (m: string): number =>
      m
        .split('\n')
        .filter((l) => l.startsWith('acp_sidecar_tls_handshakes_total{'))
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    for (let i = 0; i < 30; i++) assert.equal((await viaProxy(a, 'http://payments:8080/ka')).status, 200);
    const handshakes = sum(await b.metrics()) - sum(before);
    assert.ok(handshakes <= 3, `${handshakes} handshakes for 30 calls`);
  });

  it('keeps every connection a burst opened while calls go on: the next burst, after more than the idle timeout, needs no new handshake', async () => {
    // The app holds /burst answers until four have arrived: the caller must carry four at once.
    const plain = b.app.handler;
    let held: (() => void)[] = [];
    b.app.handler = (req, res, body) => {
      if (!(req.url ?? '').startsWith('/burst')) return plain(req, res, body);
      held.push(() => plain(req, res, body));
      if (held.length < 4) return;
      for (const answer of held) answer();
      held = [];
    };
    const handshakes = async (): Promise<number> =>
      (await b.metrics())
        .split('\n')
        .filter((l) => l.startsWith('acp_sidecar_tls_handshakes_total{'))
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    const burst = async (): Promise<void> => {
      const rs = await Promise.all(
        Array.from({ length: 4 }, (_, i) => viaProxy(a, `http://payments:8080/burst-${i}`)),
      );
      assert.deepEqual(
        rs.map((r) => r.status),
        [200, 200, 200, 200],
      );
    };
    try {
      await burst();
      const afterFirst = await handshakes();
      // One call at a time for longer than the caller's idle timeout (4 s): with the busiest
      // connection carrying them all (node's LIFO default) the other three would close.
      const until = Date.now() + 5000;
      while (Date.now() < until) assert.equal((await viaProxy(a, 'http://payments:8080/steady')).status, 200);
      await burst();
      assert.equal((await handshakes()) - afterFirst, 0, 'new mTLS handshakes for the second burst');
    } finally {
      b.app.handler = plain;
    }
  });

  it('names the callee identity in the caller audit on every connection (no resumed session skips the check)', async () => {
    assert.equal((await viaProxy(a, 'http://payments:8080/first')).status, 200);
    const rs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        viaProxy(a, `http://payments:8080/parallel-${i}`, ['-H', `x-request-id: parallel-call-${i}`]),
      ),
    );
    assert.deepEqual(
      rs.map((r) => r.status),
      rs.map(() => 200),
    );
    const recs = await waitFor("the caller's audit records of the parallel calls", () => {
      const found = a.auditRecords().filter((r) => String(r['requestId']).startsWith('parallel-call-'));
      return found.length === 12 ? found : undefined;
    });
    assert.deepEqual(
      recs.map((r) => r['peer']),
      recs.map(() => SERVER_ID),
    );
  });

  it('counts requests and latency per destination', async () => {
    const m = await a.metrics();
    assert.ok(
      counter(
        m,
        'acp_sidecar_outbound_requests_total',
        'destination="payments/payments:8080",decision="allow",reason="ACP_OK"',
      ) >= 34,
    );
    assert.match(
      m,
      /acp_sidecar_outbound_request_duration_seconds_count\{destination="payments\/payments:8080"\} \d+/,
    );
  });

  it('refuses a callee that proves another identity with 502 peer mismatch, sends it nothing, counts an mTLS failure', async () => {
    await setMesh([paymentsEntry(b, { identities: [OTHER_ID] })], 'http://payments:8080/x', 502);
    const seen = b.app.requests.length;
    const r = await viaProxy(a, 'http://payments:8080/impostor', ['-H', 'x-request-id: req-impostor-1']);
    assert.equal(r.status, 502);
    const body = JSON.parse(r.body) as { error: string; requestId: string };
    assert.equal(body.error, 'ACP_ERR_EGRESS_PEER_MISMATCH');
    assert.equal(body.requestId, 'req-impostor-1');
    assert.match(r.headers, /x-request-id: req-impostor-1/);
    assert.equal(b.app.requests.length, seen, 'nothing reached the app behind the wrong peer');
    const m = await a.metrics();
    assert.ok(
      counter(m, 'acp_sidecar_outbound_mtls_failures_total', 'reason="ACP_ERR_EGRESS_PEER_MISMATCH"') >= 1,
    );
    const rec = await waitFor('the audit record of the refusal', () =>
      a.auditRecords().find((x) => x['requestId'] === 'req-impostor-1'),
    );
    assert.equal(rec?.['reason'], 'ACP_ERR_EGRESS_PEER_MISMATCH');
    assert.equal(rec?.['decision'], 'error');
  });

  it('answers 503 with a code and a request id for a Service without meshed pods or address', async () => {
    await setMesh([paymentsEntry(b, { address: '', identities: [] })], 'http://payments:8080/x', 503);
    const r = await viaProxy(a, 'http://payments.payments.svc.cluster.local:8080/x');
    assert.equal(r.status, 503);
    const body = JSON.parse(r.body) as { error: string; requestId: string };
    assert.equal(body.error, 'ACP_ERR_MESH_UNAVAILABLE');
    assert.ok(body.requestId.length >= 8);
    assert.match(r.headers, new RegExp(`x-request-id: ${body.requestId}`));
  });

  it('refuses a destination that is neither meshed nor allowed with 403', async () => {
    const r = await viaProxy(a, 'http://example.invalid:8080/x');
    assert.equal(r.status, 403);
    assert.equal((JSON.parse(r.body) as { error: string }).error, 'ACP_ERR_EGRESS_DENIED');
    const r2 = await viaProxy(a, 'http://payments:9090/other-port');
    assert.equal(r2.status, 403, 'a port the Service does not mesh is not the Service');
  });

  it('retries an idempotent request whose connection failed (twice), and never a POST with a body', async () => {
    await setMesh([paymentsEntry(b, { port: closedPort })], 'http://payments:8080/x', 502);
    const dest = 'destination="payments/payments:8080"';
    const retries = async (): Promise<number> =>
      counter(await a.metrics(), 'acp_sidecar_outbound_retries_total', dest);
    const r0 = await retries();
    const get = await viaProxy(a, 'http://payments:8080/get');
    assert.equal(get.status, 502);
    assert.equal((JSON.parse(get.body) as { error: string }).error, 'ACP_ERR_UPSTREAM_UNAVAILABLE');
    assert.equal((await retries()) - r0, 2, 'a GET is sent twice more');
    const post = await viaProxy(a, 'http://payments:8080/post', ['-d', 'payload']);
    assert.equal(post.status, 502);
    assert.equal((await retries()) - r0, 2, 'a POST is not sent again');
  });

  it('answers 504 when the destination accepts but never answers', async () => {
    const r = await viaProxy(a, `http://127.0.0.1:${silentPort}/slow`);
    assert.equal(r.status, 504);
    assert.equal((JSON.parse(r.body) as { error: string }).error, 'ACP_ERR_UPSTREAM_TIMEOUT');
  });

  it('sends a GET again on a new connection when the callee sidecar could not reach its app, never a POST', async () => {
    // C: a callee sidecar whose app is gone (a pod shutting down), same identity as B.
    const c = await startSidecar((cfg) => (cfg.upstream.port = closedPort), { pki: b.pki });
    try {
      await setMesh([paymentsEntry(c)], 'http://payments:8080/x', 502);
      const dest = 'destination="payments/payments:8080"';
      const retries = async (): Promise<number> =>
        counter(await a.metrics(), 'acp_sidecar_outbound_retries_total', dest);
      const r0 = await retries();
      const get = await viaProxy(a, 'http://payments:8080/get');
      assert.equal(get.status, 502, 'after two retries the callee answer is passed on');
      assert.equal((JSON.parse(get.body) as { error: string }).error, 'ACP_ERR_UPSTREAM_UNAVAILABLE');
      assert.equal((await retries()) - r0, 2, 'a GET the callee did not deliver is sent twice more');
      const post = await viaProxy(a, 'http://payments:8080/post', ['-d', 'payload']);
      assert.equal(post.status, 502);
      assert.equal((await retries()) - r0, 2, 'a POST is not sent again');
    } finally {
      await c.stop();
    }
  });

  it('reaches the callee again once the directory names the right identity (POST with a body too)', async () => {
    await setMesh([paymentsEntry(b)], 'http://payments:8080/x', 200);
    const r = await viaProxy(a, 'http://payments:8080/post', ['-d', 'hello=world']);
    assert.equal(r.status, 200);
    assert.equal(b.app.requests.at(-1)?.method, 'POST');
  });
});
