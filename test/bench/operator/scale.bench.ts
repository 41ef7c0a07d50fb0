// Benchmark (not a test): the operator and the webhook at cluster scale on a
// real etcd + kube-apiserver (etcd in memory). Creates N namespaces, two
// ServiceAccounts each, P pods spread over them (Pending: there is no node;
// the operator works from pod metadata, service account and phase) and one
// ApiCompliancePolicy in each of `policies` namespaces, selecting every pod
// there. Then, with the operator started inside a memory cgroup limited
// like its container in the chart: the time until its caches synced and
// until every workload identity is Ready (each policy's namespace has both
// identity Secrets and the policy says CertificatesReady=True for both),
// its peak memory (cgroup peak, VmHWM, sampled anonymous RSS, OOM kills),
// and the writes of one resync once nothing changes (the operator's own
// request counter and the apiserver's apiserver_request_total, by
// resource). Then the webhook, in its own chart-limited cgroup, with the
// same objects in the cluster: its memory once its caches synced.
//
// Run: npm run bench:operator -- scale   (ACP_BENCH_PODS=50000
// ACP_BENCH_NAMESPACES=5000 ACP_BENCH_POLICIES=500; defaults 5000, pods/10, 500)
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ListResult, Secret } from '@acp/kube';
import { WEBHOOK_NODE_FLAGS } from '../../harness/node-flags.ts';
import type { OperatorProcess } from '../../harness/operator.ts';
import { freePort } from '../../harness/ports.ts';
import { chartMemoryCgroup, sampleMemory, type MemoryCgroup } from '../memory.ts';
import * as common from './common.ts';
import type { Bench } from './common.ts';

const PODS = Number(process.env['ACP_BENCH_PODS'] ?? 5000);
const NAMESPACES = Number(process.env['ACP_BENCH_NAMESPACES'] ?? Math.max(1, Math.round(PODS / 10)));
const POLICIES = Math.min(NAMESPACES, Number(process.env['ACP_BENCH_POLICIES'] ?? 500));
const SERVICE_ACCOUNTS = 2;
const IN_FLIGHT = 48;
const RESYNC_SECONDS = 45;
const API = '/apis/compliance.acp.dev/v1alpha1';
const root = join(import.meta.dirname, '..', '..', '..');

const nsName = (i: number): string => `scale-${String(i).padStart(5, '0')}`;
/** The namespaces with a policy, spread evenly over all of them. */
const policyNamespaces = Array.from({ length: POLICIES }, (_, i) =>
  nsName(Math.floor((i * NAMESPACES) / POLICIES)),
);
const out = (s: string): boolean => process.stdout.write(s);
const range = (n: number): number[] => [...Array(n).keys()];

async function timed(what: string, n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  const t0 = Date.now();
  await common.pool(range(n), IN_FLIGHT, work);
  const ms = Date.now() - t0;
  out(
    `created ${n} ${what} in ${common.seconds(ms)} s (${Math.round(n / (ms / 1000))}/s, ${IN_FLIGHT} in flight)\n`,
  );
}

