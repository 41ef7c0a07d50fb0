// The companion Service of a meshed Service, as a pure builder: same
// selector, one port 8443 whose targetPort is the sidecar's named port
// acp-tls (so only pods that run the injected sidecar become endpoints),
// labels naming its Service and an ownerReference to it. Callers' sidecars
// dial its stable ClusterIP; kube-proxy balances over the pods, so pod
// churn rewrites nothing of ours (ADR-0003-mesh-directory.md).
import {
  boundedName,
  COMPONENT_LABEL,
  labelValue,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PORT_NAMES,
  PORTS,
} from '@acp/crds';
import type { Service } from '@acp/kube';

export const COMPANION_COMPONENT = 'mesh-companion';
/** Label on a companion naming the Service it fronts. */
export const MESH_SERVICE_LABEL = 'acp.dev/mesh-service';

/** Deterministic, a valid Service name (DNS-1035 label, <= 63 characters). */
export function companionServiceName(serviceName: string): string {
  return boundedName('acp-mesh-', serviceName, 63);
}

export function isCompanion(svc: Service): boolean {
  return (
    svc.metadata.labels?.[COMPONENT_LABEL] === COMPANION_COMPONENT &&
    svc.metadata.labels[MANAGED_BY_LABEL] === MANAGED_BY
  );
}

/** The companion a meshed Service wants. */
export function companionFor(svc: Service): Service {
  const name = svc.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: companionServiceName(name),
      namespace: svc.metadata.namespace ?? '',
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [COMPONENT_LABEL]: COMPANION_COMPONENT,
        [MESH_SERVICE_LABEL]: labelValue(name),
      },
      ...(svc.metadata.uid
        ? {
            ownerReferences: [
              { apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid, controller: true },
            ],
          }
        : {}),
    },
    spec: {
      type: 'ClusterIP',
      selector: { ...(svc.spec?.selector ?? {}) },
      ports: [
        { name: PORT_NAMES.inbound, port: PORTS.inbound, targetPort: PORT_NAMES.inbound, protocol: 'TCP' },
      ],
    },
  };
}

/** Whether the stored companion already says what the wanted one says (selector and ports). */
export function companionUpToDate(existing: Service | undefined, wanted: Service): boolean {
  if (!existing || !isCompanion(existing)) return false;
  const sel = (s: Service): string => JSON.stringify(Object.entries(s.spec?.selector ?? {}).sort());
  const ports = (s: Service): string =>
    JSON.stringify((s.spec?.ports ?? []).map((p) => [p.name, p.port, p.targetPort, p.protocol ?? 'TCP']));
  return sel(existing) === sel(wanted) && ports(existing) === ports(wanted);
}
