// The test command (`npm test`), in two phases:
//   1. builds or reuses the control-plane binaries, starts ONE real etcd +
//      kube-apiserver (owned by this process: it dies with it), installs the
//      CRD and runs every unit, integration and end-to-end test file;
//   2. the real-node tests (test/e2e/node/): builds the product image
//      (`npm run image`), starts a real node (kubelet, containerd, CNI,
//      controller-manager, scheduler, kube-proxy; test/harness/node/) with
//      its own control plane, runs them, tears the node down and fails the
//      run if anything it created is left. The node binaries build in the
//      background (nice 19) while phase 1 runs.
// Prints how many tests ran and tears everything down, also on SIGINT/SIGTERM.
// Flags: --unit-only (no control plane), and file or directory filters.
// With CI=true a run that cannot start the control plane or the node, or
// that skipped a test, fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ensureBinaries } from './binaries.ts';
import { startControlPlane, stopControlPlane, type ControlPlaneState } from './controlplane.ts';
import { applyCrd } from './crd.ts';
import { leftovers, startRealCluster, stopRealCluster, type RealNodeState } from './node/node.ts';
import { buildImage } from '../../scripts/image.ts';

const root = resolve(import.meta.dirname, '..', '..');
const ci = process.env['CI'] === 'true';
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit-only');
const filters = args.filter((a) => !a.startsWith('--')).map((a) => resolve(a));
const log = (s: string): boolean => process.stderr.write(`[run-tests] ${s}\n`);

const UNIT = [
  'crds',
  'pki',
  'kube',
  'operator',
  'webhooks',
  'sidecar',
  'test/harness',
  'test/unit',
  'scripts',
].map((d) => `${d}/**/*.test.ts`);
const CLUSTER = ['test/integration/**/*.test.ts', 'test/e2e/*.test.ts'];
const NODE = ['test/e2e/node/**/*.test.ts'];

function find(patterns: string[]): string[] {
  return patterns
    .flatMap((p) => globSync(p, { cwd: root }))
    .filter((f) => !f.includes('node_modules'))
    .map((f) => join(root, f))
    .filter((f) => filters.length === 0 || filters.some((x) => f.startsWith(x)))
    .sort();
}

let state: ControlPlaneState | undefined;
let node: RealNodeState | undefined;
let nodeBuild: ChildProcess | undefined;
let tmp: string | undefined;
function cleanup(): void {
  if (state) stopControlPlane(state);
  state = undefined;
  if (node) stopRealCluster(node);
  node = undefined;
  nodeBuild?.kill();
  if (tmp && process.env['ACP_KEEP_TEST_STATE'] !== 'true') rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping the control plane and the node`);
    cleanup();
    process.exit(130);
  });
}

interface Summary {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
  skippedNames: string[];
}

/** Runs test files in one node:test process; the summary reporter counts outcomes. */
async function runFiles(
  files: string[],
  env: NodeJS.ProcessEnv,
  name: string,
  concurrency = 3,
): Promise<{ code: number; summary?: Summary }> {
  const summaryFile = join(tmp ?? tmpdir(), `summary-${name}.json`);
  const code = await new Promise<number>((done) => {
    const child = spawn(
      process.execPath,
      [
        '--test',
        `--test-concurrency=${concurrency}`,
        '--test-timeout=600000',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${join(import.meta.dirname, 'summary-reporter.ts')}`,
        `--test-reporter-destination=${summaryFile}`,
        ...files.map((f) => relative(root, f)),
      ],
      { cwd: root, env, stdio: 'inherit' },
    );
    child.on('exit', (c, s) => done(c ?? (s ? 1 : 0)));
  });
  try {
    return { code, summary: JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary };
  } catch {
    log(`the test runner wrote no summary for the ${name} phase`);
    return { code: code || 1 };
  }
}

