// Wires the identity controllers (CA, workload identities, trust bundles) to the shared informers: which object changes
// enqueue which keys. Event handlers only enqueue; reconcilers read the
// caches (level-based).
import type { Logger } from 'pino';
import { MANAGED_BY, MANAGED_BY_LABEL, parseWorkloadSpiffeId, type ApiCompliancePolicy } from '@acp/crds';
import type { OperatorConfig } from '../config.ts';
import {
  Controller,
  type Clock,
  type ConfigMap,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type Pod,
  type RuntimeMetrics,
  type Secret,
} from '@acp/kube';
import {
  allBundlesHold,
  BUNDLE_COMPONENT,
  bundleReconciler,
  namespacesWithPolicies,
} from './bundle-controller.ts';
import { caReconciler } from './ca-controller.ts';
import { CaStore } from './ca-secrets.ts';
import { EMPTY_SNAPSHOT, type CaSnapshot } from './ca-state.ts';
import { certSettings } from './demand.ts';
import { ANNOTATIONS } from './inspect.ts';
import type { IdentityMetrics } from './metrics.ts';
import { IDENTITY_INDEX, identityKeyOfPod } from './pod-view.ts';
import { IDENTITY_COMPONENT } from './secret.ts';
import { podKeys, workloadReconciler, type PolicyObject } from './workload-controller.ts';

export interface IdentityInformers {
  /** Live pods, reduced by podView, indexed by IDENTITY_INDEX. */
  pods: Informer<Pod>;
  policies: Informer<PolicyObject>;
  /** Secrets labelled managed-by acp-operator, all namespaces. */
  secrets: Informer<Secret>;
  /** ConfigMaps labelled managed-by acp-operator, all namespaces. */
  configMaps: Informer<ConfigMap>;
  /** Every Secret of the operator's namespace (the CA Secrets, a user CA). */
  caSecrets: Informer<Secret>;
}

export interface IdentitySetup {
  controllers: Controller[];
  /** Enqueues every key that exists (on becoming leader). */
  enqueueAll: () => void;
  snapshot: () => CaSnapshot;
  /** Called after the CA snapshot changed (the policy controller refreshes certificate status). */
  onSnapshotChange: (listener: () => void) => void;
}

const CA_KEY = 'ca';

function identityKeyOfSecret(s: Secret): string | undefined {
  if (s.metadata.labels?.['acp.dev/component'] !== IDENTITY_COMPONENT) return undefined;
  const id = parseWorkloadSpiffeId(s.metadata.annotations?.[ANNOTATIONS.spiffeId] ?? '');
  return id ? `${s.metadata.namespace ?? ''}/${id.serviceAccount}` : undefined;
}

