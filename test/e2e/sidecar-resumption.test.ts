// End-to-end: TLS session resumption across a change of trust, and the
// reason a refused client certificate gets. The running sidecar resumes a
// TLS 1.2 session and a TLS 1.3 ticket (openssl s_client -sess_out /
// -sess_in) before a change, and refuses both after each kind of change
// (trust bundle, own certificate, allowedPeers), also with --workers 2
// (one shared ticket key: a ticket of one worker resumes on the other,
// shown by stopping the first worker so the kernel hands the connection
// to the second). A client certificate refused for each cause
// (expired, not yet valid, unknown issuer, self-signed, bad signature,
// wrong key usage, and expired since its session began) is
// audited and counted with the code naming that cause.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  CLIENT_ID,
  OTHER_ID,
  SERVER_ID,
  curl,
  sClient,
  startSidecar,
  tlsClient,
  waitFor,
  type RunningSidecar,
} from './sidecar-support.ts';
import { asn1Time, type Issued } from '../../sidecar/src/testing/pki.ts';

const VERSIONS = ['-tls1_2', '-tls1_3'] as const;

interface Attempt {
  reused: boolean;
  status: number;
  out: string;
}

async function attempt(
  s: RunningSidecar,
  args: string[],
  cert: Issued | null = s.pki.client,
): Promise<Attempt> {
  const r = await sClient(s, args, cert);
  return {
    reused: /^Reused, TLSv1\.[23]/m.test(r.out),
    status: Number(/HTTP\/1\.1 (\d{3})/.exec(r.out)?.[1] ?? 0),
    out: r.out,
  };
}

/** Takes a session with a full handshake and shows it resumes (so a later "not resumed" can fail). */
async function takeSession(s: RunningSidecar, version: string): Promise<string> {
  const file = join(s.dir, `session${version}-${Math.random().toString(36).slice(2)}.pem`);
  const first = await attempt(s, [version, '-sess_out', file]);
  assert.equal(first.status, 200, first.out);
  assert.equal(first.reused, false);
  const again = await attempt(s, [version, '-sess_in', file]);
  assert.equal(again.reused, true, `the session resumes before the change:\n${again.out}`);
  assert.equal(again.status, 200);
  return file;
}

interface TlsConnection {
  socket: TLSSocket;
  reused: boolean;
  /** The session to resume (TLS 1.3: from the ticket that follows the handshake). */
  session: Promise<Buffer>;
}

/** A Node TLS connection (TLS 1.3) to the inbound port as the client workload, resuming `session` when given. */
function connectTls(s: RunningSidecar, session?: Buffer): Promise<TlsConnection> {
  return new Promise((done, fail) => {
    const socket = tlsClient(s, { minVersion: 'TLSv1.3', ...(session ? { session } : {}) });
    const ticket = new Promise<Buffer>((got, none) => {
      socket.once('session', got);
      setTimeout(() => none(new Error('no session ticket within 15 s')), 15_000).unref();
    });
    ticket.catch(() => undefined); // awaited only by the tests that need it
    socket.once('error', fail);
    socket.setTimeout(15_000, () => socket.destroy(new Error('no TLS handshake within 15 s')));
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      done({ socket, reused: socket.isSessionReused(), session: ticket });
    });
  });
}

/** Sends a GET on the connection and returns the response's status. */
function getStatus(socket: TLSSocket): Promise<number> {
  return new Promise((done) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        socket.off('data', onData);
        done(Number(m[1]));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => done(0));
    socket.setTimeout(15_000, () => socket.destroy());
    socket.write('GET /resume HTTP/1.1\r\nHost: payments\r\n\r\n');
  });
}

/** The pid of the sidecar process holding the server side of this connection (a worker, with --workers). */
function serverPid(s: RunningSidecar, socket: TLSSocket): number {
  const out = execFileSync('ss', [
    '-tnpH',
    'state',
    'established',
    `( sport = :${s.ports.inbound} and dport = :${socket.localPort} )`,
  ]).toString();
  const pid = /pid=(\d+)/.exec(out)?.[1];
  assert.ok(pid, `no server process for the connection in: ${out}`);
  return Number(pid);
}