/** Starts building the node binaries in the background (idle priority), so phase 1 overlaps a cold build. */
function buildNodeBinariesInBackground(): Promise<number> {
  const script = join(import.meta.dirname, 'build-node-binaries.sh');
  nodeBuild = spawn('nice', ['-n', '19', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((done) => nodeBuild?.on('exit', (c) => done(c ?? 1)));
}

async function nodePhase(
  files: string[],
  binaries: ReturnType<typeof ensureBinaries>,
  built: Promise<number>,
): Promise<{ code: number; summary?: Summary }> {
  const t0 = Date.now();
  const image = buildImage();
  log(`image ${image.name} ${image.digest} built in ${image.seconds.toFixed(1)}s`);
  const buildCode = await built;
  if (buildCode !== 0)
    throw new Error(`building the node binaries failed (exit ${buildCode}); see the output above`);
  log(`node binaries ready after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  node = await startRealCluster({
    dir: join(tmp ?? tmpdir(), 'node-cluster'),
    binaries,
    ownerPid: process.pid,
    log,
  });
  const cp = node.controlPlane;
  if (!cp) throw new Error('the real node started without a control plane');
  applyCrd(cp.kubeconfig, binaries.kubectl);
  log(
    `real node Ready ${node.timings['node Ready']?.toFixed(1)}s after its start; running ${files.length} real-node test files`,
  );
  const result = await runFiles(
    files,
    {
      ...process.env,
      ACP_TEST_KUBECONFIG: cp.kubeconfig,
      ACP_TEST_BIN_DIR: binaries.dir,
      ACP_TEST_SERVER: cp.server,
      ACP_TEST_NODE_DIR: node.dir,
      ACP_TEST_IMAGE: image.name,
    },
    'node',
    1, // one node, one chart release: the files share them and run one after the other
  );
  const t1 = Date.now();
  const stopped = node;
  stopRealCluster(stopped);
  node = undefined;
  const left = leftovers(stopped);
  log(`real node torn down in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
  if (left.length > 0) {
    log(`the node teardown left:\n- ${left.join('\n- ')}`);
    return { ...result, code: result.code || 1 };
  }
  return result;
}

async function main(): Promise<number> {
  const unitFiles = find(UNIT);
  const clusterFiles = unitOnly ? [] : find(CLUSTER);
  const nodeFiles = unitOnly ? [] : find(NODE);
  const env: NodeJS.ProcessEnv = { ...process.env };
  tmp = mkdtempSync(join(tmpdir(), 'acp-test-'));
  let binaries: ReturnType<typeof ensureBinaries> | undefined;
  let nodeBinaries: Promise<number> = Promise.resolve(0);
  if (clusterFiles.length > 0 || nodeFiles.length > 0) {
    const t0 = Date.now();
    binaries = ensureBinaries();
    log(`binaries ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${binaries.dir}`);
    if (nodeFiles.length > 0) nodeBinaries = buildNodeBinariesInBackground();
  }
  if (clusterFiles.length > 0 && binaries) {
    state = await startControlPlane({ dir: join(tmp, 'cluster'), binaries, ownerPid: process.pid, log });
    applyCrd(state.kubeconfig, binaries.kubectl);
    log(`control plane started in ${state.startSeconds.toFixed(1)}s; CRD installed`);
    Object.assign(env, {
      ACP_TEST_KUBECONFIG: state.kubeconfig,
      ACP_TEST_BIN_DIR: binaries.dir,
      ACP_TEST_SERVER: state.server,
    });
  }
  const files = [...unitFiles, ...clusterFiles];
  if (files.length === 0 && nodeFiles.length === 0) {
    log('no test files matched');
    return 1;
  }
  const results: { code: number; summary?: Summary }[] = [];
  if (files.length > 0) {
    log(`running ${unitFiles.length} unit and ${clusterFiles.length} integration/e2e test files`);
    results.push(await runFiles(files, env, 'main'));
  }
  if (state) stopControlPlane(state);
  state = undefined;
  if (nodeFiles.length > 0 && binaries) results.push(await nodePhase(nodeFiles, binaries, nodeBinaries));
  const total: Summary = { tests: 0, passed: 0, failed: 0, skipped: 0, todo: 0, skippedNames: [] };
  for (const r of results) {
    if (!r.summary) return r.code || 1;
    total.tests += r.summary.tests;
    total.passed += r.summary.passed;
    total.failed += r.summary.failed;
    total.skipped += r.summary.skipped;
    total.todo += r.summary.todo;
    total.skippedNames.push(...r.summary.skippedNames);
  }
  log(
    `${total.tests} tests ran: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped, ${total.todo} todo`,
  );
  if (ci && total.skipped > 0) {
    log(`CI=true and ${total.skipped} tests were skipped: ${total.skippedNames.join('; ')}`);
    return 1;
  }
  return results.find((r) => r.code !== 0)?.code ?? 0;
}

let exitCode: number;
try {
  exitCode = await main();
} catch (e) {
  log(e instanceof Error ? e.message : String(e));
  exitCode = 1;
} finally {
  cleanup();
}
process.exit(exitCode);
