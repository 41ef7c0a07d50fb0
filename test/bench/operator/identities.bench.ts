// Benchmark (not a test): the time for N workload identities (default
// 1,000: one ServiceAccount and one selected pod each) to be Ready through
// a real kube-apiserver: from the operator's start until every identity
// Secret exists and the policy reports CertificatesReady=True for all N.
// Objects are created before the operator starts, so only its work is
// timed. Run: npm run bench:operator -- identities
import type { Secret } from '@acp/kube';
import {
  pool,
  privateCluster,
  procStats,
  requestsByVerb,
  seconds,
  sleep,
  memoryNote,
  startBenchOperator,
} from './common.ts';

const N = Number(process.env['ACP_BENCH_IDENTITIES'] ?? 1000);
const ns = 'bench-identities';

async function main(): Promise<void> {
  const bench = await privateCluster();
  try {
    const c = bench.client;
    await c.create('/api/v1/namespaces', { metadata: { name: ns } });
    await c.create(`/apis/compliance.acp.dev/v1alpha1/namespaces/${ns}/apicompliancepolicies`, {
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'bench' },
      spec: { selector: { matchLabels: { app: 'bench' } }, upstream: { port: 8080 } },
    });
    const t0 = Date.now();
    await pool([...Array(N).keys()], 32, async (i) => {
      await c.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: `sa-${i}` } });
      await c.create(`/api/v1/namespaces/${ns}/pods`, {
        metadata: { name: `pod-${i}`, labels: { app: 'bench' } },
        spec: {
          serviceAccountName: `sa-${i}`,
          automountServiceAccountToken: false,
          containers: [{ name: 'app', image: 'x' }],
        },
      });
    });
    process.stdout.write(`created ${N} service accounts and pods in ${seconds(Date.now() - t0)} s\n`);
    const start = Date.now();
    const op = await startBenchOperator(bench, 'acp-system', [ns]);
    let secrets = 0;
    let ready = false;
    let firstAt = 0;
    while (!ready) {
      await sleep(500);
      const list = await c.list<Secret>(`/api/v1/namespaces/${ns}/secrets`, {
        labelSelector: 'acp.dev/component=workload-identity',
      });
      secrets = list.items.length;
      if (secrets > 0 && !firstAt) firstAt = Date.now();
      const p = await c.get<{
        status?: {
          certificates?: { serviceAccounts?: number };
          conditions?: { type: string; status: string }[];
        };
      }>(`/apis/compliance.acp.dev/v1alpha1/namespaces/${ns}/apicompliancepolicies/bench`);
      ready =
        secrets === N &&
        p.status?.certificates?.serviceAccounts === N &&
        p.status.conditions?.some((x) => x.type === 'CertificatesReady' && x.status === 'True') === true;
      if (Date.now() - start > 600_000) throw new Error(`not Ready after 10 min: ${secrets} secrets`);
    }
    const total = Date.now() - start;
    const stats = procStats(op.process.pid ?? 0);
    const verbs = await requestsByVerb(op);
    process.stdout.write(
      `| identities | operator start -> all Ready | first Secret after | operator CPU | peak RSS | apiserver requests by verb |\n| --- | --- | --- | --- | --- | --- |\n` +
        `| ${N} | ${seconds(total)} s | ${seconds(firstAt - start)} s | ${stats.cpuSeconds.toFixed(1)} s | ${stats.peakRssMb.toFixed(0)} MB | ${JSON.stringify(verbs)} |\n` +
        memoryNote(),
    );
    await op.stop();
  } finally {
    await bench.close();
  }
}

await main();
