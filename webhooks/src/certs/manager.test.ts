import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { splitPemCertificates } from '@acp/pki';
import { FakeClock } from '@acp/kube/testing';
import { MemoryCertStore, silentLogger } from '../testing/fakes.ts';
import { ServingCertManager, type ServingCertificate } from './manager.ts';
import type { CertSettings } from './plan.ts';

const H = 3_600_000;
const settings: CertSettings = {
  caLifetimeMs: 300 * H,
  caRenewBeforeMs: 100 * H,
  leafLifetimeMs: 30 * H,
  leafRenewBeforeMs: 10 * H,
  propagationMs: 60_000,
  retireGraceMs: 600_000,
  sans: ['DNS:acp-webhook.acp-system.svc', 'IP:127.0.0.1'],
};

function setup(store = new MemoryCertStore(), clock = new FakeClock(new Date())) {
  const served: ServingCertificate[] = [];
  const manager = new ServingCertManager({
    store,
    settings,
    clock,
    log: silentLogger(),
    onServe: (c) => served.push(c),
  });
  return { store, clock, manager, served };
}

const cas = (pem: string): string[] =>
  splitPemCertificates(pem).map((p) => new X509Certificate(p).fingerprint256);
const issuer = (leafPem: string, bundlePem: string): string | undefined => {
  const leaf = new X509Certificate(leafPem);
  return splitPemCertificates(bundlePem)
    .map((p) => new X509Certificate(p))
    .find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey))?.fingerprint256;
};

describe('ServingCertManager', () => {
  it('bootstraps a CA and a leaf, publishes the CA, and serves the leaf', async () => {
    const { store, manager, served } = setup();
    const { steps } = await manager.reconcile();
    assert.deepEqual(steps, ['bootstrap', 'publish', 'markPublished']);
    assert.equal(served.length, 1);
    const bundle = store.secret!.data['ca.crt']!;
    assert.ok(
      store.bundles.every((b) => b === bundle),
      'every entry carries the bundle',
    );
    assert.ok(issuer(served[0]!.certPem, bundle), 'the served leaf chains to the published CA');
    const sans = new X509Certificate(served[0]!.certPem).subjectAltName;
    assert.equal(sans, 'DNS:acp-webhook.acp-system.svc, IP Address:127.0.0.1');
    assert.deepEqual((await manager.reconcile()).steps, [], 'then nothing to do');
  });

  it('a second replica adopts the stored certificate instead of making its own', async () => {
    const a = setup();
    await a.manager.reconcile();
    const b = setup(a.store);
    assert.deepEqual((await b.manager.reconcile()).steps, []);
    assert.equal(b.served[0]!.certPem, a.served[0]!.certPem);
  });

  it('a write conflict fails this reconcile and the next one converges', async () => {
    const { store, manager } = setup();
    store.conflictOnce = true;
    await assert.rejects(manager.reconcile(), { code: 'ACP_ERR_CONFLICT' });
    assert.deepEqual((await manager.reconcile()).steps, ['bootstrap', 'publish', 'markPublished']);
  });

  it('rotates the CA in order: publish both, wait, serve the new leaf, wait, retire the old CA', async () => {
    const { store, clock, manager, served } = setup();
    await manager.reconcile();
    const oldCa = cas(store.secret!.data['ca.crt']!)[0]!;

    manager.requestCaRotation();
    const r1 = await manager.reconcile();
    assert.deepEqual(r1.steps, ['rotateCa', 'publish', 'markPublished']);
    assert.equal(cas(store.bundles[0]!).length, 2, 'both CAs are published');
    assert.equal(served.length, 1, 'the old leaf is still served');
    assert.ok(r1.nextCheckMs <= settings.propagationMs, 'it comes back when the propagation wait is over');

    clock.advance(settings.propagationMs - 1000);
    assert.deepEqual((await manager.reconcile()).steps, [], 'nothing is served before the bundle propagated');

    clock.advance(1000);
    assert.deepEqual((await manager.reconcile()).steps, ['issueLeaf']);
    assert.equal(served.length, 2, 'the new leaf is handed to the server');
    const newCa = issuer(served[1]!.certPem, store.bundles[0]!);
    assert.ok(newCa && newCa !== oldCa, 'the new leaf comes from the new CA');

    clock.advance(settings.retireGraceMs);
    assert.deepEqual((await manager.reconcile()).steps, ['trimBundle', 'publish']);
    assert.deepEqual(cas(store.bundles[0]!), [newCa]);
  });

  it('renews the leaf from the same CA when it enters its renewal window', async () => {
    const { store, clock, manager, served } = setup();
    await manager.reconcile();
    clock.advance(settings.leafLifetimeMs - settings.leafRenewBeforeMs + 1000);
    assert.deepEqual((await manager.reconcile()).steps, ['issueLeaf']);
    assert.equal(served.length, 2);
    assert.equal(cas(store.bundles[0]!).length, 1, 'the bundle does not change');
  });

  it('a Secret with garbage is replaced by a fresh CA and leaf', async () => {
    const store = new MemoryCertStore();
    store.secret = { resourceVersion: '0', data: { 'tls.crt': 'junk', 'ca.crt': 'junk' }, annotations: {} };
    store.version = 0;
    const { manager, served } = setup(store);
    assert.deepEqual((await manager.reconcile()).steps, ['bootstrap', 'publish', 'markPublished']);
    assert.equal(served.length, 1);
  });
});
