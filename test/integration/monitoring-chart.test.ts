// The chart's monitoring kit (item 1-3 of issue 17), rendered with the built
// helm: which objects each toggle renders (and only on a cluster that serves
// the Prometheus Operator's kinds), every alert with a runbook section and a
// `promtool test rules` case that fires it, and every alert and dashboard
// query valid PromQL for promtool (built from the pinned Go module).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { createNamespace, kubectl, useCluster, type TestCluster } from '../src/index.ts';
import { goModuleDir } from '../harness/go-module.ts';
import { ensurePromtool } from '../harness/go-tools.ts';
import { grafanaToPromql } from '../harness/promql-names.ts';
import {
  ALL_ON,
  MONITORING_APIS,
  chart,
  dashboardExprs,
  promtool,
  render,
  renderMonitoring,
  tempDir,
  writeRules,
  type Doc,
  type Rendered,
} from './support/monitoring.ts';

const kindsOf = (docs: Doc[]): string[] =>
  docs
    .filter(
      (d) =>
        /monitoring\.coreos\.com/.test(d.apiVersion) || String(d.metadata?.name).startsWith('acp-dashboard-'),
    )
    .map((d) => `${d.kind}/${d.metadata.name}`)
    .sort();

describe('chart monitoring: toggles', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await useCluster();
  });

  it('renders no monitoring object by default, even where the Prometheus Operator runs', async () => {
    assert.deepEqual(kindsOf(await render(cluster, [], MONITORING_APIS)), []);
  });

  it('renders the PrometheusRule and monitors only when the cluster serves their kinds (dashboards always)', async () => {
    assert.deepEqual(kindsOf(await render(cluster, ALL_ON)), [
      'ConfigMap/acp-dashboard-fleet',
      'ConfigMap/acp-dashboard-operator',
      'ConfigMap/acp-dashboard-sidecar',
      'ConfigMap/acp-dashboard-webhook',
    ]);
    assert.deepEqual(kindsOf(await render(cluster, ALL_ON, MONITORING_APIS)), [
      'ConfigMap/acp-dashboard-fleet',
      'ConfigMap/acp-dashboard-operator',
      'ConfigMap/acp-dashboard-sidecar',
      'ConfigMap/acp-dashboard-webhook',
      'PodMonitor/acp-operator',
      'PodMonitor/acp-sidecars',
      'PrometheusRule/acp-alerts',
      'ServiceMonitor/acp-webhook',
    ]);
  });

  it('renders each part on its own toggle, without the sidecars PodMonitor when sidecars=false', async () => {
    const only = async (set: string[]): Promise<string[]> =>
      kindsOf(await render(cluster, set, MONITORING_APIS));
    assert.deepEqual(await only(['monitoring.prometheusRule.enabled=true']), ['PrometheusRule/acp-alerts']);
    assert.deepEqual(
      await only(['monitoring.serviceMonitor.enabled=true', 'monitoring.serviceMonitor.sidecars=false']),
      ['PodMonitor/acp-operator', 'ServiceMonitor/acp-webhook'],
    );
    assert.equal((await only(['monitoring.dashboards.enabled=true'])).length, 4);
  });

  it('puts the extra labels on the rule and monitors, and the Grafana label and namespace on the dashboards', async () => {
    const docs = await render(
      cluster,
      [
        ...ALL_ON,
        'monitoring.prometheusRule.labels.release=prom',
        'monitoring.serviceMonitor.labels.release=prom',
        'monitoring.dashboards.namespace=grafana',
        'monitoring.dashboards.label=my_dashboard',
        'monitoring.dashboards.annotations.grafana_folder=ACP',
      ],
      MONITORING_APIS,
    );
    for (const d of docs.filter((x) => /monitoring\.coreos\.com/.test(x.apiVersion))) {
      assert.equal(d.metadata.labels.release, 'prom', `${d.kind}/${d.metadata.name}`);
      assert.equal(d.metadata.namespace, 'acp-system');
    }
    const dashboards = docs.filter((d) => String(d.metadata?.name).startsWith('acp-dashboard-'));
    assert.equal(dashboards.length, 4);
    for (const d of dashboards) {
      assert.equal(d.metadata.namespace, 'grafana');
      assert.equal(d.metadata.labels.my_dashboard, '1');
      assert.equal(d.metadata.annotations.grafana_folder, 'ACP');
    }
  });

  it('scrapes the webhook Service and the operator pods on the ports the chart names metrics', async () => {
    const docs = await render(cluster, ALL_ON, MONITORING_APIS);
    const find = (kind: string, name: string): Doc =>
      docs.find((d) => d.kind === kind && d.metadata.name === name)!;
    const service = find('Service', 'acp-webhook');
    const sm = find('ServiceMonitor', 'acp-webhook');
    assert.deepEqual(sm.spec.selector.matchLabels, service.spec.selector);
    assert.ok(service.spec.ports.some((p: Doc) => p.name === sm.spec.endpoints[0].port));
    for (const v of Object.entries(sm.spec.selector.matchLabels as Record<string, string>))
      assert.equal(
        service.metadata.labels[v[0]],
        v[1],
        'the ServiceMonitor selects the Service by its labels',
      );
    const operator = find('Deployment', 'acp-operator');
    const pm = find('PodMonitor', 'acp-operator');
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels as Record<string, string>))
      assert.equal(operator.spec.template.metadata.labels[k], v, `operator pods carry ${k}=${v}`);
    const ports = operator.spec.template.spec.containers.flatMap((c: Doc) => c.ports.map((p: Doc) => p.name));
    assert.ok(ports.includes(pm.spec.podMetricsEndpoints[0].port));
    assert.equal(pm.spec.podMetricsEndpoints[0].honorLabels, true, "the policy's namespace label wins");
  });

  it('passes operator.monitoringNamespaceSelector to the operator, whose NetworkPolicies let those namespaces scrape', async () => {
    const args = async (set: string[]): Promise<string[]> =>
      (await render(cluster, set))
        .find((d) => d.kind === 'Deployment' && d.metadata.name === 'acp-operator')!
        .spec.template.spec.containers[0].args.filter((a: string) =>
          a.startsWith('--monitoring-namespace-selector'),
        );
    assert.deepEqual(await args([]), [
      '--monitoring-namespace-selector=kubernetes.io/metadata.name=monitoring',
    ]);
    assert.deepEqual(
      await args([
        'operator.monitoringNamespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=null',
        'operator.monitoringNamespaceSelector.matchLabels.team=obs',
      ]),
      ['--monitoring-namespace-selector=team=obs'],
    );
    await assert.rejects(
      render(cluster, ['operator.monitoringNamespaceSelector.matchExpressions[0].key=team']),
      // the values schema refuses it first, naming the path; the template's own check is the fallback
      /at '\/operator\/monitoringNamespaceSelector': additional properties 'matchExpressions' not allowed|only matchLabels is supported/,
    );
  });
});

