// A real Kubernetes node beside the test control plane: the isolated bridge
// network, etcd + kube-apiserver bound to the node's address, containerd
// with the local images imported, the kubelet, kube-controller-manager,
// kube-scheduler and kube-proxy; waits until the node is Ready and the
// controller-manager serves ServiceAccounts. `stopRealCluster` removes
// everything it created: its own processes (by pid; the runtime's shims by
// their socket), containers, mounts, network namespaces, cgroups, iptables
// rules and chains, the bridge, and the ip_forward value it changed. The
// state is kept in <dir>/node-state.json so `cluster:down` finds it; a start
// that fails half-way tears down what it had started before rethrowing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from '../binaries.ts';
import {
  alive,
  killTree,
  startControlPlane,
  stopControlPlane,
  type ControlPlaneState,
} from '../controlplane.ts';
import {
  NODE_NAME,
  nodePaths,
  startContainerd,
  writeContainerdConfig,
  startControllers,
  startKubelet,
  type NodeBinaries,
  type NodePaths,
} from './components.ts';
import { sh, trySh, waitUntil } from './host.ts';
import { buildPauseImage, importImage, productImage, type ProductImage } from './images.ts';
import {
  BRIDGE,
  checkIsolation,
  cniConfig,
  NODE_IP,
  POD_RESOLV_CONF,
  setUpNetwork,
  tearDownNetwork,
  type NetworkState,
} from './network.ts';
import { acquireNodeLock, releaseNodeLock } from './lock.ts';
import { checkPrerequisites, ensureNodeBinaries } from './prereqs.ts';

export interface RealNodeState {
  dir: string;
  paths: NodePaths;
  binaries: NodeBinaries;
  network?: NetworkState;
  controlPlane?: ControlPlaneState;
  pids: Record<string, number>;
  image?: ProductImage;
  /** Host state that existed before the node: never removed by teardown. */
  before: { runContainerd: boolean; runNetns: boolean; netns: string[]; cgroups: string[] };
  timings: Record<string, number>;
}

export interface StartNodeOptions {
  dir: string;
  binaries: Binaries;
  ownerPid: number;
  log?: (line: string) => void;
}

const KUBELET_CHAINS = ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT'];
const CGROUP_ROOT = '/sys/fs/cgroup';

function listNetns(): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns') : [];
}

function podCgroups(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  const found: string[] = [];
  for (const ctrl of readdirSync(CGROUP_ROOT)) {
    const kp = join(CGROUP_ROOT, ctrl, 'kubepods');
    if (existsSync(kp)) found.push(kp);
  }
  if (existsSync(join(CGROUP_ROOT, 'kubepods.slice'))) found.push(join(CGROUP_ROOT, 'kubepods.slice'));
  return found;
}

function save(state: RealNodeState): void {
  writeFileSync(join(state.dir, 'node-state.json'), JSON.stringify(state, null, 2));
}

export function readNodeState(dir: string): RealNodeState | undefined {
  const f = join(dir, 'node-state.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as RealNodeState) : undefined;
}

function kubectl(state: RealNodeState, bin: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: state.controlPlane?.kubeconfig ?? '' },
    timeout: 20_000,
  });
  return { code: r.status ?? 1, out: r.stdout ?? '' };
}

