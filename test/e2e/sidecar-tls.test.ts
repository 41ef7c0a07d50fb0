// End-to-end: the running sidecar's TLS listener refuses old protocols,
// non-AEAD and AES-128 suites and unlisted groups, and refuses every
// client certificate that does not carry exactly one SPIFFE ID of the trust
// domain; a refused connection delivers zero bytes to the app. Driven with
// openssl s_client and curl.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  curl,
  HSTS,
  OTHER_ID,
  sClient,
  startSidecar,
  CLIENT_ID,
  type RunningSidecar,
} from './sidecar-support.ts';
import type { Issued } from '../../sidecar/src/testing/pki.ts';

describe('sidecar e2e: TLS and client certificates', () => {
  let s: RunningSidecar;
  const bad: Record<string, Issued> = {};
  before(async () => {
    s = await startSidecar((c) => (c.mtls.allowedPeers = [CLIENT_ID]));
    const { pki } = s.pki;
    pki.root('rogue');
    bad['untrusted'] = pki.workload('untrusted', CLIENT_ID, 'rogue');
    bad['no-uri'] = pki.issue('no-uri', { san: 'subjectAltName=DNS:checkout', eku: 'clientAuth' });
    bad['two-uris'] = pki.issue('two-uris', {
      san: `subjectAltName=URI:${CLIENT_ID},URI:spiffe://cluster.local/ns/shop/sa/x`,
      eku: 'clientAuth',
    });
    bad['dns-spiffe'] = pki.issue('dns-spiffe', {
      san: `subjectAltName=DNS:${CLIENT_ID}`,
      eku: 'clientAuth',
    });
    bad['wrong-td'] = pki.issue('wrong-td', {
      san: 'subjectAltName=URI:spiffe://evil.example/ns/shop/sa/checkout',
      eku: 'clientAuth',
    });
    bad['ca-leaf'] = pki.issue('ca-leaf', {
      san: `subjectAltName=URI:${CLIENT_ID}`,
      eku: 'clientAuth',
      ca: true,
    });
    bad['server-only'] = pki.issue('server-only', {
      san: `subjectAltName=URI:${CLIENT_ID}`,
      eku: 'serverAuth',
    });
  });
  after(async () => {
    await s.stop();
  });

  it('serves a TLS 1.3 client with AES-256-GCM and a valid workload certificate', async () => {
    const r = await sClient(s, ['-tls1_3', '-ciphersuites', 'TLS_AES_256_GCM_SHA384']);
    assert.match(r.out, /TLS_AES_256_GCM_SHA384/);
    assert.match(r.out, /HTTP\/1.1 200/);
  });
  it('serves a TLS 1.2 client with ECDHE-ECDSA-AES256-GCM-SHA384', async () => {
    const r = await sClient(s, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
    assert.match(r.out, /HTTP\/1.1 200/);
  });
  it('serves CHACHA20-POLY1305 on TLS 1.3', async () => {
    const r = await sClient(s, ['-tls1_3', '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256']);
    assert.match(r.out, /HTTP\/1.1 200/);
  });

  const refusedHandshakes: [string, string[]][] = [
    ['refuses TLS 1.1', ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']],
    ['refuses TLS 1.0', ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0']],
    [
      'refuses a CBC suite on TLS 1.2',
      ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA'],
    ],
    ['refuses AES-128-GCM on TLS 1.2', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']],
    ['refuses AES-128-GCM on TLS 1.3', ['-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256']],
    ['refuses a client offering only an unlisted group (P-521)', ['-tls1_3', '-groups', 'P-521']],
  ];
  for (const [name, args] of refusedHandshakes) {
    it(name, async () => {
      const before = s.app.bytes();
      const r = await sClient(s, args);
      assert.doesNotMatch(r.out, /HTTP\/1.1 200/);
      assert.match(r.out, /alert|error|no cipher|handshake failure|Cipher is \(NONE\)/i);
      assert.equal(s.app.bytes(), before, 'the app received nothing');
    });
  }

  it('refuses a client without a certificate in Strict mode', async () => {
    const before = s.app.bytes();
    const r = await curl(s, '/x', { cert: null });
    assert.notEqual(r.exit, 0);
    assert.equal(r.status, 0);
    assert.equal(s.app.bytes(), before);
    assert.match(
      await s.metrics(),
      /tls_handshake_failures_total\{reason="ACP_ERR_TLS_NO_CLIENT_CERT"\} [1-9]/,
    );
  });

  const refusedCerts: [string, string, string][] = [
    ['refuses a certificate from an untrusted CA', 'untrusted', ''],
    ['refuses a certificate without a URI SAN', 'no-uri', 'ACP_ERR_PEER_CERT_NO_URI_SAN'],
    ['refuses a certificate with two URI SANs', 'two-uris', 'ACP_ERR_PEER_CERT_MULTIPLE_URI_SANS'],
    ['refuses a SPIFFE ID in a DNS SAN', 'dns-spiffe', 'ACP_ERR_PEER_CERT_SPIFFE_IN_DNS_SAN'],
    ['refuses a SPIFFE ID of another trust domain', 'wrong-td', 'ACP_ERR_PEER_CERT_TRUST_DOMAIN'],
    ['refuses a CA certificate used as a client certificate', 'ca-leaf', 'ACP_ERR_PEER_CERT_IS_CA'],
    ['refuses a certificate without the clientAuth usage', 'server-only', ''],
  ];
  for (const [name, which, reason] of refusedCerts) {
    it(name, async () => {
      const before = s.app.bytes();
      const r = await curl(s, '/x', { cert: bad[which]! });
      assert.notEqual(r.exit, 0, `curl should fail: ${r.status} ${r.body}`);
      assert.equal(r.status, 0);
      assert.equal(s.app.bytes(), before, 'the app received nothing');
      if (reason) assert.match(await s.metrics(), new RegExp(`reason="${reason}"\\} [1-9]`));
    });
  }

  it('answers 403 with HSTS to a verified peer that is not in allowedPeers, and the app sees nothing', async () => {
    const before = s.app.bytes();
    const r = await curl(s, '/x', { cert: s.pki.other });
    assert.equal(r.status, 403);
    assert.equal(r.headers['strict-transport-security'], HSTS);
    assert.equal(JSON.parse(r.body).error, 'ACP_ERR_PEER_NOT_ALLOWED');
    assert.equal(s.app.bytes(), before);
    const rec = s.auditRecords().find((a) => a['peer'] === OTHER_ID);
    assert.ok(rec === undefined || rec['reason'] === 'ACP_ERR_PEER_NOT_ALLOWED');
  });
  it('forwards an allowed peer with its SPIFFE ID', async () => {
    const r = await curl(s, '/hello');
    assert.equal(r.status, 200);
    assert.equal(r.headers['strict-transport-security'], HSTS);
    assert.equal(s.app.requests.at(-1)?.headers['x-acp-peer-id'], CLIENT_ID);
  });
});
