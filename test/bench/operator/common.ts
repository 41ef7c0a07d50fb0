// Shared pieces of the operator benchmarks: a private control plane, the
// operator as a process, /proc readings of its CPU time and peak memory,
// and the operator's own request counters from /metrics.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from '../../harness/binaries.ts';
import { startControlPlane, stopControlPlane, type ControlPlaneState } from '../../harness/controlplane.ts';
import { applyCrd } from '../../harness/crd.ts';
import { OPERATOR_NODE_FLAGS } from '../../harness/node-flags.ts';
import { startOperator, type OperatorProcess } from '../../harness/operator.ts';
import { chartMemoryCgroup } from '../memory.ts';
import { KubeClient, loadConnection, systemClock } from '@acp/kube';

// The operator runs in a memory cgroup limited like its container in the chart.
const { limit: operatorLimit, cgroup: operatorCgroup } = chartMemoryCgroup(
  'operator',
  `acp-bench-op-${process.pid}`,
);

/** One line saying how the operator's memory was constrained, with the OOM kills so far. */
export function memoryNote(): string {
  return operatorCgroup
    ? `operator in a memory cgroup limited to ${operatorLimit} (the chart's limit), node flags ${OPERATOR_NODE_FLAGS.join(' ')}; OOM kills: ${operatorCgroup.oomKills()}\n`
    : 'no writable memory cgroup here: the operator ran UNCONSTRAINED\n';
}

export interface Bench {
  state: ControlPlaneState;
  client: KubeClient;
  close: () => Promise<void>;
}

/** The operator's memory cgroup (null when none could be made). */
export const operatorMemory = operatorCgroup;

/**
 * A private etcd + kube-apiserver. `big`: etcd in memory (/dev/shm) with an
 * 8 GiB quota, for benchmarks that write tens of thousands of objects.
 */
export async function privateCluster(opts: { big?: boolean } = {}): Promise<Bench> {
  const dir = mkdtempSync(join(opts.big ? '/dev/shm' : tmpdir(), 'acp-bench-'));
  const binaries = ensureBinaries();
  const state = await startControlPlane({
    dir: join(dir, 'cp'),
    binaries,
    ownerPid: process.pid,
    ...(opts.big ? { etcdFlags: ['--quota-backend-bytes=8589934592'], timeoutMs: 300_000 } : {}),
  });
  applyCrd(state.kubeconfig, binaries.kubectl);
  const client = await KubeClient.connect(loadConnection(state.kubeconfig, {}), {
    clock: systemClock,
    requestTimeoutMs: 120_000,
  });
  return {
    state,
    client,
    close: async () => {
      await client.close();
      stopControlPlane(state);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `work` over items with at most `n` in flight. */
export async function pool<T>(
  items: readonly T[],
  n: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

export interface ProcStats {
  cpuSeconds: number;
  peakRssMb: number;
  rssMb: number;
}

export function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

/** Sums acp_operator_apiserver_requests_total by verb. */
export async function requestsByVerb(op: OperatorProcess): Promise<Record<string, number>> {
  const text = await op.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(
    /^acp_operator_apiserver_requests_total\{verb="([A-Z]+)",code="\d+"\} (\d+)/gm,
  )) {
    out[m[1] ?? ''] = (out[m[1] ?? ''] ?? 0) + Number(m[2]);
  }
  return out;
}

export async function counter(op: OperatorProcess, name: string): Promise<Record<string, number>> {
  const text = await op.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)`, 'gm')))
    out[m[1] ?? ''] = Number(m[2]);
  return out;
}

export async function startBenchOperator(
  bench: Bench,
  namespace: string,
  watch: string[],
  args: string[] = [],
  readyWithinMs = 60_000,
): Promise<OperatorProcess> {
  await bench.client.create('/api/v1/namespaces', { metadata: { name: namespace } }).catch(() => undefined);
  const op = await startOperator({
    kubeconfig: bench.state.kubeconfig,
    namespace,
    watchNamespaces: watch,
    identity: 'bench-op',
    args: ['--leader-elect=false', ...args],
    ...(operatorCgroup ? { launcher: operatorCgroup.wrap } : {}),
  });
  const until = Date.now() + readyWithinMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${op.metricsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return op;
    if (exitedOf(op) || Date.now() > until)
      throw new Error(`the operator did not become ready: ${JSON.stringify(op.logs().slice(-5))}`);
    await sleep(100);
  }
}

/** True once the operator process ended, by exiting or by a signal (a heap limit, an OOM kill). */
export const exitedOf = (op: OperatorProcess): boolean =>
  op.process.exitCode !== null || op.process.signalCode !== null;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const seconds = (ms: number): string => (ms / 1000).toFixed(1);
