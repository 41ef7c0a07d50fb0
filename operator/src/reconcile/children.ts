// The objects a policy owns, as pure builders: the compiled sidecar
// configuration (ConfigMap acp-config-<policy>, key sidecar.json, with its
// content hash) and the NetworkPolicy that leaves only the sidecar's TLS
// port open (plus its admin port to monitoring namespaces). Deterministic
// names, labels naming the policy, and an ownerReference to it.
import {
  API_VERSION,
  COMPONENT_LABEL,
  CONFIG_FILE,
  KIND,
  labelValue,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  networkPolicyName,
  POLICY_LABEL,
  policyConfigMapName,
  PORTS,
  type PolicySelector,
} from '@acp/crds';
import type { ConfigMap, KubeObject } from '@acp/kube';
import { CONFIG_HASH_ANNOTATION } from '../policy/hash.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';

export const CONFIG_COMPONENT = 'sidecar-config';
export const NETWORK_POLICY_COMPONENT = 'network-policy';

export interface NetworkPolicy extends KubeObject {
  spec?: Record<string, unknown>;
}

function meta(
  policy: PolicyObject,
  name: string,
  component: string,
  annotations?: Record<string, string>,
): KubeObject['metadata'] {
  const policyName = policy.metadata.name ?? '';
  return {
    name,
    namespace: policy.metadata.namespace ?? '',
    labels: {
      [MANAGED_BY_LABEL]: MANAGED_BY,
      [COMPONENT_LABEL]: component,
      [POLICY_LABEL]: labelValue(policyName),
    },
    ...(annotations ? { annotations } : {}),
    ...(policy.metadata.uid
      ? {
          ownerReferences: [
            {
              apiVersion: API_VERSION,
              kind: KIND,
              name: policyName,
              uid: policy.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        }
      : {}),
  };
}

export function configMapFor(policy: PolicyObject, rendered: { json: string; hash: string }): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(policy, policyConfigMapName(policy.metadata.name ?? ''), CONFIG_COMPONENT, {
      [CONFIG_HASH_ANNOTATION]: rendered.hash,
    }),
    data: { [CONFIG_FILE]: rendered.json },
  };
}

/** Label selector (matchLabels / matchExpressions) as a NetworkPolicy peer selector. */
export type LabelSelector = PolicySelector;

export function networkPolicyFor(
  policy: PolicyObject,
  monitoring: LabelSelector,
  operatorNamespace?: string,
): NetworkPolicy {
  const prober = operatorNamespace
    ? [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': operatorNamespace } } }]
    : [];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(policy, networkPolicyName(policy.metadata.name ?? ''), NETWORK_POLICY_COMPONENT),
    spec: {
      podSelector: policy.spec.selector,
      policyTypes: ['Ingress'],
      ingress: [
        // Anyone may reach the sidecar's TLS port: mTLS and the policy decide who gets through.
        { ports: [{ protocol: 'TCP', port: PORTS.inbound }] },
        // Only monitoring may scrape the admin port, and the operator's prober read /config.
        {
          ports: [{ protocol: 'TCP', port: PORTS.admin }],
          from: [{ namespaceSelector: monitoring }, ...prober],
        },
      ],
    },
  };
}

/** Parses "k=v,k2=v2" into a matchLabels selector; an error names the bad part. */
export function parseLabelSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9._/-]+)=([A-Za-z0-9._-]*)$/.exec(part);
    if (!m?.[1]) throw new Error(`"${part}" is not key=value`);
    matchLabels[m[1]] = m[2] ?? '';
  }
  return { matchLabels };
}
