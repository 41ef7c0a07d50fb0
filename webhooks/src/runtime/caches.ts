// The webhook's view of the cluster: every ApiCompliancePolicy and every
// Namespace, each through an informer of the shared runtime (@acp/kube:
// restarts with backoff, relists on 410; no GET per admission), namespaces
// as metadata only, both without managedFields.
// Admission reads them through two snapshot functions; readiness waits
// until both have listed once.
import type { Logger } from 'pino';
import {
  Informer,
  RESOURCES,
  resourcePath,
  withoutManagedFields,
  type Clock,
  type KubeClient,
  type KubeObject,
  type Namespace,
} from '@acp/kube';
import type { PolicyRef } from '../inject/decide.ts';
import { toPolicyRef } from '../policy/ref.ts';

export interface ClusterView {
  policiesIn(namespace: string): readonly PolicyRef[];
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** GETs a namespace the informer has not delivered yet and remembers its labels until it does. */
  lookupNamespace(namespace: string): Promise<void>;
  synced(): boolean;
  whenSynced(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface ClusterViewOptions {
  client: KubeClient;
  log: Logger;
  clock: Clock;
  onRestart?: (resource: string) => void;
  /** How long one watch lasts before the apiserver ends it and the informer watches again (default 300 s). */
  watchTimeoutSeconds?: number;
}

export function createClusterView(opts: ClusterViewOptions): ClusterView {
  const common = {
    client: opts.client,
    logger: opts.log,
    clock: opts.clock,
    ...(opts.onRestart ? { onError: opts.onRestart } : {}),
    ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
  };
  const policies = new Informer<KubeObject>({
    ...common,
    resource: RESOURCES.policy,
    transform: withoutManagedFields,
  });
  // Admission reads a namespace's labels only: metadata is all that is watched and kept.
  const namespaces = new Informer<Namespace>({
    ...common,
    resource: RESOURCES.namespace,
    metadataOnly: true,
    transform: (o) => withoutManagedFields(o),
  });
  // Namespaces fetched ahead of the informer; the informer's copy wins as soon as it has one.
  const early = new Map<string, Record<string, string>>();
  return {
    policiesIn: (namespace) =>
      policies
        .list(namespace)
        .map(toPolicyRef)
        .filter((p): p is PolicyRef => p !== undefined),
    namespaceLabels: (namespace) => {
      const ns = namespaces.get(undefined, namespace);
      return ns ? (ns.metadata.labels ?? {}) : early.get(namespace);
    },
    lookupNamespace: async (namespace) => {
      const ns = await opts.client.get<Namespace>(resourcePath(RESOURCES.namespace, undefined, namespace));
      if (early.size > 1000) early.clear();
      early.set(namespace, ns.metadata.labels ?? {});
    },
    synced: () => policies.isSynced && namespaces.isSynced,
    whenSynced: async () => {
      await Promise.all([policies.synced, namespaces.synced]);
    },
    start: () => {
      policies.start();
      namespaces.start();
    },
    stop: () => {
      policies.stop();
      namespaces.stop();
      return Promise.resolve();
    },
  };
}
