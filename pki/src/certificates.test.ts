import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate as NodeX509, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createRootCa, createSigner, type LeafRequest, type Signer } from './certificates.ts';
import { KEY_ALGORITHMS } from './keys.ts';

const now = new Date('2026-11-28T12:00:00Z');
const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'acp-pki-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function opensslVerify(rootPem: string, leafPem: string, atUnix: number): string {
  writeFileSync(join(dir, 'root.pem'), rootPem);
  writeFileSync(join(dir, 'leaf.pem'), leafPem);
  return execFileSync(
    'openssl',
    [
      'verify',
      '-x509_strict',
      '-attime',
      String(atUnix),
      '-purpose',
      'sslclient',
      '-CAfile',
      join(dir, 'root.pem'),
      join(dir, 'leaf.pem'),
    ],
    { encoding: 'utf8' },
  );
}

const leafRequest = (over: Partial<LeafRequest> = {}): LeafRequest => ({
  uriSans: ['spiffe://cluster.local/ns/shop/sa/checkout'],
  keyAlgorithm: 'ECDSA-P256',
  lifetimeMs: 24 * HOUR,
  backdateMs: 5 * 60_000,
  usages: ['serverAuth', 'clientAuth'],
  now,
  ...over,
});

describe('workload certificates', () => {
  let root: Awaited<ReturnType<typeof createRootCa>>;
  let signer: Signer;
  before(async () => {
    root = await createRootCa({
      commonName: 'acp test root',
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 3650 * 24 * HOUR,
      now,
    });
    signer = createSigner(root.certPem, root.keyPem);
  });

  for (const alg of KEY_ALGORITHMS) {
    it(`issues a ${alg} leaf that openssl verifies strictly against the root`, async () => {
      const leaf = await signer.issue(leafRequest({ keyAlgorithm: alg }));
      const out = opensslVerify(root.certPem, leaf.certPem, Math.floor(now.getTime() / 1000));
      assert.match(out, /leaf.pem: OK/);
      const key = createPrivateKey(leaf.keyPem);
      assert.equal(new NodeX509(leaf.certPem).checkPrivateKey(key), true);
      assert.equal(key.asymmetricKeyType, alg.startsWith('RSA') ? 'rsa' : 'ec');
    });
  }

  it('reads back the same fields through an independent X.509 implementation', async () => {
    const leaf = await signer.issue(leafRequest({ dnsSans: ['a.b.svc'], ipSans: ['127.0.0.1', '::1'] }));
    const cert = new x509.X509Certificate(leaf.certPem);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.toJSON(), [
      { type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/checkout' },
      { type: 'dns', value: 'a.b.svc' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ]);
    assert.equal(san?.critical, true, 'SAN is critical when the subject is empty');
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(
      [...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    );
    const rootSki = new x509.X509Certificate(root.certPem).getExtension(
      x509.SubjectKeyIdentifierExtension,
    )?.keyId;
    assert.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, rootSki);
    assert.equal(cert.notBefore.getTime(), now.getTime() - 5 * 60_000, 'notBefore is backdated');
    assert.equal(cert.notAfter.getTime(), now.getTime() + 24 * HOUR);
    assert.equal(
      await cert.verify({ publicKey: new x509.X509Certificate(root.certPem).publicKey, signatureOnly: true }),
      true,
    );
  });

  it('makes a root that is a CA with only keyCertSign and cRLSign', () => {
    const cert = new x509.X509Certificate(root.certPem);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, true);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.critical, true);
    assert.equal(
      cert.getExtension(x509.KeyUsagesExtension)?.usages,
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    assert.equal(cert.subject, 'O=acp.dev, CN=acp test root');
  });

  it('uses a new private key and serial for every certificate', async () => {
    const a = await signer.issue(leafRequest());
    const b = await signer.issue(leafRequest());
    assert.notEqual(a.keyPem, b.keyPem);
    assert.notEqual(a.serialNumber, b.serialNumber);
    assert.match(a.serialNumber, /^[4-7][0-9a-f]{31}$/, 'positive, 16 bytes');
  });

  it('never issues a leaf that outlives its CA', async () => {
    const shortRoot = await createRootCa({
      commonName: 'short',
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 2 * HOUR,
      now,
    });
    const leaf = await createSigner(shortRoot.certPem, shortRoot.keyPem).issue(leafRequest());
    assert.equal(leaf.notAfter.getTime(), shortRoot.notAfter.getTime());
  });

  it('signs with SHA-384 when the CA key is P-384 and with RSA when it is RSA', async () => {
    for (const [alg, sig] of [
      ['ECDSA-P384', 'ecdsa-with-SHA384'],
      ['RSA-2048', 'sha256WithRSAEncryption'],
    ] as const) {
      const r = await createRootCa({ commonName: alg, keyAlgorithm: alg, lifetimeMs: 24 * HOUR, now });
      const leaf = await createSigner(r.certPem, r.keyPem).issue(leafRequest());
      writeFileSync(join(dir, 'l.pem'), leaf.certPem);
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'l.pem'), '-noout', '-text'], {
        encoding: 'utf8',
      });
      assert.match(text, new RegExp(`Signature Algorithm: ${sig}`));
      assert.match(opensslVerify(r.certPem, leaf.certPem, Math.floor(now.getTime() / 1000)), /OK/);
    }
  });

  it('gives a serving certificate a subject common name and a non-critical SAN', async () => {
    const leaf = await signer.issue(
      leafRequest({
        commonName: 'acp-webhook.acp-system.svc',
        uriSans: [],
        dnsSans: ['acp-webhook.acp-system.svc'],
        usages: ['serverAuth'],
      }),
    );
    const cert = new x509.X509Certificate(leaf.certPem);
    assert.equal(cert.subject, 'CN=acp-webhook.acp-system.svc');
    assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical, false);
  });
});
