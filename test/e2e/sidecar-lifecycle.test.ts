// End-to-end: the running sidecar's lifecycle. Hot reload of a rotated
// certificate and a new trust root under continuous load with zero failed
// requests; a bad new certificate keeps the last good one; a config change
// applies without a restart; SIGTERM drains an in-flight request and
// flushes its audit record; N workers share the port; and the process
// refuses to start on an invalid config or an insecure runtime.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Issued } from '../../sidecar/src/testing/pki.ts';
import { curl, OTHER_ID, SERVER_ID, startSidecar, waitFor, type RunningSidecar } from './sidecar-support.ts';

function get(
  s: RunningSidecar,
  agent: Agent | false,
  ca: string,
  cert: Issued = s.pki.client,
): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.ports.inbound,
        servername: 'payments',
        path: '/v1/load',
        agent,
        ca,
        cert: cert.cert,
        key: cert.key,
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/** The fingerprint of the certificate a NEW handshake gets. */
function servedFingerprint(s: RunningSidecar, ca: string): Promise<string> {
  return new Promise((done, fail) => {
    const sock = connect(
      {
        host: '127.0.0.1',
        port: s.ports.inbound,
        servername: 'payments',
        ca,
        cert: s.pki.client.cert,
        key: s.pki.client.key,
      },
      () => {
        done(sock.getPeerX509Certificate()?.fingerprint256 ?? '');
        sock.destroy();
      },
    );
    sock.on('error', fail);
  });
}

describe('sidecar e2e: hot reload', () => {
  let s: RunningSidecar;
  before(async () => {
    s = await startSidecar();
  });
  after(async () => {
    await s.stop();
  });

  it('rotates to a certificate from a new trust root under continuous load with zero failed requests', async () => {
    const { pki } = s.pki;
    const ca2 = pki.root('ca2');
    const server2 = pki.workload('server2', SERVER_ID, 'ca2', 'payments');
    const client2 = pki.workload('client2', 'spiffe://cluster.local/ns/shop/sa/checkout', 'ca2');
    const bothRoots = s.pki.ca.cert + ca2.cert;
    const newPrint = new X509Certificate(server2.cert).fingerprint256;
    let rotated = false;
    let afterRotation = 0;
    const failures: string[] = [];
    let total = 0;
    const loop = async (agent: Agent | false): Promise<void> => {
      for (let i = 0; i < 3000 && afterRotation < 300; i++) {
        try {
          const status = await get(s, agent, bothRoots);
          if (status !== 200) failures.push(`status ${status}`);
        } catch (e) {
          failures.push(String(e));
        }
        total++;
        if (rotated) afterRotation++;
      }
    };
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
    const load = Promise.all([loop(keepAlive), loop(keepAlive), loop(false)]);
    await waitFor('some load', () => (total > 30 ? true : undefined));
    s.writeIdentity({ cert: server2.cert, key: server2.key, ca: bothRoots });
    await waitFor('new handshakes to get the new certificate', async () =>
      (await servedFingerprint(s, bothRoots)) === newPrint ? true : undefined,
    );
    rotated = true;
    await load;
    keepAlive.destroy();
    assert.deepEqual(failures, [], `${failures.length} of ${total} requests failed`);
    assert.ok(afterRotation >= 300);
    assert.match(
      await s.metrics(),
      /acp_sidecar_config_reloads_total\{kind="credentials",result="success"\} [1-9]/,
    );
    assert.equal(await get(s, false, bothRoots, client2), 200, 'a client of the new root is trusted');
  });

  const trusted = (): string => s.pki.ca.cert + readFileSync(s.pki.pki.path('ca2.crt'), 'utf8');

  it('keeps the last good certificate when the new key does not match, and counts the failure', async () => {
    const before = await servedFingerprint(s, trusted());
    const mismatched = s.pki.pki.workload('mismatch', SERVER_ID, 'ca', 'payments');
    s.writeIdentity({ cert: mismatched.cert, key: s.pki.other.key, ca: trusted() });
    await waitFor('the failed reload to be counted', async () =>
      /kind="credentials",result="failure"\} [1-9]/.test(await s.metrics()) ? true : undefined,
    );
    assert.equal(await servedFingerprint(s, trusted()), before);
    await waitFor('the error log line (flushed within a second)', () =>
      s.stdout().includes('credentials reload refused; keeping the last good credentials') ? true : undefined,
    );
  });

  it('recovers when a good certificate follows a bad one', async () => {
    s.writeIdentity({ cert: s.pki.server.cert, key: s.pki.server.key, ca: trusted() });
    const original = new X509Certificate(s.pki.server.cert).fingerprint256;
    await waitFor('the original certificate', async () =>
      (await servedFingerprint(s, trusted())) === original ? true : undefined,
    );
  });

  it('applies a config change to new requests without a restart', async () => {
    s.writeConfig((c) => (c.mtls.allowedPeers = [OTHER_ID]));
    await waitFor('the new allowedPeers', async () =>
      (await curl(s, '/v1')).status === 403 ? true : undefined,
    );
    assert.equal((await curl(s, '/v1', { cert: s.pki.other })).status, 200);
    s.writeConfig((c) => (c.mtls.allowedPeers = []));
    await waitFor('the reverted config', async () =>
      (await curl(s, '/v1')).status === 200 ? true : undefined,
    );
  });

  it('keeps the last good config when the new one is invalid', async () => {
    s.writeConfig((c) => ((c as { mode: string }).mode = 'Sometimes'));
    await waitFor('the failed reload', async () =>
      /kind="config",result="failure"\} [1-9]/.test(await s.metrics()) ? true : undefined,
    );
    assert.equal((await curl(s, '/v1')).status, 200);
  });
});

