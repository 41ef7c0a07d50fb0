// Runs the real webhook in this test process against the test control
// plane, the way the chart deploys it but reachable on 127.0.0.1: its own
// ServiceAccount with the chart's RBAC (renamed per test file), a token
// from the TokenRequest API, and the chart's two webhook configurations
// with clientConfig.url on 127.0.0.1 and every entry additionally scoped
// to namespaces labelled acp-test-scope=<scope>, so parallel test files
// (and a stopped webhook) never touch each other's requests.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConnection, systemClock } from '@acp/kube';
import { DEFAULT_INJECTION_CONFIG, parseConfig, startWebhook, type RunningWebhook } from '@acp/webhooks';
import {
  createNamespace,
  freePort,
  helm,
  kubectl,
  podBoundToken,
  type RotatingToken,
  type TestCluster,
} from '../../src/index.ts';

const chart = join(import.meta.dirname, '..', '..', '..', 'charts', 'api-compliance-operator');
export const SCOPE_LABEL = 'acp-test-scope';

export interface WebhookFixture {
  scope: string;
  operatorNamespace: string;
  mutating: string;
  validating: string;
  port: number;
  webhook: RunningWebhook | undefined;
  /** The running webhook's metrics registry. */
  registry: Registry | undefined;
  /** The flags the webhook runs with (for `node webhooks/src/main.ts` in the benchmark). */
  args: string[];
  /** The webhook's credentials: a token bound to a Pod in a token file its kubeconfig names (rotate() to roll it). */
  token: RotatingToken;
  /** Labels for a namespace in this fixture's scope (plus any others). */
  labels(extra?: Record<string, string>): Record<string, string>;
  start(): Promise<RunningWebhook>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

type Doc = Record<string, any>;

async function must(cluster: TestCluster, args: string[], input?: string): Promise<string> {
  const r = await kubectl(cluster, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function render(
  cluster: TestCluster,
  namespace: string,
  template: string,
  set: readonly string[] = [],
): Promise<Doc[]> {
  const sets = set.flatMap((v) => ['--set', v]);
  const r = await helm(cluster, [
    'template',
    't',
    chart,
    '--namespace',
    namespace,
    '-s',
    `templates/${template}`,
    ...sets,
  ]);
  if (r.code !== 0) throw new Error(`helm template: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

function scoped(doc: Doc, name: string, port: number, scope: string): Doc {
  doc.metadata.name = name;
  for (const hook of doc.webhooks as Doc[]) {
    hook.clientConfig = { url: `https://127.0.0.1:${port}${hook.clientConfig.service.path}` };
    hook.namespaceSelector ??= {};
    hook.namespaceSelector.matchExpressions ??= [];
    hook.namespaceSelector.matchExpressions.push({ key: SCOPE_LABEL, operator: 'In', values: [scope] });
  }
  return doc;
}

function rbac(docs: Doc[], suffix: string, mutating: string, validating: string): Doc[] {
  const rename: Record<string, string> = {
    'acp-sidecar-injector': mutating,
    'acp-policy-validator': validating,
  };
  for (const d of docs) {
    if (d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')
      d.metadata.name = `acp-webhook-${suffix}`;
    if (d.kind === 'ClusterRoleBinding') d.roleRef.name = `acp-webhook-${suffix}`;
    for (const rule of (d.rules ?? []) as Doc[]) {
      if (rule.resourceNames) rule.resourceNames = rule.resourceNames.map((n: string) => rename[n] ?? n);
    }
  }
  return docs;
}

export interface FixtureOptions {
  /** Serving-certificate waits (default 1 s each: rotation tests wait for them, never assert on time). */
  propagation?: string;
  retireGrace?: string;
  /** Chart values for the rendered webhook configurations (`webhook.reinvocationPolicy=Never`). */
  helmSet?: string[];
  /** How long one informer watch lasts (default: the webhook's 300 s). */
  watchTimeoutSeconds?: number;
}

export async function webhookFixture(
  cluster: TestCluster,
  options: FixtureOptions = {},
): Promise<WebhookFixture> {
  const suffix = randomBytes(3).toString('hex');
  const scope = `wh-${suffix}`;
  const operatorNamespace = await createNamespace(cluster, 'acp-op', {
    [SCOPE_LABEL]: scope,
    'acp.dev/injection': 'enabled',
  });
  const mutating = `acp-sidecar-injector-${suffix}`;
  const validating = `acp-policy-validator-${suffix}`;
  const port = await freePort();
  const roles = rbac(
    await render(cluster, operatorNamespace, 'webhook-rbac.yaml'),
    suffix,
    mutating,
    validating,
  );
  await must(cluster, ['apply', '-f', '-'], roles.map((d) => stringify(d)).join('---\n'));
  const configs = await render(cluster, operatorNamespace, 'webhook-configurations.yaml', options.helmSet);
  const [m, v] = [
    configs.find((d) => d.kind === 'MutatingWebhookConfiguration'),
    configs.find((d) => d.kind === 'ValidatingWebhookConfiguration'),
  ];
  if (!m || !v) throw new Error('the chart has no webhook configurations');
  await must(
    cluster,
    ['create', '-f', '-'],
    [scoped(m, mutating, port, scope), scoped(v, validating, port, scope)]
      .map((d) => stringify(d))
      .join('---\n'),
  );
  const token = await podBoundToken(cluster, operatorNamespace, 'acp-webhook');
  const args = [
    `--port=${port}`,
    '--host=127.0.0.1',
    '--metrics-port=0',
    `--namespace=${operatorNamespace}`,
    `--mutating-configuration=${mutating}`,
    `--validating-configuration=${validating}`,
    '--ip-san=127.0.0.1',
    `--propagation=${options.propagation ?? '1s'}`,
    `--retire-grace=${options.retireGrace ?? '1s'}`,
  ];
  const config = parseConfig(args, {});
  const fixture: WebhookFixture = {
    scope,
    operatorNamespace,
    mutating,
    validating,
    port,
    webhook: undefined,
    registry: undefined,
    args,
    token,
    labels: (extra = {}) => ({ [SCOPE_LABEL]: scope, ...extra }),
    async start() {
      const registry = new Registry();
      const webhook = await startWebhook({
        connection: loadConnection(token.kubeconfig, {}),
        ...(options.watchTimeoutSeconds ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
        log: pino({ level: process.env['ACP_TEST_LOG'] ?? 'silent' }),
        registry,
        clock: systemClock,
        config,
        injection: DEFAULT_INJECTION_CONFIG,
      });
      await webhook.view.whenSynced();
      fixture.webhook = webhook;
      fixture.registry = registry;
      return webhook;
    },
    async stop() {
      await fixture.webhook?.stop();
      fixture.webhook = undefined;
    },
    async cleanup() {
      await fixture.stop();
      await kubectl(cluster, ['delete', 'mutatingwebhookconfiguration', mutating, '--ignore-not-found']);
      await kubectl(cluster, ['delete', 'validatingwebhookconfiguration', validating, '--ignore-not-found']);
      await kubectl(cluster, [
        'delete',
        'clusterrole,clusterrolebinding',
        `acp-webhook-${suffix}`,
        '--ignore-not-found',
      ]);
    },
  };
  return fixture;
}

/** Waits until `check` returns true (polling; never a timing assertion). */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`gave up waiting: ${what}`);
}
