// What the monitoring tests share: the chart rendered with monitoring on (as
// on a cluster that serves the Prometheus Operator's kinds), its alert rules
// and dashboards as data, promtool run on files in a temporary directory, and
// the admission failures whose kube-apiserver metrics the alerts read.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { freePort, helm, kubectl, type TestCluster } from '../../src/index.ts';
import { eventually } from './webhook-fixture.ts';

export const chart = join(import.meta.dirname, '..', '..', '..', 'charts', 'api-compliance-operator');
export const MONITORING_APIS = ['PrometheusRule', 'PodMonitor', 'ServiceMonitor'].flatMap((k) => [
  '--api-versions',
  `monitoring.coreos.com/v1/${k}`,
]);
export const ALL_ON = [
  'monitoring.prometheusRule.enabled=true',
  'monitoring.serviceMonitor.enabled=true',
  'monitoring.dashboards.enabled=true',
];

export type Doc = Record<string, any>;

/** `helm template` of the chart with --set values and extra flags; every document parsed. */
export async function render(
  cluster: TestCluster,
  set: readonly string[],
  flags: readonly string[] = [],
  namespace = 'acp-system',
): Promise<Doc[]> {
  const r = await helm(cluster, [
    'template',
    'acp',
    chart,
    '--namespace',
    namespace,
    ...set.flatMap((s) => ['--set', s]),
    ...flags,
  ]);
  if (r.code !== 0) throw new Error(`helm template: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

export interface AlertRule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface Rendered {
  docs: Doc[];
  ruleSpec: { groups: { name: string; rules: AlertRule[] }[] };
  alerts: AlertRule[];
  /** Every PromQL expression of every dashboard panel, Grafana variables replaced. */
  dashboards: Map<string, Doc>;
}

export async function renderMonitoring(cluster: TestCluster, set: readonly string[] = []): Promise<Rendered> {
  const docs = await render(cluster, [...ALL_ON, ...set], MONITORING_APIS);
  const rule = docs.find((d) => d.kind === 'PrometheusRule');
  if (!rule) throw new Error('no PrometheusRule rendered');
  const ruleSpec = rule.spec as Rendered['ruleSpec'];
  const dashboards = new Map<string, Doc>();
  for (const cm of docs.filter(
    (d) => d.kind === 'ConfigMap' && String(d.metadata.name).startsWith('acp-dashboard-'),
  )) {
    for (const [file, text] of Object.entries(cm.data as Record<string, string>))
      dashboards.set(file, JSON.parse(text) as Doc);
  }
  return { docs, ruleSpec, alerts: ruleSpec.groups.flatMap((g) => g.rules), dashboards };
}

/** Every panel's queries (rows' nested panels included) as [panel title, expr]. */
export function dashboardExprs(dashboard: Doc): [string, string][] {
  const out: [string, string][] = [];
  const walk = (panels: Doc[]): void => {
    for (const p of panels) {
      for (const t of (p.targets ?? []) as Doc[]) if (typeof t.expr === 'string') out.push([p.title, t.expr]);
      walk((p.panels ?? []) as Doc[]);
    }
  };
  walk((dashboard.panels ?? []) as Doc[]);
  return out;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'acp-monitoring-'));
}

/** Writes `groups` as a rule file in `dir` and returns its path. */
export function writeRules(dir: string, name: string, groups: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, stringify({ groups }));
  return file;
}

export function promtool(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) =>
    execFile(bin, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout + stderr }),
    ),
  );
}

/**
 * An unreachable validating webhook, one hook failing closed and one failing
 * open, for ConfigMaps labelled acp-test-unreachable in `namespace`; creates
 * such ConfigMaps until kube-apiserver refuses one, so it has counted a
 * rejection (calling_webhook_error) and a fail-open. Returns the
 * configuration's name, for the caller to delete.
 */
export async function provokeAdmissionFailures(cluster: TestCluster, namespace: string): Promise<string> {
  const name = `acp-mon-unreachable-${randomBytes(3).toString('hex')}`;
  const closed = await freePort();
  const hook = (hookName: string, failurePolicy: string): Doc => ({
    name: hookName,
    clientConfig: { url: `https://127.0.0.1:${closed}/never` },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
    objectSelector: { matchLabels: { 'acp-test-unreachable': 'true' } },
    failurePolicy,
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 2,
  });
  const created = await kubectl(
    cluster,
    ['create', '-f', '-'],
    stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        hook('fail.unreachable.acp-test.dev', 'Fail'),
        hook('ignore.unreachable.acp-test.dev', 'Ignore'),
      ],
    }),
  );
  if (created.code !== 0) throw new Error(`creating the unreachable webhook: ${created.stderr}`);
  await eventually('kube-apiserver refuses through the unreachable webhook', async () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { generateName: 'probe-', namespace, labels: { 'acp-test-unreachable': 'true' } },
    };
    const refused = await kubectl(cluster, ['create', '-f', '-'], JSON.stringify(cm));
    return refused.code !== 0 && /failed calling webhook/.test(refused.stderr);
  });
  return name;
}