/** Waits until `count` reloads of `kind` succeeded (summed over workers). */
async function reloaded(s: RunningSidecar, kind: 'config' | 'credentials', count: number): Promise<void> {
  const re = new RegExp(`acp_sidecar_config_reloads_total\\{kind="${kind}",result="success"\\} (\\d+)`);
  await waitFor(`${count} ${kind} reload(s)`, async () =>
    Number(re.exec(await s.metrics())?.[1] ?? 0) >= count ? true : undefined,
  );
}

async function auditReason(s: RunningSidecar, code: string, atLeast: number): Promise<void> {
  const refusals = (): Record<string, unknown>[] => s.auditRecords().filter((a) => a['status'] === 0);
  await waitFor(`an audit record with reason ${code}`, () =>
    refusals().filter((a) => a['reason'] === code).length >= atLeast ? true : undefined,
  ).catch((e: unknown) => {
    throw new Error(
      `${String(e)}; refusals audited: ${refusals()
        .map((a) => String(a['reason']))
        .join(', ')}`,
    );
  });
}

describe('sidecar e2e: session resumption across a change of trust', () => {
  it('refuses sessions and tickets taken before the trust bundle changed (new CA, old one removed)', async () => {
    const s = await startSidecar((c) => (c.mtls.allowedPeers = [CLIENT_ID]));
    try {
      const sessions = [await takeSession(s, '-tls1_2'), await takeSession(s, '-tls1_3')];
      const ca2 = s.pki.pki.root('ca2');
      const server2 = s.pki.pki.workload('server-ca2', SERVER_ID, 'ca2', 'payments');
      const client2 = s.pki.pki.workload('client-ca2', CLIENT_ID, 'ca2');
      s.writeIdentity({ cert: server2.cert, key: server2.key, ca: ca2.cert });
      await reloaded(s, 'credentials', 1);
      for (const [i, version] of VERSIONS.entries()) {
        const before = s.app.requests.length;
        const r = await attempt(s, [version, '-sess_in', sessions[i] ?? '']);
        assert.equal(r.reused, false, `${version}: resumed after the trust change:\n${r.out}`);
        assert.notEqual(r.status, 200, `${version}: served after the trust change`);
        assert.equal(s.app.requests.length, before, 'the app received nothing');
        await auditReason(s, 'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER', i + 1);
        const fresh = await attempt(s, [version], client2);
        assert.equal(fresh.status, 200, 'a client of the new CA is served');
      }
    } finally {
      await s.stop();
    }
  });

  it('does not resume sessions taken before its own certificate changed (a full handshake follows)', async () => {
    const s = await startSidecar();
    try {
      const sessions = [await takeSession(s, '-tls1_2'), await takeSession(s, '-tls1_3')];
      const renewed = s.pki.pki.workload('server-renewed', SERVER_ID, 'ca', 'payments');
      s.writeIdentity({ cert: renewed.cert, key: renewed.key, ca: s.pki.ca.cert });
      await reloaded(s, 'credentials', 1);
      for (const [i, version] of VERSIONS.entries()) {
        const r = await attempt(s, [version, '-sess_in', sessions[i] ?? '']);
        assert.equal(r.reused, false, `${version}: resumed after the certificate change:\n${r.out}`);
        assert.equal(r.status, 200, 'the full handshake that follows is served');
      }
    } finally {
      await s.stop();
    }
  });

  it('does not resume sessions taken before allowedPeers changed, and checks the current list', async () => {
    const s = await startSidecar((c) => (c.mtls.allowedPeers = [CLIENT_ID]));
    try {
      const sessions = [await takeSession(s, '-tls1_2'), await takeSession(s, '-tls1_3')];
      s.writeConfig((c) => (c.mtls.allowedPeers = [CLIENT_ID, OTHER_ID]));
      await reloaded(s, 'config', 1);
      const kept: string[] = [];
      for (const [i, version] of VERSIONS.entries()) {
        const r = await attempt(s, [version, '-sess_in', sessions[i] ?? '']);
        assert.equal(r.reused, false, `${version}: resumed after allowedPeers changed:\n${r.out}`);
        assert.equal(r.status, 200, 'still allowed: served after a full handshake');
        kept.push(await takeSession(s, version));
      }
      // The caller is removed from the list: a session of the new generation must not carry it through.
      s.writeConfig((c) => (c.mtls.allowedPeers = [OTHER_ID]));
      await reloaded(s, 'config', 2);
      for (const [i, version] of VERSIONS.entries()) {
        const r = await attempt(s, [version, '-sess_in', kept[i] ?? '']);
        assert.equal(r.reused, false);
        assert.equal(r.status, 403, `${version}: a removed peer is refused:\n${r.out}`);
      }
    } finally {
      await s.stop();
    }
  });

  it('shares one ticket key between --workers and refuses old tickets in every worker after a change', async () => {
    const s = await startSidecar(() => undefined, { args: ['--workers', '2'] });
    const stopped: number[] = [];
    /** Runs `fn` while worker `pid` is stopped, so the kernel hands new connections to the other one. */
    const without = async <T>(pid: number, fn: () => Promise<T>): Promise<T> => {
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
      try {
        return await fn();
      } finally {
        process.kill(pid, 'SIGCONT');
        stopped.pop();
      }
    };
    try {
      const first = await connectTls(s);
      assert.equal(first.reused, false);
      assert.equal(await getStatus(first.socket), 200);
      const session = await first.session;
      const workerA = serverPid(s, first.socket);
      const onB = await without(workerA, () => connectTls(s, session));
      const workerB = serverPid(s, onB.socket);
      assert.notEqual(workerB, workerA);
      assert.equal(onB.reused, true, 'a ticket of one worker resumes on the other (one shared key)');
      assert.equal(await getStatus(onB.socket), 200);
      for (const c of [first, onB]) c.socket.destroy();

      const renewed = s.pki.pki.workload('server-renewed-w', SERVER_ID, 'ca', 'payments');
      s.writeIdentity({ cert: renewed.cert, key: renewed.key, ca: s.pki.ca.cert });
      await reloaded(s, 'credentials', 2);
      for (const [served, other] of [
        [workerA, workerB],
        [workerB, workerA],
      ] as const) {
        const r = await without(other, () => connectTls(s, session));
        assert.equal(serverPid(s, r.socket), served);
        assert.equal(r.reused, false, `worker ${served} resumed a ticket from before the change`);
        assert.equal(await getStatus(r.socket), 200);
        r.socket.destroy();
      }
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      await s.stop();
    }
  });
});

