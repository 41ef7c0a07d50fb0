import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { createRootCa, createSigner, type IssuedCertificate } from '@acp/pki';
import type { Secret } from '@acp/kube';
import { inspectIdentitySecret } from './inspect.ts';
import { identitySecret } from './secret.ts';

const now = new Date();
const settings = { keyAlgorithm: 'ECDSA-P256' as const, lifetimeMs: 3_600_000, renewBeforeMs: 1_200_000 };
const id = 'spiffe://cluster.local/ns/shop/sa/checkout';

describe('inspectIdentitySecret', () => {
  let ca: X509Certificate;
  let other: X509Certificate;
  let leaf: IssuedCertificate;
  let secret: Secret;
  before(async () => {
    const root = await createRootCa({
      commonName: 'root',
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 86_400_000,
      now,
    });
    const otherRoot = await createRootCa({
      commonName: 'other',
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 86_400_000,
      now,
    });
    ca = new X509Certificate(root.certPem);
    other = new X509Certificate(otherRoot.certPem);
    leaf = await createSigner(root.certPem, root.keyPem).issue({
      uriSans: [id],
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 3_600_000,
      backdateMs: 0,
      usages: ['serverAuth', 'clientAuth'],
      now,
    });
    secret = identitySecret({
      namespace: 'shop',
      serviceAccount: 'checkout',
      spiffeId: id,
      issued: leaf,
      chainPem: [],
      bundlePem: root.certPem,
      settings,
      issuerFingerprint: ca.fingerprint256,
    });
  });
  const withData = (data: Record<string, string>): Secret => ({
    ...secret,
    data: { ...secret.data, ...data },
  });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  it('reads back what the operator wrote', () => {
    const r = inspectIdentitySecret(secret, [ca]);
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.deepEqual(r.value.spiffeIds, [id]);
    assert.equal(r.value.issuerFingerprint, ca.fingerprint256);
    assert.equal(r.value.keyAlgorithm, 'ECDSA-P256');
    assert.equal(r.value.serialNumber, leaf.serialNumber);
  });
  it('finds no trusted issuer for a leaf signed by another CA', () => {
    const r = inspectIdentitySecret(secret, [other]);
    assert.equal(r.ok && r.value.issuerFingerprint, undefined);
  });
  const problems: [string, () => Secret, RegExp][] = [
    [
      'says so when tls.key is missing',
      () => ({ ...secret, data: { 'tls.crt': secret.data!['tls.crt']! } }),
      /missing/,
    ],
    [
      'says so when tls.crt is garbage',
      () => withData({ 'tls.crt': b64('not a certificate') }),
      /does not parse/,
    ],
  ];
  for (const [name, make, problem] of problems) {
    it(name, () => {
      const r = inspectIdentitySecret(make(), [ca]);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.problem, problem);
    });
  }
  it('says so when the key belongs to another certificate', async () => {
    const root = await createRootCa({
      commonName: 'x',
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 86_400_000,
      now,
    });
    const r = inspectIdentitySecret(withData({ 'tls.key': b64(root.keyPem) }), [ca]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.problem, /does not match/);
  });
  it('never puts key material in a problem', () => {
    const r = inspectIdentitySecret(withData({ 'tls.crt': b64('junk') }), [ca]);
    if (!r.ok) assert.doesNotMatch(r.problem, /PRIVATE KEY/);
  });
});
