// Runs the real operator process against the test control plane, under
// the identity and RBAC the Helm chart gives it (so tests prove the
// chart's RBAC is enough): renders the chart's RBAC with the built helm,
// applies it, mints a ServiceAccount token with the TokenRequest API and
// writes a kubeconfig for it. Processes are killed when the test process
// exits.
import { OPERATOR_NODE_FLAGS } from './node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { helm, kubectl, type TestCluster } from './cluster.ts';
import { freePort } from './ports.ts';
import { writeKubeconfig } from './tokens.ts';

const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'charts', 'api-compliance-operator');
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Applies the chart's operator RBAC for a release in `namespace` (created if missing). */
export async function installOperatorRbac(cluster: TestCluster, namespace: string): Promise<void> {
  await kubectl(cluster, ['create', 'namespace', namespace]);
  const rendered = await helm(cluster, [
    'template',
    'acp',
    chart,
    '--namespace',
    namespace,
    '--show-only',
    'templates/operator-rbac.yaml',
  ]);
  if (rendered.code !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
  const applied = await kubectl(cluster, ['apply', '-f', '-'], rendered.stdout);
  if (applied.code !== 0) throw new Error(`applying the operator RBAC failed: ${applied.stderr}`);
}

/** A kubeconfig that authenticates as namespace/serviceAccount with a fresh bound token. */
export async function serviceAccountKubeconfig(
  cluster: TestCluster,
  namespace: string,
  serviceAccount: string,
): Promise<string> {
  const token = await kubectl(cluster, [
    'create',
    'token',
    serviceAccount,
    '-n',
    namespace,
    '--duration',
    '2h',
  ]);
  if (token.code !== 0) throw new Error(`kubectl create token failed: ${token.stderr}`);
  return writeKubeconfig(cluster, serviceAccount, [`token: ${token.stdout.trim()}`]);
}

export interface OperatorProcess {
  identity: string;
  metricsPort: number;
  process: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: () => Record<string, unknown>[];
  exited: Promise<number | null>;
  metrics: () => Promise<string>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export interface OperatorOptions {
  kubeconfig: string;
  namespace: string;
  watchNamespaces: string[];
  identity: string;
  args?: string[];
  /** Wraps the command line (a benchmark starts the operator in a memory cgroup). */
  launcher?: (argv: string[]) => string[];
}

export async function startOperator(o: OperatorOptions): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const [command, ...argv] = (o.launcher ?? ((a: string[]) => a))([
    process.execPath,
    ...OPERATOR_NODE_FLAGS,
    join(root, 'operator', 'src', 'main.ts'),
    `--kubeconfig=${o.kubeconfig}`,
    `--namespace=${o.namespace}`,
    `--watch-namespaces=${o.watchNamespaces.join(',')}`,
    `--identity=${o.identity}`,
    `--metrics-port=${metricsPort}`,
    '--metrics-host=127.0.0.1',
    ...(o.args ?? []),
  ]);
  const proc = spawn(command!, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      // ACP_DEBUG_LOGS=1 shows the operator's log lines that are not info (and errors) on stderr.
      if (process.env['ACP_DEBUG_LOGS'] && !l.includes('"level":30'))
        process.stderr.write(`[${o.identity}] ${l}\n`);
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        lines.push({ msg: l });
      }
    }
  });
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      // A V8 heap limit or an OOM kill ends the process with a signal (exit code null).
      if ((code || signal) && stderr) lines.push({ msg: `stderr: ${stderr}` });
      if (signal) lines.push({ msg: `killed by ${signal}` });
      resolve(code);
    }),
  );
  return {
    identity: o.identity,
    metricsPort,
    process: proc,
    logs: () => lines,
    exited,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal);
      return exited;
    },
  };
}

/** Polls `probe` until it returns a value that is not undefined, or fails after timeoutMs with `what`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
