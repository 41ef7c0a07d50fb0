// Which container is the sidecar the webhook injected. A container's name
// proves nothing: a pod may bring its own container (regular or init)
// named acp-sidecar. The webhook marks the sidecar it injects with an
// environment variable (SIDECAR_MARKER) and only an init container with
// that name AND that mark counts as injected, for the webhook (a pod
// already injected is not injected twice) and for the operator (the
// injected count in a policy's status). Pure.
import { SIDECAR_CONTAINER_NAME } from './names.ts';

/** The environment variable the webhook sets on the sidecar container it injects. */
export const SIDECAR_MARKER = { name: 'ACP_INJECTED_BY', value: 'acp-webhook' } as const;

export interface ContainerLike {
  name: string;
  env?: readonly { name: string; value?: string }[] | null;
}

/** True for the sidecar container as the webhook injects it (name and mark). */
export function isInjectedSidecar(container: ContainerLike): boolean {
  return (
    container.name === SIDECAR_CONTAINER_NAME &&
    (container.env ?? []).some((e) => e.name === SIDECAR_MARKER.name && e.value === SIDECAR_MARKER.value)
  );
}

export interface PodContainers {
  initContainers?: readonly ContainerLike[] | null;
  containers?: readonly ContainerLike[] | null;
}

/** True when the pod runs the sidecar the webhook injected (an init container, marked). */
export function hasInjectedSidecar(spec: PodContainers | undefined): boolean {
  return (spec?.initContainers ?? []).some(isInjectedSidecar);
}

/** The pod's own container that has the sidecar's name without being the injected sidecar, if any. */
export function sidecarNameClash(spec: PodContainers | undefined): { init: boolean } | undefined {
  if (hasInjectedSidecar(spec)) return undefined;
  if ((spec?.initContainers ?? []).some((c) => c.name === SIDECAR_CONTAINER_NAME)) return { init: true };
  if ((spec?.containers ?? []).some((c) => c.name === SIDECAR_CONTAINER_NAME)) return { init: false };
  return undefined;
}
