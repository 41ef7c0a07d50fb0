// Benchmark (not a test): N ApiCompliancePolicies (default 1,000) applied
// at once to a real kube-apiserver with the operator running: the time
// until every one is Ready, the apiserver requests per policy (writes by
// kind), the operator's CPU and peak memory, and the writes made by
// resyncs once nothing changes (must be 0).
// Run: npm run bench:operator -- policies
import {
  counter,
  pool,
  privateCluster,
  procStats,
  requestsByVerb,
  seconds,
  sleep,
  memoryNote,
  startBenchOperator,
} from './common.ts';

const N = Number(process.env['ACP_BENCH_POLICIES'] ?? 1000);
const NAMESPACES = 10;
const RESYNC_S = 20;

type PolicyList = { items: { status?: { conditions?: { type: string; status: string }[] } }[] };

function policy(i: number): Record<string, unknown> {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name: `p-${i}` },
    spec: {
      selector: { matchLabels: { app: `app-${i}` } },
      upstream: { port: 8080 },
      profiles: ['PCI-DSS-4.0', 'NIST-800-52r2'],
      tls: {
        cipherSuites: [
          'TLS_AES_256_GCM_SHA384',
          'ECDHE-ECDSA-AES256-GCM-SHA384',
          'ECDHE-RSA-AES256-GCM-SHA384',
        ],
      },
      mtls: { mode: 'Strict', allowedPeers: [{ namespace: 'shop', serviceAccount: 'checkout' }] },
      limits: { rateLimit: { requestsPerSecond: 100 } },
    },
  };
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const writes = (v: Record<string, number>): number =>
  (v['POST'] ?? 0) + (v['PUT'] ?? 0) + (v['PATCH'] ?? 0) + (v['DELETE'] ?? 0);

async function main(): Promise<void> {
  const bench = await privateCluster();
  try {
    const c = bench.client;
    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-p${i}`);
    for (const ns of namespaces) await c.create('/api/v1/namespaces', { metadata: { name: ns } });
    const op = await startBenchOperator(bench, 'acp-system', namespaces, [`--resync-period=${RESYNC_S}s`]);
    await sleep(2000);
    const before = await requestsByVerb(op);
    const cpuBefore = procStats(op.process.pid ?? 0).cpuSeconds;
    const start = Date.now();
    await pool([...Array(N).keys()], 32, (i) =>
      c.create(
        `/apis/compliance.acp.dev/v1alpha1/namespaces/${namespaces[i % NAMESPACES] ?? ''}/apicompliancepolicies`,
        policy(i),
      ),
    );
    const applied = Date.now() - start;
    let ready = 0;
    while (ready < N) {
      await sleep(500);
      const list = await c.list<PolicyList['items'][number]>(
        '/apis/compliance.acp.dev/v1alpha1/apicompliancepolicies',
      );
      ready = list.items.filter((p) =>
        p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
      ).length;
      if (Date.now() - start > 600_000) throw new Error(`only ${ready} of ${N} Ready after 10 min`);
    }
    const allReady = Date.now() - start;
    await sleep(3000);
    const settled = await requestsByVerb(op);
    const byKind = await counter(op, 'acp_operator_policy_writes_total');
    const cpu = procStats(op.process.pid ?? 0).cpuSeconds - cpuBefore;
    // Steady state: let two resyncs pass with nothing changing.
    await sleep((2 * RESYNC_S + 5) * 1000);
    const after = await requestsByVerb(op);
    const resyncs = (await counter(op, 'acp_operator_workqueue_adds_total'))['controller="policy"'] ?? 0;
    const stats = procStats(op.process.pid ?? 0);
    const writesConverge = writes(settled) - writes(before);
    process.stdout.write(
      `${N} policies in ${NAMESPACES} namespaces, created in ${seconds(applied)} s by 32 concurrent clients\n` +
        '| policies | all Ready after | writes/policy (all kinds) | of which ConfigMap / NetworkPolicy / status | events/policy | GET+WATCH during convergence | operator CPU (convergence) | peak RSS | writes in 2 resyncs |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' +
        `| ${N} | ${seconds(allReady)} s | ${(writesConverge / N).toFixed(2)} | ${((byKind['kind="ConfigMap"'] ?? 0) / N).toFixed(2)} / ${((byKind['kind="NetworkPolicy"'] ?? 0) / N).toFixed(2)} / ${((byKind['kind="Status"'] ?? 0) / N).toFixed(2)} | ${(((settled['POST'] ?? 0) - (before['POST'] ?? 0)) / N).toFixed(2)} | ${(settled['GET'] ?? 0) + (settled['WATCH'] ?? 0) - (before['GET'] ?? 0) - (before['WATCH'] ?? 0)} | ${cpu.toFixed(1)} s | ${stats.peakRssMb.toFixed(0)} MB | ${writes(after) - writes(settled)} |\n` +
        `(policy queue adds so far: ${resyncs}; all requests: ${sum(after)})\n` +
        memoryNote(),
    );
    await op.stop();
  } finally {
    await bench.close();
  }
}

await main();
