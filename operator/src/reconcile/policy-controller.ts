// Reconciles one ApiCompliancePolicy (key: namespace/name): gather from
// the caches -> planPolicy (pure) -> apply only what differs (the compiled
// ConfigMap, the NetworkPolicy, the status, by server-side apply), record
// the Events of state changes, update metrics. A deleted policy's
// children are removed explicitly (the test apiserver has no garbage
// collector; in clusters their ownerReferences do it too).
import {
  API_VERSION,
  COMPLIANCE_PROFILES,
  identitySecretName,
  KIND,
  networkPolicyName,
  policyConfigMapName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from '@acp/crds';
import {
  isNotFound,
  resourcePath,
  RESOURCES,
  splitKey,
  type Clock,
  type ConfigMap,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type Pod,
  type Reconciler,
  type Secret,
  type Service,
} from '@acp/kube';
import type { CaSnapshot } from '../identity/ca-state.ts';
import { certificateStatus } from '../identity/certificate-status.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';
import { sameJson } from '../policy/hash.ts';
import { CONFIG_HASH_ANNOTATION } from '../policy/hash.ts';
import type { LabelSelector, NetworkPolicy } from './children.ts';
import type { JwksCache } from './jwks-cache.ts';
import type { PolicyMetrics } from './metrics.ts';
import type { EvidenceEntry, EvidenceStore } from '../evidence/store.ts';
import { recordEvidenceMetrics, forgetEvidenceMetrics } from './evidence-metrics.ts';
import { planPolicy, type PolicyPlan } from './plan.ts';
import { compileDirectory, directoryFor, reachesMesh, type MeshEntry } from '../mesh/directory.ts';

export const POLICY_FIELD_MANAGER = 'acp-operator';

export interface PolicyControllerDeps {
  client: KubeClient;
  policies: Informer<PolicyObject>;
  pods: Informer<Pod>;
  secrets: Informer<Secret>;
  configMaps: Informer<ConfigMap>;
  networkPolicies: Informer<NetworkPolicy>;
  jwks: JwksCache;
  snapshot: () => CaSnapshot;
  trustDomain: string;
  /** Services of every watched namespace, for the mesh directory (absent: no directory). */
  services?: Informer<Service>;
  clusterDomain?: string;
  /** Changes whenever Services, pods or policies change (absent: the directory is compiled every time). */
  meshVersion?: () => number;
  monitoring: LabelSelector;
  clock: Clock;
  events: EventRecorder;
  metrics: PolicyMetrics;
  /** The prober's last rounds (leader only); absent: nothing is measured. */
  evidence?: EvidenceStore;
  operatorNamespace?: string;
  probePeers?: readonly string[];
}

const ours = (o: { metadata: { labels?: Record<string, string> } } | undefined): boolean =>
  o?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;

async function deleteIfOurs(
  client: KubeClient,
  path: string,
  obj: { metadata: { labels?: Record<string, string> } } | undefined,
): Promise<void> {
  if (!ours(obj)) return;
  try {
    await client.delete(path);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

interface Children {
  cm: ConfigMap | undefined;
  np: NetworkPolicy | undefined;
  cmPath: string;
  npPath: string;
}

async function applyChildren(deps: PolicyControllerDeps, plan: PolicyPlan, c: Children): Promise<void> {
  if (plan.configMap) {
    const data = (o: ConfigMap | undefined): string | undefined => o?.data?.['sidecar.json'];
    const hash = (o: ConfigMap | undefined): string | undefined =>
      o?.metadata.annotations?.[CONFIG_HASH_ANNOTATION];
    if (!ours(c.cm) || data(c.cm) !== data(plan.configMap) || hash(c.cm) !== hash(plan.configMap)) {
      await deps.client.apply(c.cmPath, plan.configMap, POLICY_FIELD_MANAGER);
      deps.metrics.writes.inc({ kind: 'ConfigMap' });
    }
  }
  if (plan.networkPolicy && !(ours(c.np) && sameJson(c.np?.spec, plan.networkPolicy.spec))) {
    await deps.client.apply(c.npPath, plan.networkPolicy, POLICY_FIELD_MANAGER);
    deps.metrics.writes.inc({ kind: 'NetworkPolicy' });
  }
}

function evidenceOf(deps: PolicyControllerDeps, key: string): { evidence?: EvidenceEntry } {
  const evidence = deps.evidence?.get(key);
  return evidence ? { evidence } : {};
}

function podUid(deps: PolicyControllerDeps, namespace: string, name: string): { uid?: string } {
  const uid = deps.pods.get(namespace, name)?.metadata.uid;
  return uid ? { uid } : {};
}

/**
 * The directory entries this caller may reach; only for policies whose egress can reach the mesh.
 * The whole directory is compiled once per change of the caches it reads (deps.meshVersion, bumped
 * by their event handlers), not once per caller: one pod event re-plans every caller.
 */
function meshDirectory(deps: PolicyControllerDeps): (policy: PolicyObject) => MeshEntry[] {
  let cached: { version: number; directory: MeshEntry[] } | undefined;
  const clusterDomain = deps.clusterDomain ?? 'cluster.local';
  return (policy) => {
    const services = deps.services;
    if (!services || !reachesMesh(policy)) return [];
    const version = deps.meshVersion?.() ?? NaN;
    if (!cached || cached.version !== version)
      cached = {
        version,
        directory: compileDirectory({
          services: services.list(),
          pods: (ns) => deps.pods.list(ns),
          policies: (ns) => deps.policies.list(ns),
          trustDomain: deps.trustDomain,
          clusterDomain,
        }),
      };
    return directoryFor(policy, cached.directory, clusterDomain);
  };
}

export function policyReconciler(deps: PolicyControllerDeps): Reconciler {
  const meshFor = meshDirectory(deps);
  const forget = (namespace: string, name: string): void => {
    deps.metrics.ready.remove({ namespace, policy: name });
    for (const profile of COMPLIANCE_PROFILES)
      deps.metrics.compliant.remove({ namespace, policy: name, profile });
    forgetEvidenceMetrics(deps.metrics, namespace, name);
    deps.evidence?.delete(`${namespace}/${name}`);
  };

  return async (key, ctx) => {
    const { namespace, name } = splitKey(key);
    const children: Children = {
      cm: deps.configMaps.get(namespace, policyConfigMapName(name)),
      np: deps.networkPolicies.get(namespace, networkPolicyName(name)),
      cmPath: resourcePath(RESOURCES.configMap, namespace, policyConfigMapName(name)),
      npPath: resourcePath(RESOURCES.networkPolicy, namespace, networkPolicyName(name)),
    };
    const policy = deps.policies.get(namespace, name);
    if (!policy) {
      deps.jwks.unsubscribe(key);
      await deleteIfOurs(deps.client, children.cmPath, children.cm);
      await deleteIfOurs(deps.client, children.npPath, children.np);
      forget(namespace, name);
      return undefined;
    }
    const now = deps.clock.now();
    const pods = deps.pods.list(namespace);
    const policiesInNamespace = deps.policies.list(namespace);
    const certificates = certificateStatus({
      policy,
      pods,
      policies: policiesInNamespace,
      secret: (sa) => deps.secrets.get(namespace, identitySecretName(sa)),
      snapshot: deps.snapshot(),
      trustDomain: deps.trustDomain,
      now,
    });
    const plan = await planPolicy({
      policy,
      policiesInNamespace,
      pods,
      jwks: (uri) => deps.jwks.state(uri),
      certificates,
      existingConfigMap: children.cm,
      trustDomain: deps.trustDomain,
      monitoring: deps.monitoring,
      now,
      ...(deps.operatorNamespace ? { operatorNamespace: deps.operatorNamespace } : {}),
      ...(deps.probePeers ? { probePeers: deps.probePeers } : {}),
      ...evidenceOf(deps, key),
      mesh: meshFor(policy),
    });
    deps.jwks.subscribe(key, plan.jwksWanted);
    await applyChildren(deps, plan, children);
    if (!sameJson(policy.status ?? {}, plan.status)) {
      await deps.client.apply(
        resourcePath(RESOURCES.policy, namespace, name, 'status'),
        { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, status: plan.status },
        POLICY_FIELD_MANAGER,
      );
      deps.metrics.writes.inc({ kind: 'Status' });
    }
    const target = {
      apiVersion: API_VERSION,
      kind: KIND,
      namespace,
      name,
      ...(policy.metadata.uid ? { uid: policy.metadata.uid } : {}),
    };
    for (const e of plan.events) {
      const about = e.pod
        ? { apiVersion: 'v1', kind: 'Pod', namespace, name: e.pod, ...podUid(deps, namespace, e.pod) }
        : target;
      deps.events.record(about, e.type, e.reason, e.pod ? 'Verify' : 'Reconcile', e.note);
    }
    if (plan.evidence) recordEvidenceMetrics(deps.metrics, namespace, name, plan.evidence);
    deps.metrics.ready.set({ namespace, policy: name }, plan.ready ? 1 : 0);
    for (const p of plan.compliance?.profiles ?? [])
      deps.metrics.compliant.set({ namespace, policy: name, profile: p.name }, p.status === 'Pass' ? 1 : 0);
    if (plan.events.length > 0)
      ctx.logger.info({ events: plan.events.map((e) => e.reason) }, 'policy state changed');
    return certificates.requeueAfterMs === undefined
      ? undefined
      : { requeueAfterMs: certificates.requeueAfterMs };
  };
}