export function setupIdentity(deps: {
  client: KubeClient;
  config: OperatorConfig;
  informers: IdentityInformers;
  clock: Clock;
  logger: Logger;
  events: EventRecorder;
  runtimeMetrics: RuntimeMetrics;
  metrics: IdentityMetrics;
}): IdentitySetup {
  const { informers: inf, clock, logger, config } = deps;
  let snapshot: CaSnapshot = EMPTY_SNAPSHOT;
  const snapshotListeners: (() => void)[] = [];
  const common = { logger, clock, metrics: deps.runtimeMetrics, workers: config.workers };
  // Every identity with pods (from the index: no scan of the pods) or a Secret; of one namespace
  // from the namespace indexes.
  const identityKeys = (namespace?: string): string[] => [
    ...new Set([
      ...(namespace === undefined
        ? inf.pods.indexValues(IDENTITY_INDEX)
        : inf.pods.list(namespace).map(identityKeyOfPod)),
      ...inf.secrets.list(namespace).flatMap((s) => identityKeyOfSecret(s) ?? []),
    ]),
  ];

  const identities = new Controller({
    ...common,
    name: 'workload-identity',
    reconcile: workloadReconciler({
      client: deps.client,
      pods: inf.pods,
      policies: inf.policies,
      secrets: inf.secrets,
      snapshot: () => snapshot,
      trustDomain: config.trustDomain,
      backdateMs: config.certBackdateMs,
      clock,
      events: deps.events,
      metrics: deps.metrics,
    }),
  });
  const bundles = new Controller({
    ...common,
    name: 'trust-bundle',
    reconcile: bundleReconciler({
      client: deps.client,
      policies: inf.policies,
      configMaps: inf.configMaps,
      snapshot: () => snapshot,
    }),
  });
  const ca = new Controller({
    ...common,
    workers: 1,
    name: 'mesh-ca',
    reconcile: caReconciler({
      store: new CaStore(deps.client, config.namespace),
      logger,
      config,
      clock,
      events: deps.events,
      metrics: deps.metrics,
      allBundlesHold: (fp) => allBundlesHold({ policies: inf.policies, configMaps: inf.configMaps }, fp),
      storedLeaves: () =>
        inf.secrets.list().flatMap((s) => {
          const a = s.metadata.annotations ?? {};
          const issuer = a[ANNOTATIONS.issuer];
          const notAfter = a[ANNOTATIONS.notAfter];
          return identityKeyOfSecret(s) && issuer && notAfter
            ? [{ issuer, notAfter: new Date(notAfter) }]
            : [];
        }),
      maxLifetimeMs: () => {
        // With no policies, assume the default lifetime (24h).
        const lifetimes = inf.policies.list().map((p: ApiCompliancePolicy) => certSettings(p).lifetimeMs);
        return lifetimes.length > 0 ? Math.max(...lifetimes) : 86_400_000;
      },
      publish: (next) => {
        const changed =
          next.signerFingerprint !== snapshot.signerFingerprint ||
          next.bundleFingerprints.join() !== snapshot.bundleFingerprints.join() ||
          next.ready !== snapshot.ready;
        snapshot = next;
        if (!changed) return;
        logger.info(
          {
            ready: next.ready,
            reason: next.reason,
            signer: next.signerFingerprint.slice(0, 23),
            roots: next.bundleFingerprints.length,
          },
          'mesh CA snapshot changed',
        );
        for (const k of identityKeys()) identities.enqueue(k);
        for (const ns of namespacesWithPolicies(inf.policies)) bundles.enqueue(ns);
        for (const l of snapshotListeners) l();
      },
    }),
  });

  inf.pods.onChange((pod, _t, old) => {
    for (const k of podKeys(pod, old)) identities.enqueue(k);
  });
  inf.policies.onChange((p, type, old) => {
    // Identities, bundles and the CA depend on a policy's spec and existence, not on its status:
    // the policy controller's own status writes (generation unchanged) wake none of them.
    if (type === 'update' && old?.metadata.generation === p.metadata.generation) return;
    const ns = p.metadata.namespace ?? '';
    for (const k of identityKeys(ns)) identities.enqueue(k);
    bundles.enqueue(ns);
    ca.enqueue(CA_KEY);
  });
  inf.secrets.onChange((s) => {
    const key = identityKeyOfSecret(s);
    if (key) identities.enqueue(key);
  });
  inf.caSecrets.onChange(() => ca.enqueue(CA_KEY));
  inf.configMaps.onChange((cm) => {
    if (cm.metadata.labels?.['acp.dev/component'] === BUNDLE_COMPONENT) {
      bundles.enqueue(cm.metadata.namespace ?? '');
      ca.enqueue(CA_KEY);
    }
  });

  return {
    controllers: [ca, identities, bundles],
    onSnapshotChange: (l) => snapshotListeners.push(l),
    snapshot: () => snapshot,
    enqueueAll: () => {
      ca.enqueue(CA_KEY);
      for (const k of identityKeys()) identities.enqueue(k);
      for (const ns of namespacesWithPolicies(inf.policies)) bundles.enqueue(ns);
    },
  };
}

export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
