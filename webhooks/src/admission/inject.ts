// The pod admission pipeline: decode (the pod in the request) -> decide
// (pure, reason code) -> mutate (pure) -> diff (original vs mutated, with
// managedFields cleared) -> encode. Pure: the caches are read through the
// snapshot functions passed in; the caller records metrics and logs.
// A dry-run request gets exactly the same patch: nothing here has side
// effects to skip. An already injected pod (it runs the sidecar this
// webhook marked: re-submission, or a reinvocation after a later webhook
// or plugin changed it) only gets the proxy variables on containers added
// since: usually an empty patch. A pod whose own container merely has the
// sidecar's name gets no proxy variables, only its skip reason. mutatePod
// (decide + mutate, no review) is what the `acp inject` CLI runs offline.
import { decide, type PolicyRef, type SkipReason } from '../inject/decide.ts';
import type { InjectionConfig } from '../inject/config.ts';
import { completeProxyEnv, injectSidecar, markSkipped } from '../inject/mutate.ts';
import type { Pod } from '../inject/pod.ts';
import { diff } from './jsonpatch.ts';
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from './review.ts';
import { isObject } from '../json.ts';

export interface InjectDeps {
  config: InjectionConfig;
  excludedNamespaces: ReadonlySet<string>;
  policiesIn(namespace: string): readonly PolicyRef[];
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

export type Outcome =
  | { kind: 'injected'; policy: string; matched: number }
  | { kind: 'skipped'; reason: SkipReason; message: string }
  | { kind: 'allowed'; warnings: number }
  | { kind: 'refused'; message: string }
  | { kind: 'error'; code: string; message: string };

export interface Admission {
  response: AdmissionResponse;
  outcome: Outcome;
}

/** Skips that leave a note on the pod. Skips before opt-in is known, or on pods we must not change, leave it untouched. */
const ANNOTATED_SKIPS: ReadonlySet<SkipReason> = new Set([
  'opted_out',
  'host_network',
  'port_conflict',
  'volume_conflict',
  'sidecar_name_conflict',
  'no_matching_policy',
]);

/** The request's object as a Pod, or why it is not one. */
export function decodePod(request: AdmissionRequest): Pod | string {
  const { kind, resource } = request;
  if (kind.group !== '' || kind.kind !== 'Pod' || resource.resource !== 'pods' || request.subResource) {
    return `this webhook admits pods, not ${kind.kind}${request.subResource ? `/${request.subResource}` : ''}`;
  }
  const obj = request.object;
  if (!isObject(obj) || !isObject(obj['spec'])) return 'the request carries no pod';
  const containers = obj['spec']['containers'];
  if (!Array.isArray(containers) || !containers.every((c) => isObject(c) && typeof c['name'] === 'string')) {
    return 'the pod has no valid spec.containers';
  }
  if (obj['metadata'] !== undefined && !isObject(obj['metadata'])) return 'the pod has invalid metadata';
  return obj as unknown as Pod;
}

function withoutManagedFields(pod: Pod): Pod {
  if (!pod.metadata || pod.metadata.managedFields === undefined) return pod;
  const metadata = { ...pod.metadata };
  delete metadata.managedFields;
  return { ...pod, metadata };
}

const error = (uid: string, code: string, message: string): Admission => ({
  response: deny(uid, 400, message, 'BadRequest'),
  outcome: { kind: 'error', code, message },
});

export interface PodMutation {
  /** The pod as admitted (managedFields cleared). */
  original: Pod;
  /** The pod as it should be stored (the same object when nothing changes). */
  mutated: Pod;
  outcome: Extract<Outcome, { kind: 'injected' | 'skipped' }>;
  warnings: string[];
}

/**
 * Decides and mutates one pod being created or updated in `namespace`:
 * the whole of the webhook's work on a pod except decoding the review and
 * encoding the patch. The `acp inject` CLI calls it offline.
 */
export function mutatePod(input: Pod, namespace: string, operation: string, deps: InjectDeps): PodMutation {
  const pod = withoutManagedFields(input);
  const decision = decide({
    operation,
    namespace,
    namespaceLabels: deps.namespaceLabels(namespace),
    pod,
    policies: deps.policiesIn(namespace),
    excludedNamespaces: deps.excludedNamespaces,
  });
  if (!decision.inject) {
    const mutated =
      decision.reason === 'already_injected'
        ? completeProxyEnv(pod, deps.config)
        : ANNOTATED_SKIPS.has(decision.reason)
          ? markSkipped(pod, decision.reason)
          : pod;
    return {
      original: pod,
      mutated,
      outcome: { kind: 'skipped', reason: decision.reason, message: decision.message },
      warnings: [],
    };
  }
  const warnings =
    decision.matched.length > 1
      ? [
          `the pod is selected by ${decision.matched.length} ApiCompliancePolicies (${decision.matched.map((p) => p.name).join(', ')}); the oldest, ${decision.policy.name}, applies`,
        ]
      : [];
  return {
    original: pod,
    mutated: injectSidecar(pod, decision, deps.config),
    outcome: { kind: 'injected', policy: decision.policy.name, matched: decision.matched.length },
    warnings,
  };
}

/** Admits one pod request. */
export function admitPod(request: AdmissionRequest, deps: InjectDeps): Admission {
  const decoded = decodePod(request);
  if (typeof decoded === 'string') return error(request.uid, 'ACP_ERR_ADMISSION_NOT_A_POD', decoded);
  const namespace = request.namespace ?? decoded.metadata?.namespace ?? '';
  const m = mutatePod(decoded, namespace, request.operation, deps);
  return {
    response: allow(request.uid, diff(m.original, m.mutated), m.warnings),
    outcome: m.outcome,
  };
}