export async function startRealCluster(opts: StartNodeOptions): Promise<RealNodeState> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const mark = (name: string): void => {
    state.timings[name] = (Date.now() - t0) / 1000;
    log(`node: ${name} after ${state.timings[name]?.toFixed(1)}s`);
  };
  // first the lock: the prerequisites check that the node's ports are free, which another node holds
  await acquireNodeLock(opts.dir, opts.ownerPid, log);
  let image: ProductImage;
  let binaries: NodeBinaries;
  try {
    await checkPrerequisites();
    image = productImage();
    binaries = ensureNodeBinaries();
  } catch (e) {
    releaseNodeLock(opts.dir);
    throw e;
  }
  rmSync(opts.dir, { recursive: true, force: true });
  const paths = nodePaths(join(opts.dir, 'node'), join(opts.dir, 'cluster'), '');
  for (const d of [paths.logs, paths.cniConfDir, paths.cniData, paths.containerdRoot])
    mkdirSync(d, { recursive: true });
  const state: RealNodeState = {
    dir: opts.dir,
    paths,
    binaries,
    pids: {},
    image,
    before: {
      runContainerd: existsSync('/run/containerd'),
      runNetns: existsSync('/run/netns'),
      netns: listNetns(),
      cgroups: podCgroups(),
    },
    timings: {},
  };
  mark('binaries ready');
  try {
    state.network = setUpNetwork();
    save(state);
    writeFileSync(
      join(paths.cniConfDir, '10-acp.conflist'),
      JSON.stringify(cniConfig(paths.cniData), null, 2),
    );
    writeFileSync(paths.resolvConf, POD_RESOLV_CONF);
    const containerdConfig = writeContainerdConfig(paths, binaries);
    // nothing that runs pods or pulls images starts before every isolation rule holds
    checkIsolation({
      cniConf: join(paths.cniConfDir, '10-acp.conflist'),
      resolvConf: paths.resolvConf,
      registryHosts: paths.registryHosts,
    });
    mark('network isolated');
    const pause = buildPauseImage(join(paths.dir, 'images'));
    state.pids['containerd'] = startContainerd(opts.ownerPid, paths, binaries, containerdConfig).pid;
    save(state);

    state.controlPlane = await startControlPlane({
      dir: paths.pki,
      binaries: opts.binaries,
      ownerPid: opts.ownerPid,
      log,
      node: { name: NODE_NAME, ip: NODE_IP },
    });
    paths.server = state.controlPlane.server;
    save(state);
    mark('control plane ready');

    await waitUntil(
      'containerd answering on its socket',
      60_000,
      () => trySh(binaries.ctr, ['--address', paths.containerdSocket, 'version']),
      join(paths.logs, 'containerd.log'),
    );
    importImage(binaries.ctr, paths.containerdSocket, pause);
    importImage(binaries.ctr, paths.containerdSocket, image.archive);
    mark('images imported');

    state.pids['kubelet'] = startKubelet(opts.ownerPid, paths, binaries).pid;
    Object.assign(state.pids, startControllers(opts.ownerPid, paths, binaries));
    save(state);
    const kctl = join(opts.binaries.dir, 'kubectl');
    await waitUntil(
      `node ${NODE_NAME} Ready`,
      120_000,
      () =>
        kubectl(state, kctl, [
          'get',
          'node',
          NODE_NAME,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]).out === 'True',
      join(paths.logs, 'kubelet.log'),
    );
    mark('node Ready');
    await waitUntil(
      'the controller-manager creating ServiceAccount default/default',
      120_000,
      () => kubectl(state, kctl, ['get', 'serviceaccount', 'default', '-n', 'default']).code === 0,
      join(paths.logs, 'kube-controller-manager.log'),
    );
    mark('ServiceAccounts served');
    save(state);
    return state;
  } catch (e) {
    log(`node: start failed, tearing down what was started: ${(e as Error).message.split('\n')[0]}`);
    stopRealCluster(state);
    throw e;
  }
}

