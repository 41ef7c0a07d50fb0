// `npm run cluster:up` / `npm run cluster:down`: a long-lived control plane
// for people (not tied to any process), in ${ACP_CLUSTER_DIR:-~/.cache/acp/cluster}.
// `up` is idempotent: when the cluster is already healthy it only prints how
// to use it.
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

const dir = process.env['ACP_CLUSTER_DIR'] ?? join(homedir(), '.cache', 'acp', 'cluster');
const out = (s: string): boolean => process.stdout.write(`${s}\n`);
const err = (s: string): boolean => process.stderr.write(`${s}\n`);

function printUsage(state: ControlPlaneState): void {
  out(`# control plane: ${state.server} (etcd 127.0.0.1:${state.etcdPort}); logs in ${state.dir}`);
  out(`# kubectl and helm: ${state.binDir}/kubectl, ${state.binDir}/helm`);
  out(`export KUBECONFIG=${state.kubeconfig}`);
  out(`export PATH=${state.binDir}:$PATH`);
}

async function up(): Promise<void> {
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
