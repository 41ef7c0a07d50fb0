// What a real node needs from the host, checked before anything starts, so
// a missing piece is one clear error naming it (and how to get it) instead
// of a kubelet log line three minutes later: root, the cgroup controllers,
// iptables, ip, runc, gcc, openssl, a kernel that routes bridged traffic
// through iptables, and the node's fixed ports free. Also builds (or reuses,
// cached by version) the node binaries.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { NodeBinaries } from './components.ts';
import { NodeError, which } from './host.ts';

const CGROUP_CONTROLLERS = ['cpu', 'memory', 'pids', 'cpuset'];
/** kubelet healthz, kube-proxy metrics and healthz, controller-manager, scheduler (all on 127.0.0.1). */
export const NODE_PORTS = [10248, 10249, 10256, 10257, 10259];

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
}

function cgroupControllerPresent(name: string): boolean {
  if (existsSync(`/sys/fs/cgroup/${name}`)) return true; // v1 (this machine: hybrid v1)
  try {
    return spawnSync('cat', ['/sys/fs/cgroup/cgroup.controllers'], { encoding: 'utf8' })
      .stdout.split(/\s+/)
      .includes(name);
  } catch {
    return false;
  }
}

export async function checkPrerequisites(): Promise<void> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0)
    missing.push('root (the kubelet, containerd and the bridge need it): run as root');
  for (const c of CGROUP_CONTROLLERS)
    if (!cgroupControllerPresent(c))
      missing.push(`the ${c} cgroup controller (not mounted under /sys/fs/cgroup)`);
  const tools: [string, string][] = [
    ['iptables', 'apt-get install iptables'],
    ['ip', 'apt-get install iproute2'],
    ['runc', 'apt-get install runc'],
    ['gcc', 'apt-get install gcc libc6-dev'],
    ['openssl', 'apt-get install openssl'],
  ];
  for (const [tool, fix] of tools) if (!which(tool)) missing.push(`${tool} (${fix})`);
  if (!existsSync('/usr/sbin/runc') && which('runc'))
    missing.push(
      `runc at /usr/sbin/runc (found ${which('runc')}; containerd is configured with the Debian path)`,
    );
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    missing.push(
      'br_netfilter (bridged pod traffic must pass iptables for Services and the isolation rules): modprobe br_netfilter',
    );
  }
  for (const port of NODE_PORTS)
    if (!(await portFree(port))) missing.push(`port 127.0.0.1:${port} is taken (a node component needs it)`);
  if (missing.length > 0) {
    throw new NodeError(
      'ACP_ERR_NODE_PREREQ',
      `the real node cannot start here; missing:\n- ${missing.join('\n- ')}`,
    );
  }
}

/** Builds or reuses the node binaries (test/harness/build-node-binaries.sh, cached by version). */
export function ensureNodeBinaries(): NodeBinaries {
  const script = resolve(import.meta.dirname, '..', 'build-node-binaries.sh');
  const r = spawnSync(script, [], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) {
    throw new NodeError(
      'ACP_ERR_NODE_PREREQ',
      `building the node binaries failed (exit ${r.status ?? r.signal}); see the output above`,
    );
  }
  const dirs = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
  const k8s = dirs['k8s'] ?? '';
  const runtime = dirs['runtime'] ?? '';
  return {
    kubelet: join(k8s, 'kubelet'),
    kubeControllerManager: join(k8s, 'kube-controller-manager'),
    kubeScheduler: join(k8s, 'kube-scheduler'),
    kubeProxy: join(k8s, 'kube-proxy'),
    containerd: join(runtime, 'containerd'),
    ctr: join(runtime, 'ctr'),
    runtimeDir: runtime,
    cniDir: dirs['cni'] ?? '',
  };
}