async function populate(bench: Bench): Promise<void> {
  const c = bench.client;
  await timed('namespaces', NAMESPACES, (i) =>
    c.create('/api/v1/namespaces', {
      metadata: { name: nsName(i), labels: { team: `t${i % 50}`, 'acp.dev/injection': 'enabled' } },
    }),
  );
  await timed('service accounts', NAMESPACES * SERVICE_ACCOUNTS, (i) =>
    c.create(`/api/v1/namespaces/${nsName(i % NAMESPACES)}/serviceaccounts`, {
      metadata: { name: `sa-${Math.floor(i / NAMESPACES)}` },
    }),
  );
  await timed('policies', POLICIES, (i) =>
    c.create(`${API}/namespaces/${policyNamespaces[i] ?? ''}/apicompliancepolicies`, {
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, upstream: { port: 8080 } },
    }),
  );
  // A pod like a Deployment's: a few labels, one container with env, ports and resources; the
  // apiserver adds the ServiceAccount token volume, defaults and managedFields (~4 KB as JSON).
  await timed('pods', PODS, (i) => {
    const ns = i % NAMESPACES;
    const n = Math.floor(i / NAMESPACES);
    return c.create(`/api/v1/namespaces/${nsName(ns)}/pods`, {
      metadata: {
        name: `web-7d4b9c8f6-${String(n).padStart(5, '0')}`,
        labels: { app: 'web', tier: 'frontend', 'pod-template-hash': '7d4b9c8f6' },
        annotations: { 'kubectl.kubernetes.io/default-container': 'app' },
      },
      spec: {
        serviceAccountName: `sa-${n % SERVICE_ACCOUNTS}`,
        containers: [
          {
            name: 'app',
            image: 'registry.example/shop/web:1.42.0',
            ports: [{ name: 'http', containerPort: 8080 }],
            env: [
              { name: 'LOG_LEVEL', value: 'info' },
              { name: 'UPSTREAM', value: 'http://catalog.shop.svc:8080' },
            ],
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
            readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
          },
        ],
      },
    });
  });
}

interface PolicyStatusView {
  metadata: { namespace?: string };
  status?: {
    certificates?: { serviceAccounts?: number };
    conditions?: { type: string; status: string }[];
  };
}

/** How many identity Secrets exist and how many policies say all their identities are Ready. */
async function readiness(bench: Bench): Promise<{ secrets: number; readyPolicies: number }> {
  const c = bench.client;
  let secrets = 0;
  let cont: string | undefined;
  do {
    const page: ListResult<Secret> = await c.list<Secret>('/api/v1/secrets', {
      labelSelector: 'acp.dev/component=workload-identity',
      limit: 2000,
      continue: cont,
    });
    secrets += page.items.length;
    cont = page.metadata.continue || undefined;
  } while (cont);
  const policies = await c.list<PolicyStatusView>(`${API}/apicompliancepolicies`);
  const readyPolicies = policies.items.filter(
    (p) =>
      p.status?.certificates?.serviceAccounts === SERVICE_ACCOUNTS &&
      p.status.conditions?.some((x) => x.type === 'CertificatesReady' && x.status === 'True') === true,
  ).length;
  return { secrets, readyPolicies };
}

