// The real node's network and the workplace rules it must keep: pods live in
// 198.18.0.0/24 on the bridge acp0 (the node's own address 198.18.0.1 is the
// bridge's), Services in 198.19.0.0/24; nothing may cross between the bridge
// and any other interface. Owns: creating the bridge, the DROP rules (filter
// and mangle FORWARD, tagged with a comment; mangle runs before filter and
// kube-proxy never touches it), net.ipv4.ip_forward (needed for pod ->
// Service -> pod; the old value is restored), the CNI config (no default
// route), the pods' resolv.conf (loopback only), and `checkIsolation`, which
// refuses a node that lacks any of these. Teardown removes exactly what was added.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeError, sh, trySh } from './host.ts';

export const BRIDGE = 'acp0';
export const NODE_IP = '198.18.0.1';
export const POD_CIDR = '198.18.0.0/24';
export const SERVICE_CIDR = '198.19.0.0/24';
/** The first address of the Service range: the `kubernetes` Service. */
export const KUBERNETES_SERVICE_IP = '198.19.0.1';
const TAG = 'acp-node-isolation';

/** [table, rule args] of every DROP rule: bridge -> any other interface, and back. */
const DROPS: [string, string[]][] = ['mangle', 'filter'].flatMap((table) => [
  [table, ['-i', BRIDGE, '!', '-o', BRIDGE, '-m', 'comment', '--comment', TAG, '-j', 'DROP']] as [
    string,
    string[],
  ],
  [table, ['!', '-i', BRIDGE, '-o', BRIDGE, '-m', 'comment', '--comment', TAG, '-j', 'DROP']] as [
    string,
    string[],
  ],
]);

export interface NetworkState {
  ipForwardBefore: string;
  bridgeCreated: boolean;
}

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export function bridgeExists(): boolean {
  return trySh('ip', ['link', 'show', BRIDGE]);
}

export function setUpNetwork(): NetworkState {
  if (bridgeExists()) {
    throw new NodeError(
      'ACP_ERR_NODE_BUSY',
      `the bridge ${BRIDGE} already exists: another real node is running here (or a crashed one left it; 'npm run cluster:down' removes it)`,
    );
  }
  const state: NetworkState = {
    ipForwardBefore: readFileSync(IP_FORWARD, 'utf8').trim(),
    bridgeCreated: false,
  };
  sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  state.bridgeCreated = true;
  sh('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', BRIDGE]);
  sh('ip', ['link', 'set', BRIDGE, 'up']);
  for (const [table, rule] of DROPS) {
    if (!trySh('iptables', ['-t', table, '-C', 'FORWARD', ...rule]))
      sh('iptables', ['-t', table, '-I', 'FORWARD', '1', ...rule]);
  }
  writeFileSync(IP_FORWARD, '1\n');
  return state;
}

export function tearDownNetwork(state: NetworkState | undefined): void {
  for (const [table, rule] of DROPS) {
    while (trySh('iptables', ['-t', table, '-D', 'FORWARD', ...rule])) {
      // remove every copy
    }
  }
  if (state?.bridgeCreated !== false) trySh('ip', ['link', 'del', BRIDGE]);
  if (state) writeFileSync(IP_FORWARD, `${state.ipForwardBefore}\n`);
}

/** The CNI network: bridge acp0, host-local IPAM in the pod range, one route (the Service range), NO default route. */
export function cniConfig(dataDir: string): object {
  return {
    cniVersion: '1.0.0',
    name: 'acp',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [
            [{ subnet: POD_CIDR, rangeStart: '198.18.0.10', rangeEnd: '198.18.0.250', gateway: NODE_IP }],
          ],
          routes: [{ dst: SERVICE_CIDR }],
          dataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export const POD_RESOLV_CONF = 'nameserver 127.0.0.1\noptions ndots:0\n';

/**
 * The node must not start unless every isolation rule holds: the DROP rules
 * are in place, the CNI config has no default route and stays in the pod
 * range, the pods' resolv.conf names only loopback, and containerd can pull
 * from nowhere (every registry mapped to a closed loopback port).
 */
export function checkIsolation(files: { cniConf: string; resolvConf: string; registryHosts: string }): void {
  const problems: string[] = [];
  for (const [table, rule] of DROPS) {
    if (!trySh('iptables', ['-t', table, '-C', 'FORWARD', ...rule]))
      problems.push(`missing ${table}/FORWARD rule: ${rule.join(' ')}`);
  }
  if (readFileSync(IP_FORWARD, 'utf8').trim() !== '1')
    problems.push('net.ipv4.ip_forward is not 1 (pod -> Service -> pod needs it)');
  const cni = readFileSync(files.cniConf, 'utf8');
  if (/0\.0\.0\.0\/0|"dst":\s*"default"/.test(cni))
    problems.push(`${files.cniConf} gives pods a default route`);
  if (!cni.includes(POD_CIDR)) problems.push(`${files.cniConf} does not use the pod range ${POD_CIDR}`);
  const resolv = readFileSync(files.resolvConf, 'utf8');
  const servers = [...resolv.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]);
  if (servers.length === 0 || servers.some((s) => !s?.startsWith('127.')))
    problems.push(`${files.resolvConf} names a non-loopback nameserver`);
  const hosts = join(files.registryHosts, '_default', 'hosts.toml');
  if (!existsSync(hosts) || !/server\s*=\s*"http:\/\/127\.0\.0\.1:9"/.test(readFileSync(hosts, 'utf8'))) {
    problems.push(`${hosts} must map every registry to http://127.0.0.1:9 (no image is ever pulled)`);
  }
  if (problems.length > 0) {
    throw new NodeError(
      'ACP_ERR_NODE_NETWORK',
      `the real node refuses to start; isolation rules missing:\n- ${problems.join('\n- ')}`,
    );
  }
}
