// Every metric the chart's alerts and dashboards name is exported by the
// RUNNING components: the operator process (chart RBAC, test control plane),
// the webhook process (webhooks/src/main.ts, the chart's webhook
// configurations on 127.0.0.1), a sidecar process, and kube-apiserver itself
// (its admission metrics, after real admissions, a refused one and a
// fail-open one). Plus what the sidecars PodMonitor relies on: the admin port
// name the webhook gives the sidecar and the policy in the pod's annotation;
// and the sidecar's handshake counter by TLS version.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PORTS } from '@acp/crds';
import {
  createNamespace,
  freePort,
  kubectl,
  startOperator,
  useCluster,
  type OperatorProcess,
  type TestCluster,
} from '../src/index.ts';
import { WEBHOOK_NODE_FLAGS } from '../harness/node-flags.ts';
import { exposedNames, metricNames } from '../harness/promql-names.ts';
import { curl, startSidecar, type RunningSidecar } from '../e2e/sidecar-support.ts';
import { must, operatorEnv } from './identity-fixtures.ts';
import {
  dashboardExprs,
  provokeAdmissionFailures,
  renderMonitoring,
  type Doc,
  type Rendered,
} from './support/monitoring.ts';
import { eventually, webhookFixture, type WebhookFixture } from './support/webhook-fixture.ts';

const root = join(import.meta.dirname, '..', '..');

/** Applies Prometheus' `replace` relabeling (the PodMonitor's relabelings) to a target's labels. */
function relabel(labels: Record<string, string>, rules: Doc[]): Record<string, string> {
  const out = { ...labels };
  for (const r of rules) {
    const value = (r.sourceLabels as string[]).map((l) => out[l] ?? '').join(r.separator ?? ';');
    const m = new RegExp(`^(?:${r.regex ?? '(.*)'})$`).exec(value);
    if (m)
      out[r.targetLabel] = (r.replacement ?? '$1').replace(
        /\$(\d)/g,
        (_: string, i: string) => m[Number(i)] ?? '',
      );
  }
  return out;
}

