// Day two on the real node: `helm uninstall` keeps policies, the CRD and the
// CA; a previous release is installed over a cluster whose CRD has the
// previous schema; `helm upgrade` to this chart upgrades the CRD (the
// operator's leader applies the schema its image ships) while policies,
// workload certificates, the CA and the running sidecars keep working;
// `helm rollback` does not downgrade the CRD and keeps everything working.
//
// "The previous release" is this chart relabelled 0.0.9 with
// operator.manageCrd=false over the previous CRD schema (without
// spec.limits.maxUrlBytes, added in this release): the image is the same,
// since no earlier image was ever published.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { helm, kubectl, useCluster, type TestCluster } from '../../harness/cluster.ts';
import { meshRequest } from '../../harness/mesh-client.ts';
import {
  deployShop,
  CHART,
  installChart,
  must,
  newWorkloadIdentity,
  readyPods,
  RELEASE,
  RELEASE_NAMESPACE,
  testIssuer,
  writeClientIdentity,
  type PodInfo,
} from '../../harness/node/product.ts';
import { eventually } from '../../harness/operator.ts';

const image = process.env['ACP_TEST_IMAGE'] ?? '';
const NS = 'upg';
const CRD = 'apicompliancepolicies.compliance.acp.dev';

interface CrdJson {
  metadata: { annotations?: Record<string, string>; resourceVersion?: string; managedFields?: unknown };
  spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, LimitsHolder> } } }[] };
}
interface LimitsHolder {
  properties: { limits: { properties: Record<string, unknown> } };
}

const limitsOf = (crd: CrdJson): Record<string, unknown> =>
  crd.spec.versions[0]?.schema.openAPIV3Schema.properties['spec']?.properties.limits.properties ?? {};

