// The mesh directory, as pure functions of what the caches hold: which
// Service ports front meshed pods (their target port is the governing
// policy's upstream port), the names each Service answers to, where its
// pods' sidecar port is reached (the ClusterIP of the operator-managed
// companion Service, companion.ts) and which SPIFFE IDs may answer for it
// (secure naming: the service accounts of the governed pods it selects, or
// the ones pinned by the Service's acp.dev/service-accounts annotation).
// directoryFor() then cuts the directory down to what one caller's policy
// may reach. See ADR-0003-mesh-directory.md for why it looks like this.
import {
  comparePolicyPrecedence,
  matchesSelector,
  PORTS,
  spiffeId,
  type ApiCompliancePolicy,
  type SidecarConfig,
} from '@acp/crds';
import type { Pod, Service, ServicePort } from '@acp/kube';
import { isLivePod, serviceAccountOf } from '../identity/demand.ts';
import { companionServiceName, isCompanion } from './companion.ts';

export type MeshEntry = NonNullable<SidecarConfig['mesh']>['services'][number];

/** Service annotation pinning the service accounts that may answer for it (comma separated). */
export const SERVICE_ACCOUNTS_ANNOTATION = 'acp.dev/service-accounts';

export interface DirectoryInput {
  /** Services of every watched namespace (companions included: their ClusterIPs are read here). */
  services: readonly Service[];
  /** Pods and policies of a namespace. */
  pods: (namespace: string) => readonly Pod[];
  policies: (namespace: string) => readonly ApiCompliancePolicy[];
  trustDomain: string;
  clusterDomain: string;
}

/** The names a Service answers to, short name excluded (the caller's sidecar adds its own namespace). */
export function serviceNames(namespace: string, name: string, clusterDomain: string): string[] {
  const base = `${name}.${namespace}`;
  return [base, `${base}.svc`, `${base}.svc.${clusterDomain}`];
}

/** A Service the mesh can front: ClusterIP with a selector, not headless, not one of our companions. */
export function isMeshable(svc: Service): boolean {
  const spec = svc.spec;
  if (!spec?.selector || Object.keys(spec.selector).length === 0) return false;
  if (spec.type && spec.type !== 'ClusterIP' && spec.type !== 'NodePort' && spec.type !== 'LoadBalancer')
    return false;
  return spec.clusterIP !== 'None' && !isCompanion(svc);
}

/** The pods a Service selects that a policy governs, each with its governing policy. */
function governedPods(
  svc: Service,
  pods: readonly Pod[],
  policies: readonly ApiCompliancePolicy[],
): { pod: Pod; policy: ApiCompliancePolicy }[] {
  const out: { pod: Pod; policy: ApiCompliancePolicy }[] = [];
  for (const pod of pods) {
    if (!isLivePod(pod) || !matchesSelector({ matchLabels: svc.spec?.selector ?? {} }, pod.metadata.labels))
      continue;
    const policy = [...policies]
      .filter((p) => matchesSelector(p.spec.selector, pod.metadata.labels))
      .sort(comparePolicyPrecedence)[0];
    if (policy) out.push({ pod, policy });
  }
  return out;
}

/** The container port a Service port targets on this pod (a number, or a name the pod declares). */
function targetOn(port: ServicePort, pod: Pod): number | undefined {
  const t = port.targetPort ?? port.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(t)) return Number(t);
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === t) return p.containerPort;
  return undefined;
}

/** The pinned service accounts of a Service, or undefined when it pins none. */
export function pinnedServiceAccounts(svc: Service): string[] | undefined {
  const raw = svc.metadata.annotations?.[SERVICE_ACCOUNTS_ANNOTATION];
  if (raw === undefined) return undefined;
  return [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ].sort();
}

