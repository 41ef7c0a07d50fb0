// Monitoring on the real node, as a platform team runs it: the chart
// installed with its PrometheusRule, monitors and dashboards on; the
// Prometheus Operator (built from its pinned module, on the host) turns them
// into a Prometheus configuration and rule files; a real Prometheus server
// runs that configuration against the node's pods (test/harness/node/
// prometheus.ts). Shown: every monitor becomes a job whose targets are up,
// every alert loads and evaluates, every dashboard query runs, every metric
// the alerts and dashboards name arrives from the running components, a
// sidecar's denial is visible by reason and workload, and promtool's alert
// tests pass on the rule file as the operator generated it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { helm, useCluster, type TestCluster } from '../../harness/cluster.ts';
import { goModuleDir } from '../../harness/go-module.ts';
import { ensureGoTool } from '../../harness/go-tools.ts';
import { meshRequest } from '../../harness/mesh-client.ts';
import {
  applyJson,
  CHART,
  deployShop,
  installChart,
  must,
  RELEASE,
  RELEASE_NAMESPACE,
  testIssuer,
  writeClientIdentity,
  type PodInfo,
} from '../../harness/node/product.ts';
import {
  MONITORING_NAMESPACE,
  PROMETHEUS_NAME,
  prometheusResource,
  promApi,
  startHostPrometheus,
  startPrometheusOperator,
  type HostCredentials,
  type HostPrometheus,
} from '../../harness/node/prometheus.ts';
import { eventually } from '../../harness/operator.ts';
import { grafanaToPromql, metricNames } from '../../harness/promql-names.ts';
import {
  dashboardExprs,
  promtool,
  provokeAdmissionFailures,
  type Doc,
} from '../../integration/support/monitoring.ts';

const image = process.env['ACP_TEST_IMAGE'] ?? '';
const NS = 'shop-monitored';
const TRUST = 'cluster.local';
const CRDS = [
  'alertmanagerconfigs',
  'alertmanagers',
  'podmonitors',
  'probes',
  'prometheusagents',
  'prometheuses',
  'prometheusrules',
  'scrapeconfigs',
  'servicemonitors',
  'thanosrulers',
];
/** The alerts the chart ships (monitoring/alerts.yaml), which the operator's rule file must carry, every one. */
const CHART_ALERTS = (
  (parse(readFileSync(join(CHART, 'monitoring', 'alerts.yaml'), 'utf8')) as Doc).groups as Doc[]
).flatMap((g) => (g.rules as Doc[]).map((r) => r.alert as string)).length;
const JOBS = {
  operator: `podMonitor/${RELEASE_NAMESPACE}/acp-operator/0`,
  sidecars: `podMonitor/${RELEASE_NAMESPACE}/acp-sidecars/0`,
  webhook: `serviceMonitor/${RELEASE_NAMESPACE}/acp-webhook/0`,
};

interface Target {
  labels: Record<string, string>;
  scrapePool: string;
  health: string;
  lastError: string;
}
interface RuleGroup {
  name: string;
  rules: { name: string; type: string; health: string; lastError?: string; lastEvaluation: string }[];
}

let cluster: TestCluster;
let dir: string;
let creds: HostCredentials;
let operator: ChildProcess | undefined;
let prometheus: HostPrometheus | undefined;
let payments: PodInfo;
let ruleFiles: Record<string, string> = {};
let unreachable = '';
let bins: { promtool: string; prometheus: string; operator: string } | undefined;

const query = (expr: string): Promise<{ resultType: string; result: { metric: Record<string, string> }[] }> =>
  promApi(prometheus?.url ?? '', `/api/v1/query?query=${encodeURIComponent(expr)}`);

/** The dashboards as the Grafana sidecar finds them: ConfigMaps with its label in its namespace. */
function dashboardConfigMaps(): Promise<{
  items: { metadata: { name: string }; data: Record<string, string> }[];
}> {
  return kubeJson(['get', 'configmap', '-n', MONITORING_NAMESPACE, '-l', 'grafana_dashboard=1']);
}

async function kubeJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await must(cluster, [...args, '-o', 'json'])) as T;
}

