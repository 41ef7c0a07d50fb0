// `npm run cluster:up [-- --node]` / `npm run cluster:down`: a long-lived
// control plane for people (not tied to any process), in
// ${ACP_CLUSTER_DIR:-~/.cache/acp/cluster}. With --node it also runs a real
// node (kubelet + containerd + CNI + controller-manager, scheduler,
// kube-proxy; test/harness/node/) with the product image imported.
// `up` is idempotent: when the cluster is already healthy it only prints how
// to use it. `down` stops whichever of the two is running and, for a node,
// removes everything it created.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from './binaries.ts';
import {
  isHealthy,
  readState,
  startControlPlane,
  stopControlPlane,
  type ControlPlaneState,
} from './controlplane.ts';
import { applyCrd } from './crd.ts';
import { leftovers, readNodeState, startRealCluster, stopRealCluster } from './node/node.ts';

const dir = process.env['ACP_CLUSTER_DIR'] ?? join(homedir(), '.cache', 'acp', 'cluster');
const out = (s: string): boolean => process.stdout.write(`${s}\n`);
const err = (s: string): boolean => process.stderr.write(`${s}\n`);

function printUsage(state: ControlPlaneState): void {
  out(`# control plane: ${state.server} (etcd 127.0.0.1:${state.etcdPort}); logs in ${state.dir}`);
  out(`# kubectl and helm: ${state.binDir}/kubectl, ${state.binDir}/helm`);
  out(`export KUBECONFIG=${state.kubeconfig}`);
  out(`export PATH=${state.binDir}:$PATH`);
}

async function upWithNode(): Promise<void> {
  const existing = readNodeState(dir);
  if (existing?.controlPlane && (await isHealthy(existing.controlPlane))) {
    err('cluster:up: the control plane and the real node are already running');
    printUsage(existing.controlPlane);
    return;
  }
  if (existing) stopRealCluster(existing);
  const old = readState(dir);
  if (old) stopControlPlane(old);
  const binaries = ensureBinaries();
  const node = await startRealCluster({ dir, binaries, ownerPid: 0, log: err });
  const cp = node.controlPlane;
  if (!cp) throw new Error('cluster:up: the node started without a control plane');
  applyCrd(cp.kubeconfig, binaries.kubectl);
  err(
    `cluster:up: control plane and node Ready in ${node.timings['node Ready']?.toFixed(1)}s; image ${node.image?.name} imported`,
  );
  printUsage(cp);
}

async function up(): Promise<void> {
  if (process.argv.includes('--node')) return upWithNode();
  const nodeState = readNodeState(dir);
  if (nodeState) {
    err('cluster:up: a real node is running here; `npm run cluster:down` first, or `cluster:up -- --node`');
    process.exit(1);
  }
  const existing = readState(dir);
  if (existing && (await isHealthy(existing))) {
    applyCrd(existing.kubeconfig, `${existing.binDir}/kubectl`);
    err('cluster:up: already running; the CRD is up to date');
    printUsage(existing);
    return;
  }
  if (existing) stopControlPlane(existing);
  const binaries = ensureBinaries();
  const state = await startControlPlane({ dir, binaries, ownerPid: 0, log: err });
  applyCrd(state.kubeconfig, binaries.kubectl);
  err(`cluster:up: ready in ${state.startSeconds.toFixed(1)}s; the ApiCompliancePolicy CRD is installed`);
  printUsage(state);
}

function down(): void {
  const node = readNodeState(dir);
  if (node) {
    stopRealCluster(node);
    const left = leftovers(node);
    if (left.length > 0) {
      err(`cluster:down: the node is stopped but these are left:\n- ${left.join('\n- ')}`);
      process.exit(1);
    }
    err('cluster:down: the control plane and the real node are stopped; nothing they created is left');
    return;
  }
  const state = readState(dir);
  if (!state) {
    err(`cluster:down: no cluster state in ${dir}; nothing to stop`);
    return;
  }
  stopControlPlane(state);
  err(`cluster:down: stopped (state kept in ${dir} until the next cluster:up)`);
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') down();
else {
  err('usage: cluster-cli.ts up|down');
  process.exit(2);
}
