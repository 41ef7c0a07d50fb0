// What the operator keeps of a Pod, and how it finds them. The controllers
// read a pod's name, namespace, labels, deletion mark, service account,
// phase, whether the webhook's sidecar runs in it, its named container
// ports (the mesh resolves a Service's named targetPort) and its IP (the
// evidence verifier probes it): metadata alone (PartialObjectMetadata)
// lacks all but the first four, so pods
// are watched whole but only while not finished (a field selector: a pod
// that succeeds or fails arrives as DELETED), and each is reduced to those
// fields before it is cached (about 0.3 KB instead of several KB with its
// spec, status and managedFields). The identity index maps
// namespace/serviceAccount to its pods, so an identity's reconcile and
// "every identity with pods" read an index instead of scanning all pods.
import { hasInjectedSidecar, SIDECAR_CONTAINER_NAME, SIDECAR_MARKER } from '@acp/crds';
import type { KubeObject, Pod } from '@acp/kube';
import { serviceAccountOf } from './demand.ts';

/** Finished pods need no identity and count as no workload: the apiserver leaves them out. */
export const LIVE_PODS_FIELD_SELECTOR = 'status.phase!=Succeeded,status.phase!=Failed';

/** The index of pods by identity key (namespace/serviceAccount). */
export const IDENTITY_INDEX = 'identity';

export const identityKeyOfPod = (pod: Pod): string =>
  `${pod.metadata.namespace ?? ''}/${serviceAccountOf(pod)}`;

/** The sidecar as the webhook injects it, reduced to what hasInjectedSidecar reads (shared by every pod). */
const INJECTED: NonNullable<NonNullable<Pod['spec']>['initContainers']> = [
  { name: SIDECAR_CONTAINER_NAME, env: [SIDECAR_MARKER] },
];

/** The pod reduced to the fields the operator reads. Pure; does not change its argument. */
export function podView(obj: KubeObject): Pod {
  const pod = obj as Pod;
  const m = pod.metadata;
  const sa = pod.spec?.serviceAccountName;
  const phase = pod.status?.phase;
  const podIP = pod.status?.podIP;
  const named = (pod.spec?.containers ?? []).flatMap((c) => {
    const ports = (c.ports ?? []).flatMap((p) =>
      p.name ? [{ name: p.name, containerPort: p.containerPort }] : [],
    );
    return ports.length > 0 ? [{ name: c.name, ports }] : [];
  });
  return {
    metadata: {
      name: m.name ?? '',
      namespace: m.namespace ?? '',
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    spec: {
      ...(sa ? { serviceAccountName: sa } : {}),
      ...(hasInjectedSidecar(pod.spec) ? { initContainers: INJECTED } : {}),
      ...(named.length > 0 ? { containers: named } : {}),
    },
    ...(phase || podIP ? { status: { ...(phase ? { phase } : {}), ...(podIP ? { podIP } : {}) } } : {}),
  };
}
