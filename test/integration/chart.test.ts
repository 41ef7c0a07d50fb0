// The Helm chart against the real apiserver: it lints, renders, and every
// object it renders is accepted by kube-apiserver (server-side dry run, so
// its webhook configurations never intercept other tests' pods).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { createNamespace, helm, kubectl, useCluster, type TestCluster } from '../src/index.ts';
import { OPERATOR_NODE_FLAGS } from '../harness/operator.ts';

const chart = join(import.meta.dirname, '..', '..', 'charts', 'api-compliance-operator');

describe('Helm chart', () => {
  let cluster: TestCluster;
  let ns: string;
  before(async () => {
    cluster = await useCluster();
    ns = await createNamespace(cluster, 'chart');
  });

  it('passes helm lint', async () => {
    const r = await helm(cluster, ['lint', chart]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the operator, the webhook, their RBAC and both webhook configurations', async () => {
    const r = await helm(cluster, ['template', 'acp', chart, '--namespace', ns, '--include-crds']);
    assert.equal(r.code, 0, r.stderr);
    const kinds = parseAllDocuments(r.stdout).map((d) => {
      const o = d.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      return `${o?.kind ?? ''}/${o?.metadata?.name ?? ''}`;
    });
    for (const want of [
      'CustomResourceDefinition/apicompliancepolicies.compliance.acp.dev',
      'Deployment/acp-operator',
      'ServiceAccount/acp-operator',
      'MutatingWebhookConfiguration/acp-sidecar-injector',
      'ValidatingWebhookConfiguration/acp-policy-validator',
    ]) {
      assert.ok(kinds.includes(want), `${want} in ${kinds.join(', ')}`);
    }
  });

  it('runs the operator with the node flags the tests and benchmarks run it with', async () => {
    const r = await helm(cluster, ['template', 'acp', chart, '--namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
    const deployment = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; spec?: unknown } | null)
      .find((o) => o?.kind === 'Deployment' && o.metadata?.name === 'acp-operator') as
      { spec: { template: { spec: { containers: { name: string; command: string[] }[] } } } } | undefined;
    const command = deployment?.spec.template.spec.containers.find((c) => c.name === 'operator')?.command;
    assert.deepEqual(command, ['node', ...OPERATOR_NODE_FLAGS, 'operator/src/main.ts']);
  });

  it('renders only objects the apiserver accepts (server-side dry run)', async () => {
    const r = await helm(cluster, ['template', 'acp', chart, '--namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
    const applied = await kubectl(cluster, ['apply', '--dry-run=server', '-n', ns, '-f', '-'], r.stdout);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /deployment.apps\/acp-operator created \(server dry run\)/);
    assert.match(
      applied.stdout,
      /mutatingwebhookconfiguration.admissionregistration.k8s.io\/acp-sidecar-injector created \(server dry run\)/,
    );
  });
});
