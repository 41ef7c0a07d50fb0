// End-to-end: the running sidecar's connection limits, small and bounded
// (the full hostile load is test/bench/sidecar/hostile.ts): past
// maxConnections a new connection is closed before TLS, past
// maxPendingHandshakesPerAddress a new connection from that address is,
// both counted in acp_sidecar_connections_refused_total and logged (rate
// limited); a connection that never completes its handshake is closed at
// the headers timeout; and legitimate clients are still answered.
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startSidecar, waitFor, type RunningSidecar } from './sidecar-support.ts';

/** An mTLS connection from `localAddress`; resolves once the handshake completed, or rejects when it is closed first. */
function handshake(s: RunningSidecar, localAddress = '127.0.0.1'): Promise<TLSSocket> {
  return new Promise((done, fail) => {
    const sock = tlsConnect({
      socket: tcpConnect({ host: '127.0.0.1', port: s.ports.inbound, localAddress }),
      servername: 'payments',
      ca: s.pki.ca.cert,
      cert: s.pki.client.cert,
      key: s.pki.client.key,
    });
    sock.once('secureConnect', () => done(sock));
    sock.once('error', fail);
    sock.once('close', () => fail(new Error('closed before the handshake completed')));
  });
}

/** One request on an established connection; resolves with the status. */
function get(sock: TLSSocket, path: string): Promise<number> {
  return new Promise((done) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(got);
      if (m) {
        sock.off('data', onData);
        done(Number(m[1]));
      }
    };
    sock.on('data', onData);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: payments\r\n\r\n`);
  });
}

/** A TCP connection from `localAddress` that sends nothing; resolves once connected, with a promise of its close. */
function silentTcp(
  s: RunningSidecar,
  localAddress: string,
): Promise<{ sock: Socket; closed: Promise<void> }> {
  return new Promise((done, fail) => {
    const sock = tcpConnect({ host: '127.0.0.1', port: s.ports.inbound, localAddress });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    sock.once('connect', () => done({ sock, closed }));
    sock.once('error', (e: Error) => fail(e));
  });
}

function metric(text: string, name: string, reason?: string): number {
  const label = reason ? `\\{reason="${reason}"\\}` : '';
  return Number(new RegExp(`^${name}${label} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

describe('sidecar e2e: connection limits', () => {
  let s: RunningSidecar;
  const open: Socket[] = [];
  before(async () => {
    s = await startSidecar((c) => {
      c.limits.maxConnections = 4;
      c.limits.maxPendingHandshakesPerAddress = 2;
      c.limits.headersTimeoutMs = 2000;
      c.limits.requestTimeoutMs = 20000;
    });
  });
  after(async () => {
    for (const sock of open) sock.destroy();
    await s.stop();
  });

  it('closes connections past maxConnections before TLS, counts and logs them, and serves again once one closes', async () => {
    const held = await Promise.all([1, 2, 3, 4].map((i) => handshake(s, `127.0.0.1${i}`)));
    open.push(...held);
    await assert.rejects(handshake(s, '127.0.0.15'), 'the fifth connection gets no handshake');
    const text = await s.metrics();
    assert.ok(metric(text, 'acp_sidecar_connections_refused_total', 'ACP_ERR_CONNECTION_LIMIT') >= 1);
    await waitFor('the refusal log line (flushed each second)', () =>
      /"reason":"ACP_ERR_CONNECTION_LIMIT".*inbound connections refused at accept/.test(s.stdout())
        ? true
        : undefined,
    );
    assert.equal(await get(held[0] as TLSSocket, '/still-served'), 200, 'held connections are still served');
    held[1]?.destroy();
    const again = await waitFor('a connection to be accepted again', () =>
      handshake(s).catch(() => undefined),
    );
    open.push(again);
    assert.equal(await get(again, '/after'), 200);
    for (const sock of open.splice(0)) sock.destroy();
  });

  it('logs refused connections at most once per interval, with how many there were', async () => {
    await waitFor('the held connections to close', async () =>
      metric(await s.metrics(), 'acp_sidecar_inbound_connections') === 0 ? true : undefined,
    );
    const held = await Promise.all([1, 2, 3, 4].map((i) => handshake(s, `127.0.0.1${i}`)));
    open.push(...held);
    const before = (s.stdout().match(/inbound connections refused at accept/g) ?? []).length;
    const refusedBefore = metric(
      await s.metrics(),
      'acp_sidecar_connections_refused_total',
      'ACP_ERR_CONNECTION_LIMIT',
    );
    for (let i = 0; i < 20; i++) await handshake(s, '127.0.0.15').catch(() => undefined);
    const refused =
      metric(await s.metrics(), 'acp_sidecar_connections_refused_total', 'ACP_ERR_CONNECTION_LIMIT') -
      refusedBefore;
    assert.equal(refused, 20);
    await new Promise((r) => setTimeout(r, 1500)); // the log is flushed each second
    const lines = (s.stdout().match(/inbound connections refused at accept/g) ?? []).length - before;
    assert.ok(lines <= 2, `${lines} log lines for 20 refusals`);
    for (const sock of open.splice(0)) sock.destroy();
  });

  it('closes a third pending handshake from one address before TLS, serves other addresses, and times the pending ones out', async () => {
    await waitFor('the held connections to close', async () =>
      metric(await s.metrics(), 'acp_sidecar_inbound_connections') === 0 ? true : undefined,
    );
    const pending = await Promise.all([silentTcp(s, '127.0.0.5'), silentTcp(s, '127.0.0.5')]);
    open.push(...pending.map((p) => p.sock));
    await waitFor('two pending handshakes', async () =>
      metric(await s.metrics(), 'acp_sidecar_inbound_handshakes_pending') === 2 ? true : undefined,
    );
    const third = await silentTcp(s, '127.0.0.5');
    open.push(third.sock);
    await third.closed; // closed by the sidecar, not by this test
    assert.ok(
      metric(await s.metrics(), 'acp_sidecar_connections_refused_total', 'ACP_ERR_HANDSHAKE_LIMIT') >= 1,
    );
    const other = await handshake(s, '127.0.0.6');
    assert.equal(await get(other, '/other-address'), 200);
    other.destroy();
    // The two silent connections: closed at the headers timeout, which includes the handshake.
    await Promise.all(pending.map((p) => p.closed));
    assert.ok(
      metric(
        await s.metrics(),
        'acp_sidecar_tls_handshake_failures_total',
        'ACP_ERR_TLS_HANDSHAKE_TIMEOUT',
      ) >= 2,
    );
    const after = await handshake(s, '127.0.0.5');
    assert.equal(await get(after, '/after-timeout'), 200, 'the address may connect again');
    after.destroy();
  });
});
