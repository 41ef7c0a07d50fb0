// Where one outbound request goes, as a pure function of the config
// snapshot and the request's host and port: a meshed Service of the
// directory (config.mesh: mTLS to its companion ClusterIP, the callee must
// prove one of the Service's SPIFFE IDs), a Service the directory names
// but cannot reach (503), an egress.allow host:port entry (mTLS to its
// peers, or plain), egress.default Allow, or denied. A short name
// (`payments`) is resolved in the caller's own namespace, the way cluster
// DNS search paths do; a trailing dot and letter case do not matter.
// Nothing resolves a name: the directory carries addresses.
import type { SidecarConfig } from '@acp/crds/sidecar';

type MeshService = NonNullable<SidecarConfig['mesh']>['services'][number];
type EgressRule = SidecarConfig['egress']['allow'][number];

export type Route =
  /** mTLS to address:port; the server must prove one of identities. */
  | { kind: 'mesh'; destination: string; host: string; port: number; identities: readonly string[] }
  /** A Service the caller may call but that has no reachable meshed pods or no companion address yet. */
  | { kind: 'unavailable'; destination: string }
  /** An egress.allow entry: mTLS when it lists peers, plain otherwise. */
  | { kind: 'egress'; destination: string; host: string; port: number; identities: readonly string[] }
  | { kind: 'deny'; destination: string };

/** Label for destinations that only egress.default Allow lets through (unbounded set: one label). */
export const OTHER_DESTINATION = 'other';

const indexes = new WeakMap<SidecarConfig, Map<string, MeshService>>();

function meshIndex(config: SidecarConfig): Map<string, MeshService> {
  let index = indexes.get(config);
  if (!index) {
    index = new Map();
    for (const s of config.mesh?.services ?? [])
      for (const name of s.names) {
        const n = name.toLowerCase();
        // Every port only for an entry nobody may answer (503): never widens where mTLS goes.
        if (s.ports.length === 0 && s.identities.length === 0) index.set(`${n}:*`, s);
        for (const p of s.ports) index.set(`${n}:${p}`, s);
      }
    indexes.set(config, index);
  }
  return index;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Lower case, no trailing dot, no IPv6 brackets; a dotless name gets the caller's namespace. */
export function normalizeHost(host: string, namespace: string): string {
  let h = host.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.startsWith('[') && h.endsWith(']')) return h.slice(1, -1);
  if (!h.includes('.') && !h.includes(':') && !IPV4.test(h) && h !== 'localhost') h = `${h}.${namespace}`;
  return h;
}

export function route(config: SidecarConfig, host: string, port: number): Route {
  const index = meshIndex(config);
  const h = normalizeHost(host, config.policy.namespace);
  const svc = index.get(`${h}:${port}`) ?? index.get(`${h}:*`);
  if (svc) {
    const destination = `${svc.namespace}/${svc.name}:${port}`;
    if (svc.address === '' || svc.identities.length === 0) return { kind: 'unavailable', destination };
    return { kind: 'mesh', destination, host: svc.address, port: svc.port, identities: svc.identities };
  }
  const plain = host.toLowerCase().replace(/\.$/, '');
  const rule: EgressRule | undefined = config.egress.allow.find(
    (r) => r.host.toLowerCase() === plain && r.port === port,
  );
  if (rule)
    return { kind: 'egress', destination: `${plain}:${port}`, host: plain, port, identities: rule.peers };
  if (config.egress.default === 'Allow')
    return { kind: 'egress', destination: OTHER_DESTINATION, host: plain, port, identities: [] };
  return { kind: 'deny', destination: OTHER_DESTINATION };
}