describe('chart monitoring: alerts and dashboards with promtool', () => {
  let cluster: TestCluster;
  let bin: string | undefined;
  let r: Rendered;
  before(async () => {
    cluster = await useCluster();
    bin = ensurePromtool();
    r = await renderMonitoring(cluster, [
      'monitoring.prometheusRule.runbookBaseUrl=https://runbooks.test/RUNBOOKS.md',
    ]);
  });

  it('has a runbook section for every alert, which its runbook_url points at', () => {
    const runbooks = readFileSync(join(chart, 'RUNBOOKS.md'), 'utf8');
    const headings = new Set([...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]!));
    assert.ok(r.alerts.length >= 20, `${r.alerts.length} alerts`);
    for (const a of r.alerts) {
      assert.ok(headings.has(a.alert), `RUNBOOKS.md has a section "## ${a.alert}"`);
      assert.equal(
        a.annotations['runbook_url'],
        `https://runbooks.test/RUNBOOKS.md#${a.alert.toLowerCase()}`,
      );
      assert.match(a.labels['severity'] ?? '', /^(warning|critical)$/, a.alert);
      assert.ok(a.annotations['summary'] && a.annotations['description'], a.alert);
    }
    assert.deepEqual(
      [...headings].sort(),
      r.alerts.map((a) => a.alert).sort(),
      'no runbook without an alert',
    );
  });

  it('passes promtool check rules', async (t) => {
    if (!bin) return t.skip('no Go to build promtool (CI=true fails instead)');
    const file = writeRules(tempDir(), 'rules.yaml', r.ruleSpec.groups);
    const out = await promtool(bin, ['check', 'rules', file]);
    assert.equal(out.code, 0, out.out);
    assert.match(out.out, new RegExp(`SUCCESS: ${r.alerts.length} rules found`));
  });

  it('fires every alert on its failure and not on look-alikes (promtool test rules)', async (t) => {
    if (!bin) return t.skip('no Go to build promtool (CI=true fails instead)');
    const dir = tempDir();
    writeRules(dir, 'rules.yaml', r.ruleSpec.groups);
    const cases = join(import.meta.dirname, 'monitoring', 'alerts.promtool.yaml');
    copyFileSync(cases, join(dir, 'alerts.promtool.yaml'));
    const out = await promtool(bin, ['test', 'rules', join(dir, 'alerts.promtool.yaml')]);
    assert.equal(out.code, 0, out.out);
    const tests = (parse(readFileSync(cases, 'utf8')) as { tests: { alert_rule_test: Doc[] }[] }).tests;
    const checks = tests.flatMap((x) => x.alert_rule_test);
    for (const a of r.alerts) {
      assert.ok(
        checks.some((c) => c.alertname === a.alert && (c.exp_alerts ?? []).length > 0),
        `a promtool case where ${a.alert} fires`,
      );
    }
  });

  it('has dashboards for the fleet, a sidecar, the webhook and the operator, with valid PromQL in every panel', async (t) => {
    assert.deepEqual([...r.dashboards.keys()].sort(), [
      'acp-fleet.json',
      'acp-operator.json',
      'acp-sidecar.json',
      'acp-webhook.json',
    ]);
    const uids = [...r.dashboards.values()].map((d) => d.uid as string);
    assert.equal(new Set(uids).size, 4, 'unique uids');
    if (!bin) return t.skip('no Go to build promtool (CI=true fails instead)');
    const groups = [...r.dashboards].map(([file, d]) => ({
      name: file,
      rules: dashboardExprs(d).map(([title, expr], i) => ({
        record: `dashboard:${file.replace(/\W/g, '_')}:${i}`,
        expr: grafanaToPromql(expr),
        labels: { panel: title },
      })),
    }));
    const count = groups.reduce((n, g) => n + g.rules.length, 0);
    assert.ok(count >= 60, `${count} dashboard queries`);
    const out = await promtool(bin, ['check', 'rules', writeRules(tempDir(), 'dashboards.yaml', groups)]);
    assert.equal(out.code, 0, out.out);
    assert.match(out.out, new RegExp(`SUCCESS: ${count} rules found`));
  });
});