function stopPid(pid: number | undefined): void {
  if (!pid) return;
  killTree(pid);
  const until = Date.now() + 10_000;
  while (alive(pid) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
}

/** Processes of the runtime that belong to this node: shims started with our containerd socket. */
function ourShims(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('containerd-shim-runc-v2') && cmd.includes(socket)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function mountsUnder(prefixes: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => prefixes.some((p) => m === p || m.startsWith(`${p}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Every pid inside a cgroup tree (processes of containers the node created, such as a `runc init` caught mid-start). */
function pidsIn(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids: number[] = [];
  const procs = join(dir, 'cgroup.procs');
  if (existsSync(procs)) pids.push(...readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number));
  for (const child of readdirSync(dir, { withFileTypes: true })) {
    if (child.isDirectory()) pids.push(...pidsIn(join(dir, child.name)));
  }
  return pids;
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const child of readdirSync(dir, { withFileTypes: true })) {
    if (child.isDirectory()) removeCgroupTree(join(dir, child.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // a process still inside: reported by the leftover check
  }
}

/** Tears down everything startRealCluster created; safe to call on a half-started node and twice. */
export function stopRealCluster(state: RealNodeState): void {
  const { paths, binaries } = state;
  for (const name of ['kubeProxy', 'controllerManager', 'scheduler', 'kubelet']) stopPid(state.pids[name]);
  // Containers: the kubelet is gone, so stop them through containerd directly (no 30 s grace periods).
  if (state.pids['containerd'] && alive(state.pids['containerd'])) {
    const ctr = (args: string[]): string => {
      const r = spawnSync(binaries.ctr, ['--address', paths.containerdSocket, '-n', 'k8s.io', ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      return r.stdout ?? '';
    };
    const tasks = ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean);
    for (const t of tasks) ctr(['tasks', 'kill', '-s', 'SIGKILL', t]);
    for (const t of tasks) ctr(['tasks', 'rm', '-f', t]);
    for (const c of ctr(['containers', 'ls', '-q']).split('\n').filter(Boolean)) ctr(['containers', 'rm', c]);
  }
  stopPid(state.pids['containerd']);
  for (const pid of ourShims(paths.containerdSocket)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (existsSync(binaries.kubeProxy)) trySh(binaries.kubeProxy, ['--cleanup']);
  for (const ipt of ['iptables', 'ip6tables']) {
    trySh(ipt, ['-D', 'INPUT', '-j', 'KUBE-FIREWALL']);
    trySh(ipt, ['-D', 'OUTPUT', '-j', 'KUBE-FIREWALL']);
    for (const table of ['filter', 'nat', 'mangle']) {
      for (const chain of KUBELET_CHAINS)
        if (trySh(ipt, ['-t', table, '-F', chain])) trySh(ipt, ['-t', table, '-X', chain]);
    }
  }
  const newNetns = listNetns().filter((n) => n.startsWith('cni-') && !state.before.netns.includes(n));
  for (const m of mountsUnder([paths.dir, ...newNetns.map((n) => `/run/netns/${n}`)]))
    trySh('umount', ['-l', m]);
  for (const n of newNetns) trySh('ip', ['netns', 'del', n]);
  if (!state.before.runNetns && existsSync('/run/netns')) {
    for (const m of mountsUnder(['/run/netns'])) trySh('umount', ['-l', m]);
    if (listNetns().length === 0) rmSync('/run/netns', { recursive: true, force: true });
  }
  const ours = podCgroups().filter((cg) => !state.before.cgroups.includes(cg));
  for (const pid of new Set(ours.flatMap(pidsIn))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const until = Date.now() + 5_000;
  while (ours.some((cg) => pidsIn(cg).length > 0) && Date.now() < until) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  for (const cg of ours) removeCgroupTree(cg);
  tearDownNetwork(state.network);
  if (!state.before.runContainerd) rmSync('/run/containerd', { recursive: true, force: true });
  if (state.controlPlane) stopControlPlane(state.controlPlane);
  rmSync(join(state.dir, 'node-state.json'), { force: true });
  releaseNodeLock(state.dir);
}

/** What a teardown left behind (empty when clean): checked by the harness test and `cluster:down`. */
export function leftovers(state: RealNodeState): string[] {
  const left: string[] = [];
  for (const [name, pid] of Object.entries(state.pids))
    if (alive(pid)) left.push(`process ${name} (pid ${pid})`);
  for (const pid of ourShims(state.paths.containerdSocket)) left.push(`containerd shim pid ${pid}`);
  for (const m of mountsUnder([state.paths.dir])) left.push(`mount ${m}`);
  if (trySh('ip', ['link', 'show', BRIDGE])) left.push(`bridge ${BRIDGE}`);
  for (const n of listNetns())
    if (n.startsWith('cni-') && !state.before.netns.includes(n)) left.push(`netns ${n}`);
  for (const cg of podCgroups()) if (!state.before.cgroups.includes(cg)) left.push(`cgroup ${cg}`);
  const rules = sh('iptables-save', []);
  for (const chain of ['KUBE-SERVICES', 'KUBE-FIREWALL', 'acp-node-isolation'])
    if (rules.includes(chain)) left.push(`iptables ${chain}`);
  if (
    state.network &&
    readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== state.network.ipForwardBefore
  ) {
    left.push('net.ipv4.ip_forward not restored');
  }
  return left;
}
