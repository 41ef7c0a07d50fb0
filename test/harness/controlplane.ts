// Starts and stops a real etcd + kube-apiserver on free loopback ports with
// TLS and an admin client certificate, writes a kubeconfig, and waits until
// the apiserver is ready. Every process runs under supervise.sh, which stops
// it when its owner process dies, so no orphans survive a crashed or
// interrupted test run. The state (ports, pids, paths) is kept in
// <dir>/state.json so `cluster:down` and a later `cluster:up` find it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Binaries } from './binaries.ts';
import { freePort } from './ports.ts';
import { makeControlPlaneTls, makeNodeTls } from './tls.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface ControlPlaneState {
  dir: string;
  binDir: string;
  kubeconfig: string;
  server: string;
  etcdPort: number;
  apiserverPort: number;
  pids: { etcd: number; apiserver: number };
  startedAt: string;
  startSeconds: number;
}

export interface StartOptions {
  dir: string;
  binaries: Binaries;
  /** Stop the processes when this pid exits; 0 keeps them running (cluster:up). */
  ownerPid: number;
  log?: (line: string) => void;
  timeoutMs?: number;
  /**
   * Serve a real node: bind to the node's bridge address (pods reach the
   * apiserver through the `kubernetes` Service), keep that Service's
   * endpoints, reach the kubelet by IP with a client certificate, and make
   * the node's certificates. The bridge must exist already.
   */
  node?: { name: string; ip: string };
  /** More etcd flags (a benchmark raises --quota-backend-bytes); a flag given twice takes the last value. */
  etcdFlags?: readonly string[];
}

export function supervise(
  ownerPid: number,
  logFile: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): number {
  const child = spawn(join(here, 'supervise.sh'), [String(ownerPid), logFile, '--', cmd, ...args], {
    detached: true,
    stdio: 'ignore',
    env,
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return child.pid;
}

function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function httpsGet(url: string, dir: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(join(dir, 'ca.crt')),
        cert: readFileSync(join(dir, 'admin.crt')),
        key: readFileSync(join(dir, 'admin.key')),
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(
  what: string,
  deadline: number,
  probe: () => Promise<boolean>,
  logFile: string,
): Promise<void> {
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`${what} did not become ready in time; last log lines:\n${tail(logFile)}`);
    await sleep(250);
  }
}

function writeKubeconfig(dir: string, server: string): string {
  const b64 = (f: string): string => readFileSync(join(dir, f)).toString('base64');
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: acp-test',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority-data: ${b64('ca.crt')}`,
      'users:',
      '- name: admin',
      '  user:',
      `    client-certificate-data: ${b64('admin.crt')}`,
      `    client-key-data: ${b64('admin.key')}`,
      'contexts:',
      '- name: acp-test',
      '  context: {cluster: acp-test, user: admin, namespace: default}',
      'current-context: acp-test',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return path;
}

export function killTree(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** True while the process runs (a zombie waiting to be reaped counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function startControlPlane(opts: StartOptions): Promise<ControlPlaneState> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const { dir, binaries } = opts;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'etcd-data'), { recursive: true });
  makeControlPlaneTls(dir);
  if (opts.node) makeNodeTls(dir, opts.node.name, opts.node.ip);
  const host = opts.node?.ip ?? '127.0.0.1';
  const [etcdPort, peerPort, apiserverPort] = [await freePort(), await freePort(), await freePort()];
  const deadline = started + (opts.timeoutMs ?? 120_000);

  const etcdLog = join(dir, 'etcd.log');
  const etcdPid = supervise(opts.ownerPid, etcdLog, binaries.etcd, [
    `--data-dir=${join(dir, 'etcd-data')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
    ...(opts.etcdFlags ?? []),
  ]);
  const state: ControlPlaneState = {
    dir,
    binDir: binaries.dir,
    kubeconfig: join(dir, 'kubeconfig'),
    server: `https://${host}:${apiserverPort}`,
    etcdPort,
    apiserverPort,
    pids: { etcd: etcdPid, apiserver: 0 },
    startedAt: new Date(started).toISOString(),
    startSeconds: 0,
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
  try {
    await waitFor(
      'etcd',
      deadline,
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
        return res.ok;
      },
      etcdLog,
    );
    log(`etcd ready on 127.0.0.1:${etcdPort} after ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const apiLog = join(dir, 'apiserver.log');
    state.pids.apiserver = supervise(opts.ownerPid, apiLog, binaries.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--bind-address=${host}`,
      `--advertise-address=${host}`,
      `--secure-port=${apiserverPort}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      `--service-account-issuer=https://${host}:${apiserverPort}/`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=198.19.0.0/24',
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      ...(opts.node
        ? [
            '--endpoint-reconciler-type=lease',
            `--kubelet-client-certificate=${join(dir, 'apiserver-kubelet-client.crt')}`,
            `--kubelet-client-key=${join(dir, 'apiserver-kubelet-client.key')}`,
            `--kubelet-certificate-authority=${join(dir, 'ca.crt')}`,
            // by IP: the node's name is never looked up through the machine's resolver
            '--kubelet-preferred-address-types=InternalIP',
            '--enable-admission-plugins=NodeRestriction',
          ]
        : ['--endpoint-reconciler-type=none']),
      '--enable-priority-and-fairness=false',
      '--v=1',
    ]);
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
    await waitFor(
      'kube-apiserver',
      deadline,
      async () => {
        const ready = await httpsGet(`${state.server}/readyz`, dir);
        if (ready.status !== 200) return false;
        const ns = await httpsGet(`${state.server}/api/v1/namespaces/default`, dir);
        return ns.status === 200;
      },
      apiLog,
    );
    writeKubeconfig(dir, state.server);
    state.startSeconds = (Date.now() - started) / 1000;
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
    log(`kube-apiserver ready at ${state.server} after ${state.startSeconds.toFixed(1)}s`);
    return state;
  } catch (e) {
    stopControlPlane(state);
    throw e;
  }
}

export function readState(dir: string): ControlPlaneState | undefined {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneState;
}

export function isRunning(state: ControlPlaneState): boolean {
  return alive(state.pids.etcd) && state.pids.apiserver > 0 && alive(state.pids.apiserver);
}

export async function isHealthy(state: ControlPlaneState): Promise<boolean> {
  if (!isRunning(state)) return false;
  try {
    return (await httpsGet(`${state.server}/readyz`, state.dir)).status === 200;
  } catch {
    return false;
  }
}

/** Stops both supervisors (which stop their processes) and waits until they are gone. */
export function stopControlPlane(state: ControlPlaneState): void {
  const pids = [state.pids.apiserver, state.pids.etcd].filter((p) => p > 0);
  for (const pid of pids) killTree(pid);
  const until = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < until) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}
