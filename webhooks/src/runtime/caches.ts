// The webhook's view of the cluster: every ApiCompliancePolicy and every
// Namespace, each through a restarting informer (no GET per admission).
// Admission reads them through two snapshot functions; readiness waits
// until both have listed once.
import {
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, PLURAL, VERSION } from '@acp/crds';
import type { PolicyRef } from '../inject/decide.ts';
import { toPolicyRef } from '../policy/ref.ts';
import type { Clock } from './clock.ts';
import { ResilientInformer, type CachingInformer } from './informer.ts';

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
  kc: KubeConfig;
  log: Logger;
  clock: Clock;
  onRestart?: (resource: string) => void;
}

export function createClusterView(opts: ClusterViewOptions): ClusterView {
  const custom = opts.kc.makeApiClient(CustomObjectsApi);
  const core = opts.kc.makeApiClient(CoreV1Api);
  const policyPath = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  const listPolicies = async (): Promise<KubernetesListObject<KubernetesObject>> =>
    (await custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
    })) as KubernetesListObject<KubernetesObject>;
  const policies = new ResilientInformer<KubernetesObject>({
    resource: PLURAL,
    informer: makeInformer(opts.kc, policyPath, listPolicies) as CachingInformer<KubernetesObject>,
    log: opts.log,
    clock: opts.clock,
    ...(opts.onRestart ? { onRestart: opts.onRestart } : {}),
  });
  const namespaces = new ResilientInformer<V1Namespace>({
    resource: 'namespaces',
    informer: makeInformer(opts.kc, '/api/v1/namespaces', () =>
      core.listNamespace(),
    ) as CachingInformer<V1Namespace>,
    log: opts.log,
    clock: opts.clock,
    ...(opts.onRestart ? { onRestart: opts.onRestart } : {}),
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
      const ns = namespaces.get(namespace);
      return ns ? (ns.metadata?.labels ?? {}) : early.get(namespace);
    },
    lookupNamespace: async (namespace) => {
      const ns = await core.readNamespace({ name: namespace });
      if (early.size > 1000) early.clear();
      early.set(namespace, ns.metadata?.labels ?? {});
    },
    synced: () => policies.synced && namespaces.synced,
    whenSynced: async () => {
      await Promise.all([policies.whenSynced(), namespaces.whenSynced()]);
    },
    start: () => {
      policies.start();
      namespaces.start();
    },
    stop: async () => {
      await Promise.all([policies.stop(), namespaces.stop()]);
    },
  };
}
