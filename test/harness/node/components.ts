// Configuration and start of the node's processes: containerd, the kubelet,
// kube-controller-manager, kube-scheduler and kube-proxy, each under
// supervise.sh (stopped when the owner process dies), logs in <dir>/logs.
// The settings that matter on these machines (see shared notes real-node/):
// containerd's restrict_oom_score_adj (root has no CAP_SYS_RESOURCE here),
// the kubelet's failCgroupV1=false and cgroupfs driver, the node reached by IP,
// kube-proxy leaving host sysctls alone and serving NodePorts only on the
// bridge address, the controller-manager with per-controller credentials.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { supervise } from '../controlplane.ts';
import { PAUSE_IMAGE } from './images.ts';
import { NODE_IP, POD_CIDR, SERVICE_CIDR } from './network.ts';

export const NODE_NAME = 'acp-node';

export interface NodeBinaries {
  kubelet: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubeProxy: string;
  containerd: string;
  ctr: string;
  runtimeDir: string;
  cniDir: string;
}

/** Where one node keeps its files. Socket paths stay short (108-byte limit). */
export interface NodePaths {
  dir: string;
  logs: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  registryHosts: string;
  cniConfDir: string;
  cniData: string;
  kubeletRoot: string;
  resolvConf: string;
  /** The control plane's directory: CA, certificates. */
  pki: string;
  server: string;
}

export function nodePaths(dir: string, pki: string, server: string): NodePaths {
  return {
    dir,
    logs: join(dir, 'logs'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd', 'sock'),
    registryHosts: join(dir, 'containerd', 'certs.d'),
    cniConfDir: join(dir, 'cni', 'conf'),
    cniData: join(dir, 'cni', 'data'),
    kubeletRoot: join(dir, 'kubelet'),
    resolvConf: join(dir, 'resolv.conf'),
    pki,
    server,
  };
}

function kubeconfig(p: NodePaths, name: string): string {
  const file = join(p.dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: acp, cluster: {server: "${p.server}", certificate-authority: ${join(p.pki, 'ca.crt')}}}]`,
      `users: [{name: ${name}, user: {client-certificate: ${join(p.pki, `${name}.crt`)}, client-key: ${join(p.pki, `${name}.key`)}}}]`,
      `contexts: [{name: acp, context: {cluster: acp, user: ${name}}}]`,
      'current-context: acp',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

function withPath(b: NodeBinaries): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${b.runtimeDir}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
  };
}

export function writeContainerdConfig(p: NodePaths, b: NodeBinaries): string {
  mkdirSync(join(p.registryHosts, '_default'), { recursive: true });
  // Every registry maps to a closed loopback port: a pull can never leave the machine.
  writeFileSync(join(p.registryHosts, '_default', 'hosts.toml'), 'server = "http://127.0.0.1:9"\n');
  const file = join(p.dir, 'containerd.toml');
  writeFileSync(
    file,
    `version = 3
root = '${p.containerdRoot}'
state = '${p.containerdState}'
disabled_plugins = ['io.containerd.snapshotter.v1.btrfs', 'io.containerd.snapshotter.v1.zfs', 'io.containerd.snapshotter.v1.devmapper', 'io.containerd.snapshotter.v1.erofs', 'io.containerd.tracing.processor.v1.otlp', 'io.containerd.internal.v1.tracing']

[grpc]
  address = '${p.containerdSocket}'

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '${PAUSE_IMAGE}'
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = '${p.registryHosts}'

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # Root here has no CAP_SYS_RESOURCE: runc cannot set the -998 oom_score_adj the kubelet asks for.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = '/usr/sbin/runc'
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['${b.cniDir}']
    conf_dir = '${p.cniConfDir}'

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
  stream_server_port = '0'
`,
  );
  return file;
}

export function startContainerd(
  owner: number,
  p: NodePaths,
  b: NodeBinaries,
  config: string,
): { pid: number; log: string } {
  const log = join(p.logs, 'containerd.log');
  return { pid: supervise(owner, log, b.containerd, ['--config', config], withPath(b)), log };
}

export function startKubelet(owner: number, p: NodePaths, b: NodeBinaries): { pid: number; log: string } {
  mkdirSync(p.kubeletRoot, { recursive: true });
  const config = join(p.dir, 'kubelet-config.yaml');
  writeFileSync(
    config,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://${p.containerdSocket}
address: ${NODE_IP}
port: 10250
readOnlyPort: 0
tlsCertFile: ${join(p.pki, 'kubelet-serving.crt')}
tlsPrivateKeyFile: ${join(p.pki, 'kubelet-serving.key')}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${join(p.pki, 'ca.crt')}}
authorization: {mode: Webhook}
resolvConf: ${p.resolvConf}
clusterDomain: cluster.local
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
healthzBindAddress: 127.0.0.1
healthzPort: 10248
staticPodPath: ""
maxPods: 60
configMapAndSecretChangeDetectionStrategy: Watch
`,
  );
  const log = join(p.logs, 'kubelet.log');
  const args = [
    `--config=${config}`,
    `--kubeconfig=${kubeconfig(p, 'kubelet-client')}`,
    `--root-dir=${p.kubeletRoot}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_IP}`,
    '--v=1',
  ];
  return { pid: supervise(owner, log, b.kubelet, args, withPath(b)), log };
}

export function startControllers(owner: number, p: NodePaths, b: NodeBinaries): Record<string, number> {
  const cm = kubeconfig(p, 'controller-manager');
  const sched = kubeconfig(p, 'scheduler');
  const proxyConfig = join(p.dir, 'kube-proxy.yaml');
  writeFileSync(
    proxyConfig,
    `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${kubeconfig(p, 'kube-proxy')}}
hostnameOverride: ${NODE_NAME}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
mode: iptables
clusterCIDR: ${POD_CIDR}
nodePortAddresses: [${NODE_IP}/32]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: false, syncPeriod: 10s, minSyncPeriod: 1s}
`,
  );
  return {
    controllerManager: supervise(
      owner,
      join(p.logs, 'kube-controller-manager.log'),
      b.kubeControllerManager,
      [
        `--kubeconfig=${cm}`,
        `--authentication-kubeconfig=${cm}`,
        `--authorization-kubeconfig=${cm}`,
        '--bind-address=127.0.0.1',
        '--secure-port=10257',
        `--root-ca-file=${join(p.pki, 'ca.crt')}`,
        `--service-account-private-key-file=${join(p.pki, 'sa.key')}`,
        '--use-service-account-credentials=true',
        '--leader-elect=false',
        '--allocate-node-cidrs=false',
        `--cluster-cidr=${POD_CIDR}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--controllers=*,-node-ipam-controller',
        '--v=1',
      ],
    ),
    scheduler: supervise(owner, join(p.logs, 'kube-scheduler.log'), b.kubeScheduler, [
      `--kubeconfig=${sched}`,
      `--authentication-kubeconfig=${sched}`,
      `--authorization-kubeconfig=${sched}`,
      '--bind-address=127.0.0.1',
      '--secure-port=10259',
      '--leader-elect=false',
      '--v=1',
    ]),
    kubeProxy: supervise(owner, join(p.logs, 'kube-proxy.log'), b.kubeProxy, [
      `--config=${proxyConfig}`,
      '--v=1',
    ]),
  };
}