describe("chart monitoring: accepted by kube-apiserver with the Prometheus Operator's CRDs", () => {
  const crdFiles = ['podmonitors', 'servicemonitors', 'prometheusrules'].map(
    (k) => `example/prometheus-operator-crd/monitoring.coreos.com_${k}.yaml`,
  );
  let cluster: TestCluster;
  let dir: string | undefined;
  before(async () => {
    cluster = await useCluster();
    dir = goModuleDir('prometheus-operator', 'github.com/prometheus-operator/prometheus-operator');
    if (!dir) return;
    for (const f of crdFiles) {
      const r = await kubectl(cluster, ['apply', '--server-side', '-f', join(dir, f)]);
      assert.equal(r.code, 0, r.stderr);
    }
    for (const k of ['podmonitors', 'servicemonitors', 'prometheusrules']) {
      const r = await kubectl(cluster, [
        'wait',
        '--for=condition=Established',
        `crd/${k}.monitoring.coreos.com`,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  it('passes a strict server-side dry run of the rule, the monitors and the dashboards', async (t) => {
    if (!dir) return t.skip('no Go to fetch the Prometheus Operator module (CI=true fails instead)');
    const ns = await createNamespace(cluster, 'monitoring-dry-run');
    const docs = (
      await render(cluster, [...ALL_ON, 'monitoring.dashboards.namespace=' + ns], MONITORING_APIS, ns)
    ).filter(
      (d) =>
        /monitoring\.coreos\.com/.test(d.apiVersion) || String(d.metadata?.name).startsWith('acp-dashboard-'),
    );
    assert.equal(docs.length, 8);
    const r = await kubectl(
      cluster,
      ['apply', '--dry-run=server', '--validate=strict', '-f', '-'],
      docs.map((d) => JSON.stringify(d)).join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 8, r.stdout);
  });
});