/** apiserver_request_total of writes, by resource (leases left out: the apiserver renews its own). */
function apiserverWrites(bench: Bench): Record<string, number> {
  const text = execFileSync(
    join(bench.state.binDir, 'kubectl'),
    ['--kubeconfig', bench.state.kubeconfig, 'get', '--raw', '/metrics'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const writes: Record<string, number> = {};
  for (const m of text.matchAll(/^apiserver_request_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries(
      [...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1] ?? '', l[2] ?? '']),
    );
    if (!/^(POST|PUT|PATCH|DELETE|APPLY|CREATE|UPDATE)$/.test(labels['verb'] ?? '')) continue;
    if (labels['resource'] === 'leases') continue;
    const key = `${labels['resource'] ?? ''}${labels['subresource'] ? `/${labels['subresource']}` : ''}`;
    writes[key] = (writes[key] ?? 0) + Number(m[2]);
  }
  return writes;
}

const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(b)
      .map(([k, v]) => [k, v - (a[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );
const total = (r: Record<string, number>): number => Object.values(r).reduce((s, v) => s + v, 0);

async function operatorWrites(op: OperatorProcess): Promise<Record<string, number>> {
  const v = await common.requestsByVerb(op);
  return Object.fromEntries(
    Object.entries(v).filter(([k]) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(k)),
  );
}

const reconciles = async (op: OperatorProcess): Promise<number> =>
  total(await common.counter(op, 'acp_operator_reconcile_duration_seconds_count'));

/** Waits until the operator has written nothing for `quietMs`. */
async function quiet(op: OperatorProcess, quietMs: number): Promise<void> {
  let last = total(await operatorWrites(op));
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    await common.sleep(1000);
    const now = total(await operatorWrites(op));
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/** One resync after Ready: the writes it made (operator and apiserver counts) and the operator's CPU time. */
async function resyncWrites(
  bench: Bench,
  op: OperatorProcess,
): Promise<{ operator: Record<string, number>; apiserver: Record<string, number>; cpuSeconds: number }> {
  await quiet(op, 5000);
  const pid = op.process.pid ?? 0;
  const [w0, a0, r0, cpu0] = [
    await operatorWrites(op),
    apiserverWrites(bench),
    await reconciles(op),
    common.procStats(pid).cpuSeconds,
  ];
  // Every policy, identity and trust bundle (one per policy namespace) and the CA are reconciled again.
  const expected = POLICIES + POLICIES * SERVICE_ACCOUNTS + POLICIES + 1;
  const until = Date.now() + (RESYNC_SECONDS + 600) * 1000;
  while ((await reconciles(op)) - r0 < expected) {
    if (Date.now() > until) throw new Error('no complete resync within 10 min of its period');
    await common.sleep(500);
  }
  await quiet(op, 3000);
  return {
    operator: diff(w0, await operatorWrites(op)),
    apiserver: diff(a0, apiserverWrites(bench)),
    cpuSeconds: common.procStats(pid).cpuSeconds - cpu0,
  };
}

/** When each policy's CertificatesReady turned True, in seconds after `start`: every 25th, in order. */
async function readyTimes(bench: Bench, start: number): Promise<string> {
  const policies = await bench.client.list<{
    status?: { conditions?: { type: string; lastTransitionTime?: string }[] };
  }>(`${API}/apicompliancepolicies`);
  const at = policies.items
    .map((p) => p.status?.conditions?.find((x) => x.type === 'CertificatesReady')?.lastTransitionTime)
    .map((t) => Math.round((Date.parse(t ?? '') - start) / 1000))
    .sort((a, b) => a - b);
  return JSON.stringify(at.filter((_, i) => i % 25 === 0 || i === at.length - 1));
}

async function runOperator(bench: Bench): Promise<string> {
  const start = Date.now();
  const op = await common.startBenchOperator(
    bench,
    'acp-system',
    [],
    [`--resync-period=${RESYNC_SECONDS}s`],
    600_000,
  );
  const synced = Date.now() - start;
  const sampler = sampleMemory(op.process.pid ?? 0, 200);
  const wanted = POLICIES * SERVICE_ACCOUNTS;
  let state = { secrets: 0, readyPolicies: 0 };
  while (state.secrets < wanted || state.readyPolicies < POLICIES) {
    await common.sleep(1000);
    state = await readiness(bench);
    if (common.exitedOf(op))
      throw new Error(
        `the operator ended (${op.process.exitCode ?? op.process.signalCode}; OOM kills ${common.operatorMemory?.oomKills() ?? 'n/a'}): ` +
          JSON.stringify(op.logs().slice(-3)).slice(-3000),
      );
    if (Date.now() - start > 1_800_000) throw new Error(`not Ready after 30 min: ${JSON.stringify(state)}`);
  }
  const ready = Date.now() - start;
  // ACP_BENCH_LOG=file: the operator's log lines until Ready, one JSON object a line (where the time went).
  const logFile = process.env['ACP_BENCH_LOG'];
  if (logFile)
    writeFileSync(
      logFile,
      op
        .logs()
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
  out(
    `CertificatesReady turned True, s after start (every 25th policy): ${await readyTimes(bench, start)}\n`,
  );
  out(
    `operator writes from start until every identity was Ready: ${JSON.stringify(await operatorWrites(op))}\n`,
  );
  const resync = await resyncWrites(bench, op);
  const mem = sampler.stop();
  const stats = common.procStats(op.process.pid ?? 0);
  const row =
    `| operator | ${PODS} | ${NAMESPACES} | ${POLICIES} | ${wanted} | ${common.seconds(synced)} s | ${common.seconds(ready)} s ` +
    `| ${common.operatorMemory ? `${common.operatorMemory.peakMb().toFixed(0)} MB` : 'n/a'} | ${stats.peakRssMb.toFixed(0)} MB ` +
    `| ${mem.anonMb.toFixed(0)} MB | ${common.operatorMemory?.oomKills() ?? 'n/a'} | ${stats.cpuSeconds.toFixed(0)} s ` +
    `| ${total(resync.operator)} ${JSON.stringify(resync.operator)} | ${total(resync.apiserver)} ${JSON.stringify(resync.apiserver)} ` +
    `| ${resync.cpuSeconds.toFixed(1)} s |\n`;
  await op.stop();
  return row;
}

async function webhookConfigurations(bench: Bench, port: number): Promise<void> {
  // Configurations whose caBundle the webhook manages; no rules, so they intercept nothing here.
  const hook = (name: string): Record<string, unknown> => ({
    name,
    clientConfig: { url: `https://127.0.0.1:${port}/` },
    rules: [],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Ignore',
  });
  await bench.client.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    metadata: { name: 'bench-mutating' },
    webhooks: [hook('inject.bench.acp.dev')],
  });
  await bench.client.create('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
    metadata: { name: 'bench-validating' },
    webhooks: [hook('validate.bench.acp.dev')],
  });
}

async function runWebhook(bench: Bench, cgroup: MemoryCgroup | null): Promise<string> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  await webhookConfigurations(bench, port);
  const argv = [
    process.execPath,
    ...WEBHOOK_NODE_FLAGS,
    join(root, 'webhooks', 'src', 'main.ts'),
    `--port=${port}`,
    '--host=127.0.0.1',
    `--metrics-port=${metricsPort}`,
    '--namespace=acp-system',
    '--mutating-configuration=bench-mutating',
    '--validating-configuration=bench-validating',
    '--ip-san=127.0.0.1',
    '--log-level=warn',
  ];
  const [cmd, ...args] = cgroup ? cgroup.wrap(argv) : argv;
  const start = Date.now();
  const proc = spawn(cmd ?? '', args, {
    env: { ...process.env, KUBECONFIG: bench.state.kubeconfig },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    const sampler = sampleMemory(proc.pid ?? 0, 200);
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (proc.exitCode !== null) throw new Error(`the webhook exited: ${proc.exitCode}`);
      if (Date.now() - start > 300_000) throw new Error('the webhook was not ready after 5 min');
      await common.sleep(200);
    }
    const synced = Date.now() - start;
    await common.sleep(10_000);
    const mem = sampler.stop();
    const stats = common.procStats(proc.pid ?? 0);
    return (
      `| webhook | ${PODS} | ${NAMESPACES} | ${POLICIES} | - | ${common.seconds(synced)} s | - ` +
      `| ${cgroup ? `${cgroup.peakMb().toFixed(0)} MB` : 'n/a'} | ${stats.peakRssMb.toFixed(0)} MB ` +
      `| ${mem.anonMb.toFixed(0)} MB | ${cgroup?.oomKills() ?? 'n/a'} | ${stats.cpuSeconds.toFixed(0)} s | - | - | - |\n`
    );
  } finally {
    proc.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const webhookMemory = chartMemoryCgroup('webhook', `acp-bench-wh-${process.pid}`);
  const bench = await common.privateCluster({ big: true });
  try {
    await populate(bench);
    const operatorRow = await runOperator(bench);
    const webhookRow = await runWebhook(bench, webhookMemory.cgroup);
    out(
      `| process | pods | namespaces | policies | identities | start -> caches synced | start -> all identities Ready ` +
        `| cgroup peak | VmHWM | peak anon RSS | OOM kills | CPU | writes in one resync (operator, by verb) ` +
        `| writes in one resync (apiserver, by resource) | operator CPU in one resync |\n` +
        `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n` +
        operatorRow +
        webhookRow +
        `operator limit: the chart's (${common.operatorMemory?.limitMb ?? 'no cgroup'} MB); webhook limit: ${webhookMemory.limit}\n`,
    );
  } finally {
    await bench.close();
  }
}

await main();