describe('helm upgrade, rollback and uninstall on the real node', { timeout: 900_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let token: string;
  let payments: PodInfo;
  let caSerial: string;
  let previousChart: string;

  const call = () =>
    meshRequest({
      host: payments.ip,
      port: 8443,
      path: '/v1/balance',
      dir,
      as: 'checkout',
      expect: `spiffe://cluster.local/ns/${NS}/sa/payments`,
      headers: { authorization: `Bearer ${token}` },
    });
  const caSecretSerial = async (): Promise<string> => {
    const crt = await must(cluster, [
      'get',
      'secret',
      'acp-ca',
      '-n',
      RELEASE_NAMESPACE,
      '-o',
      'jsonpath={.data.tls\\.crt}',
    ]);
    return new X509Certificate(Buffer.from(crt, 'base64')).serialNumber;
  };
  const policyWithUrlLimit = (): object => ({
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name: 'url-limit', namespace: NS },
    spec: {
      selector: { matchLabels: { app: 'none' } },
      upstream: { port: 8080 },
      limits: { maxUrlBytes: '4Ki' },
    },
  });

  before(async () => {
    assert.ok(image, 'ACP_TEST_IMAGE is set by the test command');
    cluster = await useCluster();
    dir = mkdtempSync(join(tmpdir(), 'acp-upgrade-'));
    previousChart = join(dir, 'chart');
    cpSync(CHART, previousChart, { recursive: true });
    const chartYaml = join(previousChart, 'Chart.yaml');
    writeFileSync(
      chartYaml,
      readFileSync(chartYaml, 'utf8')
        .replace(/^version: .*$/m, 'version: 0.0.9')
        .replace(/^appVersion: .*$/m, 'appVersion: "0.0.9"'),
    );
    const issuer = testIssuer();
    const jwk = issuer.jwk;
    token = await issuer.sign('payments:read');
    // a running installation with workloads, as the earlier files of this phase left it (or fresh)
    await installChart(cluster, image);
    payments = await deployShop(cluster, NS, image, jwk);
    await writeClientIdentity(cluster, NS, 'checkout', dir);
    await eventually(
      '200 from payments',
      async () => ((await call()).status === 200 ? true : undefined),
      60_000,
    );
    caSerial = await caSecretSerial();
  });

  test('helm uninstall leaves the CRD, the policies and the CA; the running sidecars keep serving', async () => {
    const r = await helm(cluster, ['uninstall', RELEASE, '-n', RELEASE_NAMESPACE, '--wait']);
    assert.equal(r.code, 0, r.stderr);
    await must(cluster, ['get', 'crd', CRD]);
    assert.match(await must(cluster, ['get', 'acp', '-n', NS, '-o', 'name']), /payments/);
    assert.equal(await caSecretSerial(), caSerial, 'the CA Secret is kept');
    assert.equal((await call()).status, 200, 'the sidecar serves without the control plane');
  });

  test('the previous release installs over a cluster with the previous CRD schema', async () => {
    // the previous schema: no spec.limits.maxUrlBytes (PUT replaces the whole object, whoever owned the field)
    const crd = JSON.parse(await must(cluster, ['get', 'crd', CRD, '-o', 'json'])) as CrdJson;
    delete limitsOf(crd)['maxUrlBytes'];
    delete crd.metadata.annotations;
    delete crd.metadata.managedFields;
    await must(cluster, ['replace', '-f', '-'], JSON.stringify(crd));
    await installChart(cluster, image, ['operator.manageCrd=false'], previousChart);
    const refused = await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(policyWithUrlLimit()));
    assert.notEqual(refused.code, 0, 'the previous schema does not know maxUrlBytes');
    assert.match(refused.stderr, /maxUrlBytes/);
    assert.equal((await call()).status, 200);
  });

  test('helm upgrade to this release upgrades the CRD and keeps policies, certificates, the CA and running sidecars', async () => {
    const t0 = Date.now();
    await installChart(cluster, image);
    const crd = await eventually(
      'the leader upgrading the CRD',
      async () => {
        const c = JSON.parse(await must(cluster, ['get', 'crd', CRD, '-o', 'json'])) as CrdJson;
        return 'maxUrlBytes' in limitsOf(c) ? c : undefined;
      },
      120_000,
    );
    process.stdout.write(
      `# figure: helm upgrade to CRD upgraded: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    assert.equal(crd.metadata.annotations?.['acp.dev/operator-version'], '0.1.0');
    await must(cluster, ['apply', '-f', '-'], JSON.stringify(policyWithUrlLimit()));
    assert.equal(await caSecretSerial(), caSerial, 'same CA');
    const [now] = (await readyPods(cluster, NS, 'app=payments')) as [PodInfo];
    assert.equal(now.name, payments.name, 'the workload pod was not replaced');
    assert.equal(
      now.restarts['acp-sidecar'],
      payments.restarts['acp-sidecar'],
      'its sidecar was not restarted',
    );
    assert.equal((await call()).status, 200);
    // the upgraded operator still issues identities
    await newWorkloadIdentity(cluster, NS, 'after-upgrade', image);
  });

  test('helm rollback keeps the newer CRD and everything working', async () => {
    const r = await helm(cluster, [
      'rollback',
      RELEASE,
      '1',
      '-n',
      RELEASE_NAMESPACE,
      '--wait',
      '--timeout',
      '5m',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const version = (
      await must(cluster, [
        'get',
        'deploy',
        'acp-operator',
        '-n',
        RELEASE_NAMESPACE,
        '-o',
        'jsonpath={.spec.template.spec.containers[0].args}',
      ])
    ).includes('--version=0.0.9');
    assert.ok(version, 'the previous release runs again');
    await must(cluster, [
      'rollout',
      'status',
      'deploy/acp-operator',
      '-n',
      RELEASE_NAMESPACE,
      '--timeout=180s',
    ]);
    const crd = JSON.parse(await must(cluster, ['get', 'crd', CRD, '-o', 'json'])) as CrdJson;
    assert.ok('maxUrlBytes' in limitsOf(crd), 'the CRD was not downgraded');
    assert.match(
      await must(cluster, ['get', 'acp', 'url-limit', '-n', NS, '-o', 'jsonpath={.spec.limits.maxUrlBytes}']),
      /4Ki/,
    );
    assert.equal((await call()).status, 200);
    assert.equal(await caSecretSerial(), caSerial, 'same CA');
    await newWorkloadIdentity(cluster, NS, 'after-rollback', image);
  });
});