/** The certificate with one bit of its signature flipped (the private key still matches). */
function badSignature(dir: string, cert: Issued): Issued {
  const raw = Buffer.from(new X509Certificate(cert.cert).raw);
  raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
  const pem = `-----BEGIN CERTIFICATE-----\n${(raw.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
  const certPath = join(dir, 'bad-signature.crt');
  writeFileSync(certPath, pem);
  return { ...cert, cert: pem, certPath };
}

describe('sidecar e2e: the audit reason names why a client certificate was refused', () => {
  let s: RunningSidecar;
  const certs: Record<string, Issued> = {};
  const day = 86_400_000;
  before(async () => {
    s = await startSidecar();
    const { pki } = s.pki;
    const san = `subjectAltName=URI:${CLIENT_ID}`;
    const now = Date.now();
    certs['expired'] = pki.issue('expired', {
      san,
      eku: 'clientAuth',
      notBefore: asn1Time(new Date(now - 10 * day)),
      notAfter: asn1Time(new Date(now - day)),
    });
    certs['future'] = pki.issue('future', {
      san,
      eku: 'clientAuth',
      notBefore: asn1Time(new Date(now + day)),
    });
    pki.root('rogue');
    certs['unknown'] = pki.workload('unknown', CLIENT_ID, 'rogue');
    certs['self'] = pki.issue('self', { san, eku: 'clientAuth', selfSigned: true });
    certs['signature'] = badSignature(pki.dir, pki.workload('to-corrupt', CLIENT_ID));
    certs['usage'] = pki.issue('server-only', { san, eku: 'serverAuth' });
  });
  after(async () => {
    await s.stop();
  });

  const causes: [string, string, string][] = [
    ['audits an expired certificate as expired', 'expired', 'ACP_ERR_PEER_CERT_EXPIRED'],
    ['audits a certificate that is not yet valid as such', 'future', 'ACP_ERR_PEER_CERT_NOT_YET_VALID'],
    [
      'audits a certificate of an unknown CA as an unknown issuer',
      'unknown',
      'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER',
    ],
    ['audits a self-signed leaf as self-signed', 'self', 'ACP_ERR_PEER_CERT_SELF_SIGNED'],
    [
      'audits a certificate whose signature does not verify as a bad signature',
      'signature',
      'ACP_ERR_PEER_CERT_BAD_SIGNATURE',
    ],
    [
      'audits a certificate not meant for client authentication as a key usage error',
      'usage',
      'ACP_ERR_PEER_CERT_KEY_USAGE',
    ],
  ];
  for (const [name, which, code] of causes) {
    it(name, async () => {
      const before = s.app.bytes();
      for (const version of ['--tlsv1.2', '--tlsv1.3']) {
        const r = await curl(s, '/x', {
          cert: certs[which] ?? null,
          args: [version, '--tls-max', version.slice(6)],
        });
        assert.equal(r.status, 0, `${version}: served: ${r.status} ${r.body}`);
      }
      assert.equal(s.app.bytes(), before, 'the app received nothing');
      await auditReason(s, code, 2);
      const audited = s.auditRecords().filter((a) => a['reason'] === code);
      assert.equal(audited.length, 2, 'one audit record per refused handshake');
      assert.match(await s.metrics(), new RegExp(`tls_handshake_failures_total\\{reason="${code}"\\} 2\\n`));
    });
  }

  it('audits the cause in Permissive mode too (the certificate is optional, but verified when presented)', async () => {
    const p = await startSidecar((c) => (c.mtls.mode = 'Permissive'), { pki: s.pki });
    try {
      const r = await curl(p, '/x', { cert: certs['expired'] ?? null });
      assert.equal(r.status, 0);
      await auditReason(p, 'ACP_ERR_PEER_CERT_EXPIRED', 1);
      assert.equal((await curl(p, '/x', { cert: null })).status, 200, 'no certificate is allowed');
    } finally {
      await p.stop();
    }
  });

  it('refuses a resumed session whose certificate expired since the session began', async () => {
    const notAfter = new Date(Date.now() + 8000);
    const shortLived = s.pki.pki.issue('short-lived', {
      san: `subjectAltName=URI:${CLIENT_ID}`,
      eku: 'clientAuth',
      notAfter: asn1Time(notAfter),
    });
    const file = join(s.dir, 'short-lived.sess');
    const first = await attempt(s, ['-tls1_3', '-sess_out', file], shortLived);
    assert.equal(first.status, 200, first.out);
    await waitFor('the certificate to expire', () =>
      Date.now() > notAfter.getTime() + 1000 ? true : undefined,
    );
    const before = s.auditRecords().filter((a) => a['reason'] === 'ACP_ERR_PEER_CERT_EXPIRED').length;
    const r = await attempt(s, ['-tls1_3', '-sess_in', file], shortLived);
    assert.notEqual(r.status, 200, `served on a resumed session with an expired certificate:\n${r.out}`);
    await auditReason(s, 'ACP_ERR_PEER_CERT_EXPIRED', before + 1);
  });
});
