// The Helm chart against the real apiserver: it lints, renders, and every
// object it renders is accepted by kube-apiserver (server-side dry run, so
// its webhook configurations never intercept other tests' pods).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { createNamespace, helm, kubectl, useCluster, type TestCluster } from '../src/index.ts';
import { OPERATOR_NODE_FLAGS, WEBHOOK_NODE_FLAGS } from '../harness/node-flags.ts';

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

  const badValues: { name: string; set: string; path: RegExp }[] = [
    {
      name: 'a wrong type',
      set: 'operator.replicas=two',
      path: /at '\/operator\/replicas': got string, want integer/,
    },
    {
      name: 'an unknown key (a typo)',
      set: 'webhook.tiemoutSeconds=3',
      path: /at '\/webhook': additional properties 'tiemoutSeconds' not allowed/,
    },
    {
      name: 'a timeout the apiserver would refuse',
      set: 'webhook.timeoutSeconds=30',
      path: /at '\/webhook\/timeoutSeconds': maximum: got 30, want 10/,
    },
    { name: 'an unknown pull policy', set: 'image.pullPolicy=Sometimes', path: /at '\/image\/pullPolicy'/ },
    {
      name: 'a certificate lifetime that is not a duration',
      set: 'webhook.certificate.lifetime=forever',
      path: /at '\/webhook\/certificate\/lifetime'/,
    },
  ];
  for (const bad of badValues) {
    it(`refuses ${bad.name} at helm install, naming the value's path`, async () => {
      const r = await helm(cluster, [
        'install',
        'acp-bad',
        chart,
        '--namespace',
        ns,
        '--dry-run=client',
        '--set',
        bad.set,
      ]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, bad.path);
    });
  }

  it('renders a PodDisruptionBudget, a spread by hostname and the priority class for both components', async () => {
    const r = await helm(cluster, [
      'template',
      'acp',
      chart,
      '--namespace',
      ns,
      '--set',
      'operator.priorityClassName=system-cluster-critical',
      '--set',
      'webhook.priorityClassName=system-cluster-critical',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map(
      (d) =>
        d.toJS() as {
          kind?: string;
          metadata?: { name?: string };
          spec?: { template?: { spec?: Record<string, unknown> } };
        } | null,
    );
    for (const name of ['acp-operator', 'acp-webhook']) {
      assert.ok(
        docs.some((o) => o?.kind === 'PodDisruptionBudget' && o.metadata?.name === name),
        `PDB ${name}`,
      );
      const pod =
        docs.find((o) => o?.kind === 'Deployment' && o.metadata?.name === name)?.spec?.template?.spec ?? {};
      assert.equal(pod['priorityClassName'], 'system-cluster-critical');
      assert.equal(
        (pod['topologySpreadConstraints'] as { topologyKey: string }[] | undefined)?.[0]?.topologyKey,
        'kubernetes.io/hostname',
      );
    }
  });

  it('runs the operator and the webhook with the node flags the tests and benchmarks run them with', async () => {
    const r = await helm(cluster, ['template', 'acp', chart, '--namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map(
      (d) =>
        d.toJS() as {
          kind?: string;
          metadata?: { name?: string };
          spec?: { template: { spec: { containers: { name: string; command: string[] }[] } } };
        } | null,
    );
    const command = (deployment: string, container: string): string[] | undefined =>
      docs
        .find((o) => o?.kind === 'Deployment' && o.metadata?.name === deployment)
        ?.spec?.template.spec.containers.find((c) => c.name === container)?.command;
    assert.deepEqual(command('acp-operator', 'operator'), [
      'node',
      ...OPERATOR_NODE_FLAGS,
      'operator/src/main.js',
    ]);
    assert.deepEqual(command('acp-webhook', 'webhook'), [
      'node',
      ...WEBHOOK_NODE_FLAGS,
      'webhooks/src/main.js',
    ]);
  });

  it('renders only objects the apiserver accepts (server-side dry run)', async () => {
    // the `helm test` pod needs its ServiceAccount created first (hook weights); it runs on the real node
    const r = await helm(cluster, ['template', 'acp', chart, '--namespace', ns, '--skip-tests']);
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
