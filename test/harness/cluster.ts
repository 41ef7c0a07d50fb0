// The test-side handle on the real control plane: useCluster() returns the
// one the test orchestrator started (ACP_TEST_KUBECONFIG), or, when a file
// is run on its own outside CI, starts a private one for this process.
// With CI=true and no control plane, it throws: the test fails, never skips.
// Each test gets its own namespace from createNamespace().
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ensureBinaries } from './binaries.ts';
import { startControlPlane, stopControlPlane } from './controlplane.ts';
import { applyCrd } from './crd.ts';

export interface TestCluster {
  kubeconfig: string;
  server: string;
  binDir: string;
  kubectlPath: string;
  helmPath: string;
  kc: KubeConfig;
  core: CoreV1Api;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

let cached: Promise<TestCluster> | undefined;

async function privateCluster(): Promise<{ kubeconfig: string; binDir: string; server: string }> {
  const binaries = ensureBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'acp-private-cluster-'));
  const state = await startControlPlane({ dir: join(dir, 'cluster'), binaries, ownerPid: process.pid });
  process.on('exit', () => {
    stopControlPlane(state);
    rmSync(dir, { recursive: true, force: true });
  });
  applyCrd(state.kubeconfig, binaries.kubectl);
  return { kubeconfig: state.kubeconfig, binDir: binaries.dir, server: state.server };
}

async function connect(): Promise<TestCluster> {
  let kubeconfig = process.env['ACP_TEST_KUBECONFIG'];
  let binDir = process.env['ACP_TEST_BIN_DIR'];
  let server = process.env['ACP_TEST_SERVER'] ?? '';
  if (!kubeconfig || !binDir) {
    if (process.env['CI'] === 'true') {
      throw new Error(
        'CI=true but no control plane: run the tests with `npm test` (ACP_TEST_KUBECONFIG is not set)',
      );
    }
    ({ kubeconfig, binDir, server } = await privateCluster());
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kubeconfig,
    server: server || (kc.getCurrentCluster()?.server ?? ''),
    binDir,
    kubectlPath: join(binDir, 'kubectl'),
    helmPath: join(binDir, 'helm'),
    kc,
    core: kc.makeApiClient(CoreV1Api),
  };
}

/** The control plane of this test run (started once per process at most). */
export function useCluster(): Promise<TestCluster> {
  cached ??= connect();
  return cached;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs the built kubectl against the test cluster. Never throws; check `code`. */
export function kubectl(cluster: TestCluster, args: string[], input?: string): Promise<ExecResult> {
  return run(cluster.kubectlPath, args, { ...process.env, KUBECONFIG: cluster.kubeconfig }, input);
}

/** Runs the built helm against the test cluster. Never throws; check `code`. */
export function helm(cluster: TestCluster, args: string[]): Promise<ExecResult> {
  return run(cluster.helmPath, args, { ...process.env, KUBECONFIG: cluster.kubeconfig });
}

/**
 * Creates a fresh namespace `<prefix>-<random>` (with its `default`
 * ServiceAccount, since no controller-manager runs) and returns its name.
 */
export async function createNamespace(
  cluster: TestCluster,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const slug =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'test';
  const name = `${slug}-${randomBytes(3).toString('hex')}`;
  await cluster.core.createNamespace({ body: { metadata: { name, labels } } });
  await cluster.core.createNamespacedServiceAccount({
    namespace: name,
    body: { metadata: { name: 'default' } },
  });
  return name;
}
