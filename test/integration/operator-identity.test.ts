// Workload identities on a real control plane, the operator running as a
// process under the chart's RBAC: Secrets appear for selected service
// accounts, verify with node:crypto and openssl against the trust bundle,
// are restored when deleted or tampered with, reissued when the policy's
// key algorithm changes, and renewed with a new key before they expire.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kubectl, startOperator, useCluster, type OperatorProcess, type TestCluster } from '../src/index.ts';
import {
  applyPolicy,
  bundleSize,
  createWorkload,
  eventReasons,
  eventually,
  must,
  opensslVerify,
  operatorEnv,
  policyCondition,
  readBundle,
  readIdentity,
  type OperatorEnv,
} from './identity-fixtures.ts';

describe('operator: workload identities', () => {
  let cluster: TestCluster;
  let env: OperatorEnv;
  let operator: OperatorProcess;
  let ns: string;

  before(async () => {
    cluster = await useCluster();
    env = await operatorEnv(cluster, 'identity');
    ns = env.workloadNamespace;
    operator = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [ns],
      identity: 'op-identity',
      args: ['--cert-backdate=1m'],
    });
    await createWorkload(cluster, ns, 'checkout', 'checkout-1', { app: 'payments' });
    await createWorkload(cluster, ns, 'storefront', 'web-1', { app: 'web' });
    await applyPolicy(cluster, ns, 'payments', 'payments', { lifetime: '2m', renewBefore: '50s' });
  });
  after(async () => {
    await operator?.stop();
  });

  it('issues a Secret for the selected service account only', async () => {
    const id = await eventually('the checkout identity', () => readIdentity(cluster, ns, 'checkout'));
    assert.ok(id.leaf);
    assert.equal(await readIdentity(cluster, ns, 'storefront'), undefined, 'no policy selects storefront');
  });

  it('puts exactly the SPIFFE ID, the EKUs and the lifetime asked for into the certificate', async () => {
    const id = (await readIdentity(cluster, ns, 'checkout'))!;
    assert.equal(id.leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${ns}/sa/checkout`);
    assert.equal(id.leaf.ca, false);
    assert.deepEqual(id.leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const lifetime = id.leaf.validToDate.getTime() - id.leaf.validFromDate.getTime();
    assert.equal(lifetime, 2 * 60_000 + 60_000, 'lifetime plus the 1m backdate');
    assert.equal(id.leaf.checkPrivateKey(createPrivateKey(id.keyPem)), true);
    assert.equal(createPrivateKey(id.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('chains to the trust bundle of the namespace (openssl verify)', async () => {
    const bundle = await eventually('the trust bundle', () => readBundle(cluster, ns));
    const id = (await readIdentity(cluster, ns, 'checkout'))!;
    assert.match(opensslVerify(id.certPem, bundle), /leaf.pem: OK/);
    assert.equal(id.caPem, bundle, 'the Secret carries the bundle it was issued with');
  });

  it('reports CertificatesReady with the renewal time and records CertificateIssued', async () => {
    const c = await eventually('CertificatesReady=True', async () => {
      const cond = await policyCondition(cluster, ns, 'payments', 'CertificatesReady');
      return cond?.status === 'True' ? cond : undefined;
    });
    assert.equal(c.reason, 'Issued');
    const status = JSON.parse(
      await must(cluster, ['get', 'acp', 'payments', '-n', ns, '-o', 'jsonpath={.status.certificates}']),
    ) as Record<string, unknown>;
    assert.equal(status['serviceAccounts'], 1);
    assert.ok(Date.parse(String(status['nextRenewalTime'])) < Date.parse(String(status['earliestExpiry'])));
    const events = await eventReasons(cluster, ns);
    assert.ok(
      events.some((e) => e.reason === 'CertificateIssued' && e.regarding === 'ApiCompliancePolicy/payments'),
      JSON.stringify(events),
    );
  });

  it('restores a deleted Secret', async () => {
    const before = (await readIdentity(cluster, ns, 'checkout'))!;
    await must(cluster, ['delete', 'secret', 'acp-identity-checkout', '-n', ns]);
    const after = await eventually('the restored Secret', async () => {
      const id = await readIdentity(cluster, ns, 'checkout');
      return id && id.leaf.serialNumber !== before.leaf.serialNumber ? id : undefined;
    });
    assert.equal(after.leaf.subjectAltName, before.leaf.subjectAltName);
  });

  it('restores a Secret whose key was replaced, and says so in a Warning', async () => {
    const before = (await readIdentity(cluster, ns, 'checkout'))!;
    const foreign = (await readIdentity(cluster, ns, 'checkout'))!;
    const otherKey = createPrivateKey({ key: foreign.keyPem })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const { generateKeyPairSync } = await import('node:crypto');
    const wrong = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    assert.notEqual(wrong, otherKey);
    await must(cluster, [
      'patch',
      'secret',
      'acp-identity-checkout',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ data: { 'tls.key': Buffer.from(wrong).toString('base64') } }),
    ]);
    const after = await eventually('the repaired Secret', async () => {
      const id = await readIdentity(cluster, ns, 'checkout');
      return id && id.leaf.serialNumber !== before.leaf.serialNumber ? id : undefined;
    });
    assert.equal(after.leaf.checkPrivateKey(createPrivateKey(after.keyPem)), true);
    const events = await eventReasons(cluster, ns);
    assert.ok(
      events.some(
        (e) => e.reason === 'CertificateRestored' && e.type === 'Warning' && /does not match/.test(e.note),
      ),
      JSON.stringify(events),
    );
  });

  it('restores a Secret whose certificate was swapped for one with another identity', async () => {
    await createWorkload(cluster, ns, 'refunds', 'refunds-1', { app: 'payments' });
    const refunds = await eventually('the refunds identity', () => readIdentity(cluster, ns, 'refunds'));
    await must(cluster, [
      'patch',
      'secret',
      'acp-identity-checkout',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({
        data: {
          'tls.crt': Buffer.from(refunds.certPem).toString('base64'),
          'tls.key': Buffer.from(refunds.keyPem).toString('base64'),
        },
      }),
    ]);
    const fixed = await eventually('checkout with its own identity again', async () => {
      const id = await readIdentity(cluster, ns, 'checkout');
      return id?.leaf.subjectAltName?.endsWith('/sa/checkout') ? id : undefined;
    });
    assert.equal(fixed.leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${ns}/sa/checkout`);
  });

  it('reissues with the new key type when the policy changes keyAlgorithm', async () => {
    await applyPolicy(cluster, ns, 'payments', 'payments', {
      lifetime: '2m',
      renewBefore: '50s',
      keyAlgorithm: 'ECDSA-P384',
    });
    const id = await eventually('a P-384 identity', async () => {
      const i = await readIdentity(cluster, ns, 'checkout');
      return i && createPrivateKey(i.keyPem).asymmetricKeyDetails?.namedCurve === 'secp384r1' ? i : undefined;
    });
    assert.equal(id.annotations['acp.dev/key-algorithm'], 'ECDSA-P384');
  });

  it('renews before expiry with a new private key (2m lifetime, 50s renewBefore)', async () => {
    const first = (await readIdentity(cluster, ns, 'checkout'))!;
    const renewed = await eventually(
      'a renewal',
      async () => {
        const id = await readIdentity(cluster, ns, 'checkout');
        return id && id.leaf.serialNumber !== first.leaf.serialNumber ? id : undefined;
      },
      120_000,
      1000,
    );
    assert.notEqual(renewed.keyPem, first.keyPem, 'a new private key on every renewal');
    assert.ok(Date.now() < first.leaf.validToDate.getTime(), 'renewed before the old certificate expired');
    const events = await eventReasons(cluster, ns);
    assert.ok(
      events.some((e) => e.reason === 'CertificateRenewed'),
      JSON.stringify(events.map((e) => e.reason)),
    );
    assert.equal(bundleSize((await readBundle(cluster, ns))!), 1);
  });

  it('exposes the expiry metric per service account and never logs a private key', async () => {
    const metrics = await operator.metrics();
    assert.match(
      metrics,
      new RegExp(
        `acp_operator_certificate_expiry_timestamp_seconds\\{namespace="${ns}",service_account="checkout"\\} \\d+`,
      ),
    );
    assert.match(metrics, /acp_operator_certificates_issued_total\{reason="Missing"/);
    // When renewal is due (the ACPWorkloadCertificateRenewalOverdue alert): before the expiry.
    const sample = (name: string): number => {
      const m = new RegExp(
        `^${name}\\{namespace="${ns}",service_account="checkout"\\} (\\d+(?:\\.\\d+)?)$`,
        'm',
      ).exec(metrics);
      assert.ok(m, `${name} for checkout in\n${metrics}`);
      return Number(m[1]);
    };
    const renewal = sample('acp_operator_certificate_renewal_timestamp_seconds');
    const expiry = sample('acp_operator_certificate_expiry_timestamp_seconds');
    assert.ok(renewal < expiry, `renewal ${renewal} before expiry ${expiry}`);
    const logs = JSON.stringify(operator.logs());
    assert.doesNotMatch(logs, /PRIVATE KEY/);
    const events = JSON.stringify(await eventReasons(cluster, ns));
    assert.doesNotMatch(events, /PRIVATE KEY/);
  });

  it('deletes the identity when no selected pod uses it any more', async () => {
    await kubectl(cluster, ['delete', 'pod', 'refunds-1', '-n', ns, '--grace-period=0', '--force']);
    await eventually('the refunds identity to go', async () =>
      (await readIdentity(cluster, ns, 'refunds')) ? undefined : true,
    );
  });
});