/** One Service's directory entry, or null when none of its ports is meshed. */
export function meshEntry(
  svc: Service,
  input: Pick<DirectoryInput, 'pods' | 'policies' | 'trustDomain' | 'clusterDomain'>,
  companionIp: string | undefined,
): MeshEntry | null {
  if (!isMeshable(svc)) return null;
  const namespace = svc.metadata.namespace ?? '';
  const name = svc.metadata.name ?? '';
  const governed = governedPods(svc, input.pods(namespace), input.policies(namespace));
  const ports = [
    ...new Set(
      (svc.spec?.ports ?? [])
        .filter((p) => (p.protocol ?? 'TCP') === 'TCP')
        .filter((p) => governed.some(({ pod, policy }) => targetOn(p, pod) === policy.spec.upstream.port))
        .map((p) => p.port),
    ),
  ].sort((a, b) => a - b);
  if (ports.length === 0) return null;
  const accounts = pinnedServiceAccounts(svc) ?? [
    ...new Set(governed.map(({ pod }) => serviceAccountOf(pod))),
  ];
  const ip = svc.spec?.clusterIP;
  return {
    namespace,
    name,
    names: [...serviceNames(namespace, name, input.clusterDomain), ...(ip && ip !== 'None' ? [ip] : [])],
    ports,
    address: companionIp ?? '',
    port: PORTS.inbound,
    identities: accounts.map((sa) => spiffeId(input.trustDomain, namespace, sa)).sort(),
  };
}

/** Every meshed Service, sorted by namespace/name (deterministic output, stable hashes). */
export function compileDirectory(input: DirectoryInput): MeshEntry[] {
  const ips = new Map<string, string>();
  for (const s of input.services)
    if (isCompanion(s) && s.spec?.clusterIP)
      ips.set(`${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`, s.spec.clusterIP);
  const out: MeshEntry[] = [];
  for (const svc of input.services) {
    const ns = svc.metadata.namespace ?? '';
    const entry = meshEntry(svc, input, ips.get(`${ns}/${companionServiceName(svc.metadata.name ?? '')}`));
    if (entry) out.push(entry);
  }
  return out.sort((a, b) =>
    a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
  );
}

/**
 * A Service the directory does not front (missing, or no meshed pods): calls to it get 503, never plain
 * HTTP. No ports = every port (the Service may not even exist to list them).
 */
function unmeshed(namespace: string, name: string, ports: number[], clusterDomain: string): MeshEntry {
  return {
    namespace,
    name,
    names: serviceNames(namespace, name, clusterDomain),
    ports,
    address: '',
    port: PORTS.inbound,
    identities: [],
  };
}

/**
 * The part of the directory one caller's policy may reach: everything under
 * egress.default Allow; else the Services its egress.allow names (all meshed
 * ports, or the one given) and the meshed Service ports its host:port
 * entries name. A Service named but not meshed gets an entry without
 * identities (its calls are refused with 503, never sent in clear text).
 */
export function directoryFor(
  policy: ApiCompliancePolicy,
  directory: readonly MeshEntry[],
  clusterDomain: string,
): MeshEntry[] {
  const egress = policy.spec.egress;
  if (egress?.default === 'Allow') return [...directory];
  const own = policy.metadata?.namespace ?? '';
  const wanted = new Map<string, { entry: MeshEntry; ports: Set<number> }>();
  const want = (entry: MeshEntry, ports: readonly number[]): void => {
    const key = `${entry.namespace}/${entry.name}`;
    const w = wanted.get(key) ?? { entry, ports: new Set<number>() };
    for (const p of ports) w.ports.add(p);
    wanted.set(key, w);
  };
  for (const a of egress?.allow ?? []) {
    if (a.service !== undefined) {
      const ns = a.namespace ?? own;
      const entry = directory.find((e) => e.namespace === ns && e.name === a.service);
      if (entry) {
        // A port the Service does not mesh is not reached through the directory (egress decides: 403).
        const ports = a.port === undefined ? entry.ports : entry.ports.filter((p) => p === a.port);
        if (ports.length > 0) want(entry, ports);
      } else {
        const gap = unmeshed(ns, a.service, a.port === undefined ? [] : [a.port], clusterDomain);
        want(gap, gap.ports);
      }
      continue;
    }
    const host = (a.host ?? '').toLowerCase();
    const entry = directory.find((e) => e.names.includes(host) && e.ports.includes(a.port ?? 0));
    if (entry) want(entry, [a.port ?? 0]);
  }
  return [...wanted.values()]
    .map(({ entry, ports }) => ({ ...entry, ports: [...ports].sort((x, y) => x - y) }))
    .sort((a, b) =>
      a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
    );
}

/** Whether a policy's egress can reach any Service of the mesh (default Allow, or any allow entry). */
export function reachesMesh(policy: ApiCompliancePolicy): boolean {
  const egress = policy.spec.egress;
  return egress?.default === 'Allow' || (egress?.allow ?? []).length > 0;
}
