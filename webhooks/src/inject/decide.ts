// The injection decision: a pure function from the admission request, the
// namespace's labels and the policies of the namespace to "inject with
// this policy" or "skip, with this reason code". The reason code is the
// metric label, the log field and the text of the pod's status annotation.
// The first check that fails wins, in the order of SKIP_REASONS.
import {
  API_TOKEN_MASK_VOLUME,
  CONFIG_VOLUME,
  hasInjectedSidecar,
  IDENTITY_VOLUME,
  INJECT_ANNOTATION,
  INJECTION_ENABLED,
  INJECTION_LABEL,
  PORTS,
  rankSelecting,
  SIDECAR_CONTAINER_NAME,
  sidecarNameClash,
  type LabelSelector,
  type PrecedenceKey,
} from '@acp/crds';
import { allContainers, type Pod } from './pod.ts';

export const SKIP_REASONS = [
  'not_create',
  'system_namespace',
  'opted_out',
  'not_opted_in',
  'already_injected',
  'sidecar_name_conflict',
  'mirror_pod',
  'host_network',
  'port_conflict',
  'volume_conflict',
  'no_matching_policy',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** What the decision needs to know about one ApiCompliancePolicy (its precedence key and selector). */
export interface PolicyRef extends PrecedenceKey {
  selector: LabelSelector;
}

export interface DecideInput {
  operation: string;
  namespace: string;
  /** The namespace's labels; undefined when the namespace is not known (treated as not opted in). */
  namespaceLabels: Readonly<Record<string, string>> | undefined;
  pod: Pod;
  /** The ApiCompliancePolicies of the pod's namespace. */
  policies: readonly PolicyRef[];
  /** Namespaces never injected: kube-system, kube-node-lease and the operator's. */
  excludedNamespaces: ReadonlySet<string>;
}

export type Decision =
  | {
      inject: true;
      policy: PolicyRef;
      /** Every policy that selected the pod, winner first (length > 1: a tie broken by age, then name). */
      matched: PolicyRef[];
    }
  | { inject: false; reason: SkipReason; message: string };

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const SIDECAR_PORTS: readonly number[] = [PORTS.inbound, PORTS.admin, PORTS.outbound];
const OUR_VOLUMES: readonly string[] = [IDENTITY_VOLUME, CONFIG_VOLUME, API_TOKEN_MASK_VOLUME];

const skip = (reason: SkipReason, message: string): Decision => ({ inject: false, reason, message });

/** The first reason not to inject that holds before policies are looked at, or undefined. */
function precheck(input: DecideInput): Decision | undefined {
  const { pod } = input;
  const annotations = pod.metadata?.annotations ?? {};
  const optIn = annotations[INJECT_ANNOTATION];
  if (input.operation !== 'CREATE') return skip('not_create', `operation ${input.operation} is not injected`);
  if (input.excludedNamespaces.has(input.namespace)) {
    return skip('system_namespace', `namespace ${input.namespace} is never injected`);
  }
  if (optIn === 'false') return skip('opted_out', `annotation ${INJECT_ANNOTATION}: "false"`);
  const nsOptedIn = input.namespaceLabels?.[INJECTION_LABEL] === INJECTION_ENABLED;
  if (!nsOptedIn && optIn !== 'true') {
    return skip(
      'not_opted_in',
      `namespace lacks label ${INJECTION_LABEL}=${INJECTION_ENABLED} and the pod lacks annotation ${INJECT_ANNOTATION}: "true"`,
    );
  }
  const containers = allContainers(pod);
  if (hasInjectedSidecar(pod.spec)) {
    return skip('already_injected', `the pod already runs the injected ${SIDECAR_CONTAINER_NAME}`);
  }
  const clash = sidecarNameClash(pod.spec);
  if (clash) {
    return skip(
      'sidecar_name_conflict',
      `the pod's own ${clash.init ? 'init container' : 'container'} is named ${SIDECAR_CONTAINER_NAME}, the sidecar's name: rename it to get the sidecar`,
    );
  }
  if (Object.hasOwn(annotations, MIRROR_POD_ANNOTATION)) {
    return skip('mirror_pod', 'mirror pods of static pods cannot be changed');
  }
  if (pod.spec.hostNetwork === true) {
    return skip('host_network', "hostNetwork pods share the node's ports and network namespace");
  }
  const port = containers.flatMap((c) => c.ports ?? []).find((p) => SIDECAR_PORTS.includes(p.containerPort));
  if (port)
    return skip('port_conflict', `a container declares port ${port.containerPort}, which the sidecar uses`);
  const volume = (pod.spec.volumes ?? []).find((v) => OUR_VOLUMES.includes(v.name));
  if (volume) return skip('volume_conflict', `the pod already has a volume named ${volume.name}`);
  return undefined;
}

/** Decides whether to inject the sidecar into the pod, and with which policy. Pure. */
export function decide(input: DecideInput): Decision {
  const early = precheck(input);
  if (early) return early;
  const labels = input.pod.metadata?.labels ?? {};
  const matched = rankSelecting(input.policies, labels, (p) => ({ selector: p.selector, key: p }));
  const [winner] = matched;
  if (!winner) {
    return skip(
      'no_matching_policy',
      `no ApiCompliancePolicy in namespace ${input.namespace} selects the pod`,
    );
  }
  return { inject: true, policy: winner, matched };
}