describe('monitoring: the metrics the alerts and dashboards name are exported by the running components', () => {
  let cluster: TestCluster;
  let rendered: Rendered;
  let operator: OperatorProcess;
  let fx: WebhookFixture;
  let webhook: ChildProcess;
  let webhookMetricsPort: number;
  let sidecar: RunningSidecar;
  let ns: string;
  let unreachable: string;
  const wanted = new Map<string, string[]>();

  before(async () => {
    cluster = await useCluster();
    rendered = await renderMonitoring(cluster);
    const where = (name: string, from: string): void => {
      wanted.set(name, [...(wanted.get(name) ?? []), from]);
    };
    for (const a of rendered.alerts) for (const n of metricNames(a.expr)) where(n, `alert ${a.alert}`);
    for (const [file, d] of rendered.dashboards)
      for (const [title, expr] of dashboardExprs(d))
        for (const n of metricNames(expr)) where(n, `${file}: ${title}`);

    const env = await operatorEnv(cluster, 'mon');
    operator = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [env.workloadNamespace],
      identity: 'op-monitoring',
    });

    fx = await webhookFixture(cluster);
    webhookMetricsPort = await freePort();
    const args = fx.args.map((a) =>
      a.startsWith('--metrics-port=') ? `--metrics-port=${webhookMetricsPort}` : a,
    );
    webhook = spawn(
      process.execPath,
      [...WEBHOOK_NODE_FLAGS, join(root, 'webhooks', 'src', 'main.ts'), ...args, '--log-level=warn'],
      { cwd: root, env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, stdio: 'ignore' },
    );
    sidecar = await startSidecar();

    // Admissions through the ACP webhooks: a policy (validator) and a pod (injector).
    ns = await createNamespace(cluster, 'mon-apps', fx.labels({ 'acp.dev/injection': 'enabled' }));
    const policy = {
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'payments', namespace: ns },
      spec: { selector: { matchLabels: { app: 'web' } }, upstream: { port: 8080 } },
    };
    await eventually(
      'the webhook admits the policy',
      async () => (await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(policy))).code === 0,
    );
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-5d9f8c7b6-x2x7q',
        namespace: ns,
        labels: { app: 'web' },
        // As a Deployment's ReplicaSet would own it (no controller-manager runs here).
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'web-5d9f8c7b6',
            uid: randomUUID(),
            controller: true,
          },
        ],
      },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    };
    await eventually('the pod is injected', async () => {
      await kubectl(cluster, [
        'delete',
        'pod',
        pod.metadata.name,
        '-n',
        ns,
        '--ignore-not-found',
        '--wait=false',
      ]);
      const r = await kubectl(cluster, ['create', '-f', '-'], JSON.stringify(pod));
      if (r.code !== 0) return false;
      const got = JSON.parse(await must(cluster, ['get', 'pod', pod.metadata.name, '-n', ns, '-o', 'json']));
      return (got.spec.initContainers ?? []).some((c: Doc) => c.name === 'acp-sidecar');
    });

    // An unreachable webhook, Fail and Ignore, so kube-apiserver counts a refusal and a fail-open.
    unreachable = await provokeAdmissionFailures(cluster, ns);
  });

  after(async () => {
    await kubectl(cluster, ['delete', 'validatingwebhookconfiguration', unreachable, '--ignore-not-found']);
    webhook?.kill('SIGTERM');
    await operator?.stop();
    await sidecar?.stop();
    await fx?.cleanup();
  });

  const check = (prefix: RegExp, exposed: Set<string>, who: string): void => {
    const names = [...wanted.keys()].filter((n) => prefix.test(n));
    assert.ok(names.length > 0, `the alerts and dashboards name ${prefix} metrics`);
    const missing = names.filter((n) => !exposed.has(n)).map((n) => `${n} (${wanted.get(n)!.join('; ')})`);
    assert.deepEqual(missing, [], `named but not exported by ${who}`);
  };

  it('names no metric outside acp_* and kube-apiserver admission metrics', () => {
    assert.deepEqual(
      [...wanted.keys()].filter((n) => !/^(acp_(operator|webhook|sidecar)_|apiserver_admission_)/.test(n)),
      [],
    );
  });

  it('exports every acp_operator_* name from the operator process', async () => {
    check(/^acp_operator_/, exposedNames(await operator.metrics()), 'the operator');
  });

  it('exports every acp_webhook_* name from the webhook process', async () => {
    const text = await (await fetch(`http://127.0.0.1:${webhookMetricsPort}/metrics`)).text();
    check(/^acp_webhook_/, exposedNames(text), 'the webhook');
  });

  it('exports every acp_sidecar_* name from the sidecar process', async () => {
    check(/^acp_sidecar_/, exposedNames(await sidecar.metrics()), 'the sidecar');
  });

  it('exports every apiserver_* name from kube-apiserver after real admissions', async () => {
    const text = await must(cluster, ['get', '--raw', '/metrics']);
    check(/^apiserver_/, exposedNames(text), 'kube-apiserver');
    assert.match(
      text,
      /apiserver_admission_webhook_rejection_count\{[^}]*error_type="calling_webhook_error"[^}]*name="fail\.unreachable\.acp-test\.dev"/,
    );
    assert.match(
      text,
      /apiserver_admission_webhook_fail_open_count\{[^}]*name="ignore\.unreachable\.acp-test\.dev"/,
    );
  });

  it("finds the injected sidecar's admin port and policy the way the sidecars PodMonitor does", async () => {
    const pod = JSON.parse(
      await must(cluster, ['get', 'pod', 'web-5d9f8c7b6-x2x7q', '-n', ns, '-o', 'json']),
    ) as Doc;
    const pm = rendered.docs.find((d) => d.kind === 'PodMonitor' && d.metadata.name === 'acp-sidecars')!;
    const endpoint = pm.spec.podMetricsEndpoints[0] as Doc;
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers] as Doc[];
    const named = containers.flatMap((c) =>
      ((c.ports ?? []) as Doc[])
        .filter((p) => p.name === endpoint.port)
        .map((p) => [c.name, p.containerPort]),
    );
    assert.deepEqual(
      named,
      [['acp-sidecar', PORTS.admin]],
      `one port named ${endpoint.port}: the sidecar's admin port`,
    );
    assert.equal(endpoint.path, '/metrics');
    const owner = (pod.metadata.ownerReferences as Doc[])[0]!;
    const target = relabel(
      {
        __meta_kubernetes_pod_name: pod.metadata.name,
        __meta_kubernetes_pod_controller_kind: owner.kind,
        __meta_kubernetes_pod_controller_name: owner.name,
        __meta_kubernetes_pod_annotation_acp_dev_status: pod.metadata.annotations['acp.dev/status'],
      },
      endpoint.relabelings as Doc[],
    );
    assert.equal(target['workload'], 'web');
    assert.equal(target['policy'], 'payments');
  });

  it('counts inbound handshakes by TLS version in the sidecar', async () => {
    assert.equal((await curl(sidecar, '/tls12', { args: ['--tls-max', '1.2'] })).status, 200);
    assert.equal((await curl(sidecar, '/tls13', { args: ['--tlsv1.3'] })).status, 200);
    const text = await sidecar.metrics();
    assert.match(text, /acp_sidecar_tls_handshakes_total\{version="TLSv1\.2",resumed="false"\} [1-9]/);
    assert.match(text, /acp_sidecar_tls_handshakes_total\{version="TLSv1\.3",resumed="false"\} [1-9]/);
  });
});