describe('sidecar e2e: shutdown, workers, refusals', () => {
  it('drains an in-flight request on SIGTERM, flushes its audit record and exits 0', async () => {
    const s = await startSidecar();
    let release: () => void = () => undefined;
    s.app.handler = (_req, res) => {
      release = () => res.end('finished');
    };
    const pending = curl(s, '/v1/slow', { args: ['-H', 'X-Request-ID: drain-check-0001'] });
    await waitFor('the app to hold the request', () => (s.app.requests.length > 0 ? true : undefined));
    s.proc.kill('SIGTERM');
    await waitFor('the sidecar to stop accepting', async () =>
      (await curl(s, '/v1')).exit !== 0 ? true : undefined,
    );
    release();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'finished');
    const code = await s.stop();
    assert.equal(code, 0);
    assert.ok(s.auditRecords().some((a) => a['requestId'] === 'drain-check-0001' && a['status'] === 200));
  });

  it('reports the runtime figures that explain a latency tail: event-loop delay, GC pauses, CPU', async () => {
    const s = await startSidecar(() => undefined);
    for (let i = 0; i < 3; i++) assert.equal((await curl(s, '/v1')).status, 200);
    const text = await s.metrics();
    assert.equal(await s.stop(), 0);
    const value = (name: string): number => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      assert.ok(m, `${name} is missing from /metrics`);
      return Number(m[1]);
    };
    assert.ok(value('acp_sidecar_nodejs_eventloop_lag_p99_seconds') >= 0);
    assert.ok(value('acp_sidecar_nodejs_eventloop_lag_max_seconds') >= 0);
    assert.ok(value('acp_sidecar_process_cpu_seconds_total') > 0);
    assert.ok(value('acp_sidecar_nodejs_heap_size_used_bytes') > 0);
    assert.match(text, /^# TYPE acp_sidecar_nodejs_gc_duration_seconds histogram$/m);
  });

  it('serves with two workers on one port', async () => {
    const s = await startSidecar(() => undefined, { args: ['--workers', '2'] });
    for (let i = 0; i < 6; i++) assert.equal((await curl(s, '/v1')).status, 200);
    assert.match(await s.metrics(), /acp_sidecar_requests_total\{decision="allow",reason="ACP_OK"\} 6/);
    assert.equal(await s.stop(), 0);
  });

  const refusals: [string, Parameters<typeof startSidecar>, RegExp][] = [
    [
      'refuses to start on an invalid config, naming the field',
      [(c) => ((c.tls as { minVersion: string }).minVersion = 'TLSv1.1')],
      /ACP_ERR_CONFIG_INVALID.*tls\.minVersion/,
    ],
    [
      'refuses to start with --insecure-http-parser',
      [() => undefined, { nodeArgs: ['--insecure-http-parser'] }],
      /insecure-http-parser/,
    ],
    [
      'refuses to start with --insecure-http-parser in NODE_OPTIONS',
      [() => undefined, { env: { NODE_OPTIONS: '--insecure-http-parser' } }],
      /insecure-http-parser/,
    ],
    [
      'refuses to start with NODE_TLS_REJECT_UNAUTHORIZED=0',
      [() => undefined, { env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' } }],
      /NODE_TLS_REJECT_UNAUTHORIZED/,
    ],
  ];
  for (const [name, args, message] of refusals) {
    it(name, async () => {
      await assert.rejects(
        startSidecar(...args),
        (e: Error) => /exited with 1/.test(e.message) && message.test(e.message),
      );
    });
  }
});
