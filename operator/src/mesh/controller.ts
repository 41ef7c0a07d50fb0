// Reconciles one Service (key: namespace/name) into its companion Service:
// gather (the Service, its namespace's pods and policies from the caches)
// -> plan (meshEntry: is any port meshed?) -> apply the companion only when
// it differs, delete it when the Service is gone or no longer meshed. Wired
// to the informers here too: a Service, a pod or a policy change enqueues
// the Services of that namespace it may concern.
import { MANAGED_BY, MANAGED_BY_LABEL, matchesSelector } from '@acp/crds';
import {
  Controller,
  isNotFound,
  resourcePath,
  RESOURCES,
  splitKey,
  type Clock,
  type Informer,
  type KubeClient,
  type Pod,
  type Reconciler,
  type RuntimeMetrics,
  type Service,
} from '@acp/kube';
import type { Logger } from 'pino';
import type { PolicyObject } from '../identity/workload-controller.ts';
import type { PolicyMetrics } from '../reconcile/metrics.ts';
import {
  companionFor,
  companionServiceName,
  companionUpToDate,
  isCompanion,
  MESH_SERVICE_LABEL,
} from './companion.ts';
import { meshEntry } from './directory.ts';

export const MESH_FIELD_MANAGER = 'acp-operator';

export interface MeshControllerDeps {
  client: KubeClient;
  services: Informer<Service>;
  pods: Informer<Pod>;
  policies: Informer<PolicyObject>;
  trustDomain: string;
  clusterDomain: string;
  metrics: Pick<PolicyMetrics, 'writes'>;
}

export function meshReconciler(deps: MeshControllerDeps): Reconciler {
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const svc = deps.services.get(namespace, name);
    if (svc && isCompanion(svc)) return undefined;
    const companionName = companionServiceName(name);
    const existing = deps.services.get(namespace, companionName);
    const path = resourcePath(RESOURCES.service, namespace, companionName);
    const entry = svc
      ? meshEntry(
          svc,
          {
            pods: (ns) => deps.pods.list(ns),
            policies: (ns) => deps.policies.list(ns),
            trustDomain: deps.trustDomain,
            clusterDomain: deps.clusterDomain,
          },
          undefined,
        )
      : null;
    if (!svc || !entry) {
      if (existing && isCompanion(existing) && existing.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) {
        try {
          await deps.client.delete(path);
          deps.metrics.writes.inc({ kind: 'Service' });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      return undefined;
    }
    const wanted = companionFor(svc);
    if (!companionUpToDate(existing, wanted)) {
      await deps.client.apply(path, wanted, MESH_FIELD_MANAGER);
      deps.metrics.writes.inc({ kind: 'Service' });
    }
    return undefined;
  };
}

export interface MeshSetup {
  controller: Controller;
  enqueueAll: () => void;
}

export function setupMesh(
  deps: MeshControllerDeps & {
    clock: Clock;
    logger: Logger;
    runtimeMetrics: RuntimeMetrics;
    workers: number;
  },
): MeshSetup {
  const c = new Controller({
    name: 'mesh',
    logger: deps.logger,
    clock: deps.clock,
    metrics: deps.runtimeMetrics,
    workers: deps.workers,
    reconcile: meshReconciler(deps),
  });
  const key = (ns: string | undefined, name: string | undefined): string => `${ns ?? ''}/${name ?? ''}`;
  deps.services.onChange((s) => {
    // A companion changed (or was deleted by someone): its Service re-plans it.
    const owner = isCompanion(s) ? s.metadata.labels?.[MESH_SERVICE_LABEL] : s.metadata.name;
    if (owner) c.enqueue(key(s.metadata.namespace, owner));
  });
  const selectingServices = (pod: Pod | undefined): void => {
    if (!pod) return;
    for (const s of deps.services.list(pod.metadata.namespace))
      if (
        !isCompanion(s) &&
        s.spec?.selector &&
        matchesSelector({ matchLabels: s.spec.selector }, pod.metadata.labels)
      )
        c.enqueue(key(s.metadata.namespace, s.metadata.name));
  };
  deps.pods.onChange((pod, _t, old) => {
    selectingServices(pod);
    selectingServices(old);
  });
  deps.policies.onChange((p) => {
    for (const s of deps.services.list(p.metadata.namespace))
      if (!isCompanion(s)) c.enqueue(key(s.metadata.namespace, s.metadata.name));
  });
  return {
    controller: c,
    enqueueAll: () => {
      for (const s of deps.services.list())
        c.enqueue(
          key(
            s.metadata.namespace,
            isCompanion(s) ? s.metadata.labels?.[MESH_SERVICE_LABEL] : s.metadata.name,
          ),
        );
    },
  };
}