describe(
  'monitoring on the real node: the Prometheus Operator and Prometheus run the chart’s monitors, alerts and dashboards',
  { timeout: 900_000 },
  () => {
    before(async () => {
      assert.ok(image, 'ACP_TEST_IMAGE is set by the test command');
      cluster = await useCluster();
      dir = mkdtempSync(join(tmpdir(), 'acp-monitoring-node-'));
      const promtoolBin = ensureGoTool('promtool');
      const prometheusBin = ensureGoTool('prometheus');
      const operatorBin = ensureGoTool('prometheus-operator');
      const crdDir = goModuleDir('prometheus-operator', 'github.com/prometheus-operator/prometheus-operator');
      if (!promtoolBin || !prometheusBin || !operatorBin || !crdDir) return; // no Go outside CI: the tests skip
      bins = { promtool: promtoolBin, prometheus: prometheusBin, operator: operatorBin };

      // the Prometheus Operator's CRDs, as its bundle installs them
      for (const k of CRDS)
        await must(cluster, [
          'apply',
          '--server-side',
          '-f',
          join(crdDir, 'example', 'prometheus-operator-crd', `monitoring.coreos.com_${k}.yaml`),
        ]);
      await must(cluster, [
        'wait',
        '--for=condition=Established',
        ...CRDS.map((k) => `crd/${k}.monitoring.coreos.com`),
      ]);
      await must(cluster, ['create', 'namespace', MONITORING_NAMESPACE]);

      // a fresh install with monitoring on; scrapes every 5 s so the test need not wait 30 s per round
      await helm(cluster, ['uninstall', RELEASE, '-n', RELEASE_NAMESPACE, '--wait']);
      await installChart(cluster, image, [
        'monitoring.prometheusRule.enabled=true',
        // the base URL the chart's promtool cases expect
        'monitoring.prometheusRule.runbookBaseUrl=https://runbooks.test/RUNBOOKS.md',
        'monitoring.serviceMonitor.enabled=true',
        'monitoring.serviceMonitor.interval=5s',
        'monitoring.dashboards.enabled=true',
        `monitoring.dashboards.namespace=${MONITORING_NAMESPACE}`,
      ]);

      // a workload to watch: payments (Strict mTLS, JWT) and its caller checkout
      const issuer = testIssuer();
      payments = await deployShop(cluster, NS, image, issuer.jwk);
      await writeClientIdentity(cluster, NS, 'checkout', dir);
      const call = (headers: Record<string, string>) =>
        meshRequest({
          host: payments.ip,
          port: 8443,
          path: '/v1/orders',
          dir,
          as: 'checkout',
          expect: `spiffe://${TRUST}/ns/${NS}/sa/payments`,
          headers,
        });
      const token = await issuer.sign('payments:read');
      await eventually(
        '200 from payments',
        async () => ((await call({ authorization: `Bearer ${token}` })).status === 200 ? true : undefined),
        90_000,
      );
      assert.equal((await call({})).status, 401, 'a request without a token is denied');
      // a webhook failing closed and one failing open, for the apiserver's admission metrics the alerts read
      unreachable = await provokeAdmissionFailures(cluster, NS);

      // the operator and the Prometheus resource; then the server with what the operator generated
      const pki = dirname(cluster.kubeconfig);
      creds = {
        kubeconfig: cluster.kubeconfig,
        apiserver: new URL(cluster.server).host,
        caFile: join(pki, 'ca.crt'),
        certFile: join(pki, 'admin.crt'),
        keyFile: join(pki, 'admin.key'),
      };
      for (const f of [creds.caFile, creds.certFile, creds.keyFile]) assert.ok(existsSync(f), `${f} exists`);
      operator = await startPrometheusOperator(bins.operator, dir, creds);
      await applyJson(cluster, prometheusResource());
      const configGz = await eventually(
        'the configuration Secret the Prometheus Operator writes, with the chart’s three monitors',
        async () => {
          const s = await kubeJson<{ data?: Record<string, string> }>([
            'get',
            'secret',
            `prometheus-${PROMETHEUS_NAME}`,
            '-n',
            MONITORING_NAMESPACE,
          ]);
          const gz = s.data?.['prometheus.yaml.gz'];
          if (!gz) return undefined;
          const text = (await import('../../harness/node/prometheus.ts')).decodeGeneratedConfig(gz);
          return Object.values(JOBS).every((j) => text.includes(j)) ? gz : undefined;
        },
        120_000,
      );
      ruleFiles = await eventually(
        'the rule files ConfigMap the Prometheus Operator writes, with the chart’s alerts',
        async () => {
          const cms = await kubeJson<{ items: { data?: Record<string, string> }[] }>([
            'get',
            'configmap',
            '-n',
            MONITORING_NAMESPACE,
            '-l',
            `prometheus-name=${PROMETHEUS_NAME}`,
          ]);
          const files = Object.assign({}, ...cms.items.map((c) => c.data ?? {})) as Record<string, string>;
          return Object.values(files).some((t) => t.includes('alert: ACPWorkloadCertificateRenewalOverdue'))
            ? files
            : undefined;
        },
        120_000,
      );
      prometheus = await startHostPrometheus(bins.prometheus, dir, { configGz, ruleFiles }, creds);
      await eventually(
        'Prometheus ready',
        async () =>
          (await fetch(`${prometheus?.url}/-/ready`).catch(() => undefined))?.ok ? true : undefined,
        60_000,
      );
    });

    after(async () => {
      prometheus?.process.kill('SIGTERM');
      operator?.kill('SIGTERM');
      if (!cluster) return;
      if (unreachable) await must(cluster, ['delete', 'validatingwebhookconfiguration', unreachable]);
      await must(cluster, [
        'delete',
        'namespace',
        NS,
        MONITORING_NAMESPACE,
        '--ignore-not-found',
        '--wait=false',
      ]);
    });

    test('the operator’s generated configuration has a job for each of the chart’s monitors and a rule file with every alert of the chart', (t) => {
      if (!bins) return t.skip('no Go to build the monitoring stack (CI=true fails instead)');
      const config = parse(readFileSync(prometheus?.configFile ?? '', 'utf8')) as Doc;
      const jobs = (config.scrape_configs as Doc[]).map((j) => j.job_name as string);
      for (const j of Object.values(JOBS)) assert.ok(jobs.includes(j), `job ${j} in ${jobs.join(', ')}`);
      const alerts = Object.values(ruleFiles).flatMap((text) =>
        ((parse(text) as Doc).groups as Doc[]).flatMap((g) =>
          (g.rules as Doc[]).map((r) => r.alert as string),
        ),
      );
      assert.equal(alerts.filter(Boolean).length, CHART_ALERTS, alerts.join(', '));
      assert.ok(CHART_ALERTS >= 24, `${CHART_ALERTS} alerts in the chart`);
    });

    test('Prometheus scrapes both operator replicas, both webhook replicas and the injected sidecar through those jobs', async (t) => {
      if (!bins) return t.skip('no Go to build the monitoring stack (CI=true fails instead)');
      const targets = await eventually(
        'every target of the three jobs up',
        async () => {
          const d = await promApi<{ activeTargets: Target[] }>(
            prometheus?.url ?? '',
            '/api/v1/targets?state=active',
          );
          const ours = d.activeTargets.filter((x) => Object.values(JOBS).includes(x.scrapePool));
          const count = (job: string): number => ours.filter((x) => x.scrapePool === job).length;
          return count(JOBS.operator) === 2 &&
            count(JOBS.webhook) === 2 &&
            count(JOBS.sidecars) >= 2 &&
            ours.every((x) => x.health === 'up')
            ? ours
            : undefined;
        },
        120_000,
      );
      const sidecar = targets.find(
        (x) => x.scrapePool === JOBS.sidecars && x.labels['pod'] === payments.name,
      );
      assert.ok(sidecar, `the payments pod ${payments.name} is a sidecar target`);
      assert.equal(
        sidecar.labels['workload'],
        'payments',
        'workload: the Deployment, by the PodMonitor relabeling',
      );
      assert.equal(sidecar.labels['policy'], 'payments', 'policy: from the acp.dev/status annotation');
      assert.equal(sidecar.labels['instance'], `${payments.ip}:15021`);
    });

    test('every alert loads and evaluates in Prometheus without error', async (t) => {
      if (!bins) return t.skip('no Go to build the monitoring stack (CI=true fails instead)');
      const groups = await eventually(
        'every alerting rule evaluated',
        async () => {
          const d = await promApi<{ groups: RuleGroup[] }>(prometheus?.url ?? '', '/api/v1/rules?type=alert');
          const rules = d.groups.flatMap((g) => g.rules);
          return rules.length === CHART_ALERTS && rules.every((r) => !r.lastEvaluation.startsWith('0001'))
            ? d.groups
            : undefined;
        },
        60_000,
      );
      for (const r of groups.flatMap((g) => g.rules))
        assert.equal(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);
    });

    test('every dashboard query runs against the live data; the fleet panels show the node’s policies, sidecars and leader', async (t) => {
      if (!bins) return t.skip('no Go to build the monitoring stack (CI=true fails instead)');
      const cms = await dashboardConfigMaps();
      assert.equal(cms.items.length, 4, 'four dashboards in the Grafana sidecar’s namespace, with its label');
      let run = 0;
      const values = new Map<string, number>();
      for (const cm of cms.items) {
        for (const text of Object.values(cm.data)) {
          for (const [panel, expr] of dashboardExprs(JSON.parse(text) as Doc)) {
            const r = await query(grafanaToPromql(expr)).catch((e: unknown) =>
              assert.fail(`${cm.metadata.name} "${panel}": ${String(e)}`),
            );
            const first = r.result[0] as { value?: [number, string] } | undefined;
            if (first?.value) values.set(panel, Number(first.value[1]));
            run++;
          }
        }
      }
      assert.ok(run >= 60, `${run} queries ran`);
      // what the fleet shows on this node: at least this file's two policies Ready and two sidecars
      // serving (the earlier files' workloads may still be there), one leader
      assert.ok(
        (values.get('Policies Ready') ?? 0) >= 2,
        `fleet: Policies Ready ${values.get('Policies Ready')}`,
      );
      assert.ok(
        (values.get('Sidecars serving') ?? 0) >= 2,
        `fleet: Sidecars serving ${values.get('Sidecars serving')}`,
      );
      assert.equal(values.get('Operator leader'), 1, 'fleet: Operator leader');
    });

    test('every metric the alerts and dashboards name reaches Prometheus from the running components', async (t) => {
      if (!bins) return t.skip('no Go to build the monitoring stack (CI=true fails instead)');
      const named = new Set<string>();
      for (const text of Object.values(ruleFiles))
        for (const g of (parse(text) as Doc).groups as Doc[])
          for (const r of g.rules as Doc[]) for (const n of metricNames(r.expr as string)) named.add(n);
      const cms = await dashboardConfigMaps();
      for (const cm of cms.items)
        for (const text of Object.values(cm.data))
          for (const [, expr] of dashboardExprs(JSON.parse(text) as Doc))
            for (const n of metricNames(grafanaToPromql(expr))) named.add(n);
      let missing: string[] = [];
      await eventually(
        'every named metric scraped',
        async () => {
          // families seen on a scrape (their # TYPE lines count: a counter with labels has no series before its first event)
          const meta = await promApi<Record<string, { type: string }[]>>(
            prometheus?.url ?? '',
            '/api/v1/metadata',
          );
          const seen = new Set<string>();
          for (const [name, entries] of Object.entries(meta)) {
            seen.add(name);
            if (entries.some((e) => e.type === 'histogram'))
              for (const s of ['_bucket', '_sum', '_count']) seen.add(name + s);
          }
          for (const n of await promApi<string[]>(prometheus?.url ?? '', '/api/v1/label/__name__/values'))
            seen.add(n);
          missing = [...named].filter((n) => !seen.has(n));
          return missing.length === 0 ? true : undefined;
        },
        60_000,
      ).catch(() => undefined);
      assert.deepEqual(missing, [], 'every metric the alerts and dashboards name was scraped');
      assert.ok(named.size >= 20, `${named.size} metric names`);
    });

    test('the sidecar’s 401 shows in Prometheus by reason, workload and policy', async (t) => {
      if (!bins) return t.skip('no Go to build the monitoring stack (CI=true fails instead)');
      // Earlier files on the same node may have left a `payments` workload in another
      // namespace (the demo's), so this file's series is picked by its namespace label,
      // which must come from the pod the PodMonitor scraped.
      const series = await eventually(
        'the denial in Prometheus',
        async () => {
          const r = await query(
            `acp_sidecar_requests_total{workload="payments",policy="payments",decision="deny"}`,
          );
          const ours = r.result.filter((x) => x.metric['namespace'] === NS);
          return ours.length > 0 ? ours : undefined;
        },
        60_000,
      );
      const reasons = series.map((x) => x.metric['reason'] ?? '');
      assert.ok(
        reasons.some((r) => r.startsWith('ACP_ERR_JWT')),
        `a JWT reason among ${reasons.join(', ')}`,
      );
    });

    test('promtool: the rule file as the operator generated it passes check rules and the chart’s alert unit tests', async (t) => {
      if (!bins) return t.skip('no Go to build the monitoring stack (CI=true fails instead)');
      const files = readdirSync(join(dir, 'rules')).filter((f) => f.endsWith('.yaml'));
      assert.equal(files.length, 1, files.join(', '));
      const rules = join(dir, 'rules', files[0] ?? '');
      const check = await promtool(bins.promtool, ['check', 'rules', rules]);
      assert.equal(check.code, 0, check.out);
      const spec = join(import.meta.dirname, '..', '..', 'integration', 'monitoring', 'alerts.promtool.yaml');
      copyFileSync(rules, join(dir, 'rules.yaml'));
      writeFileSync(join(dir, 'alerts.promtool.yaml'), readFileSync(spec, 'utf8'));
      const unit = await promtool(bins.promtool, ['test', 'rules', join(dir, 'alerts.promtool.yaml')]);
      assert.equal(unit.code, 0, unit.out);
      assert.match(unit.out, /SUCCESS/);
    });
  },
);
