// Mutation: the pod as it should be stored, built from the original by
// pure functions (the JSON Patch is computed afterwards by diffing the
// two). Injection puts the sidecar first among the init containers (so it
// is up before the other init containers run), adds its two volumes,
// points the app containers' proxy variables at it and writes the status
// annotation. A skip only writes the status annotation.
import { isInjectedSidecar, STATUS_ANNOTATION } from '@acp/crds';
import type { InjectionConfig } from './config.ts';
import type { PolicyRef, SkipReason } from './decide.ts';
import type { Container, Pod } from './pod.ts';
import {
  apiTokenMaskVolume,
  configVolume,
  identityVolume,
  sidecarContainer,
  withProxyEnv,
} from './sidecar.ts';
import { formatStatus, type InjectionStatus } from './status.ts';

function withAnnotation(pod: Pod, value: string): Pod {
  const metadata = pod.metadata ?? {};
  return {
    ...pod,
    metadata: { ...metadata, annotations: { ...(metadata.annotations ?? {}), [STATUS_ANNOTATION]: value } },
  };
}

/** The service account whose identity the sidecar gets (the apiserver defaults it to `default`). */
export function serviceAccountOf(pod: Pod): string {
  const sa = pod.spec.serviceAccountName;
  return typeof sa === 'string' && sa !== '' ? sa : 'default';
}

export interface Injection {
  policy: PolicyRef;
  matched: readonly PolicyRef[];
}

/**
 * The pod with the sidecar injected. Does not change its argument: every
 * changed level is a new object, unchanged parts are shared (no deep copy
 * on the hot path).
 */
export function injectSidecar(original: Pod, injection: Injection, config: InjectionConfig): Pod {
  const app = (c: Container): Container => (config.proxyEnv ? withProxyEnv(c) : c);
  const spec = original.spec;
  const pod: Pod = {
    ...original,
    spec: {
      ...spec,
      initContainers: [sidecarContainer(config), ...(spec.initContainers ?? []).map(app)],
      containers: spec.containers.map(app),
      volumes: [
        ...(spec.volumes ?? []),
        identityVolume(serviceAccountOf(original)),
        configVolume(injection.policy.name),
        apiTokenMaskVolume(),
      ],
    },
  };
  const status: InjectionStatus = {
    policy: injection.policy.name,
    sidecarVersion: config.sidecarVersion,
  };
  if (injection.matched.length > 1) {
    status.matchedPolicies = injection.matched.map((p) => p.name);
    status.selectedBy = 'oldest-then-name';
  }
  return withAnnotation(pod, formatStatus(status));
}

/** The pod with the skip reason recorded in its status annotation. Does not change its argument. */
export function markSkipped(original: Pod, reason: SkipReason): Pod {
  return withAnnotation(original, formatStatus({ skipReason: reason }));
}

/**
 * An injected pod whose app containers all carry the proxy variables. A
 * later mutating webhook may add a container after the injection; on
 * reinvocation it gets them too. Unchanged (same object) when none is missing.
 */
export function completeProxyEnv(pod: Pod, config: InjectionConfig): Pod {
  if (!config.proxyEnv) return pod;
  const app = (c: Container): Container => (isInjectedSidecar(c) ? c : withProxyEnv(c));
  const spec = pod.spec;
  return {
    ...pod,
    spec: {
      ...spec,
      containers: spec.containers.map(app),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(app) } : {}),
    },
  };
}
