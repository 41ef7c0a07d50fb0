// Wires the policy controller to the shared informers and the JWKS cache:
// any change in a namespace (a policy, a pod, an identity Secret, a child
// object) enqueues that namespace's policies; a JWKS source that changed
// enqueues its subscribers; a CA change enqueues every policy.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { OperatorConfig } from '../config.ts';
import {
  Controller,
  type Clock,
  type ConfigMap,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type KubeObject,
  type Pod,
  type RuntimeMetrics,
  type Secret,
  type Service,
} from '@acp/kube';
import type { CaSnapshot } from '../identity/ca-state.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';
import { labelValue, matchesSelector, POLICY_LABEL } from '@acp/crds';
import { sameJson } from '../policy/hash.ts';
import { parseLabelSelector, type NetworkPolicy } from './children.ts';
import { reachesMesh } from '../mesh/directory.ts';
import { fetchJwks } from './jwks-fetch.ts';
import { JwksCache } from './jwks-cache.ts';
import type { PolicyMetrics } from './metrics.ts';
import { policyReconciler } from './policy-controller.ts';
import { probeIdentitySource, probeSpiffeId } from '../evidence/probe/identity.ts';
import { EvidenceStore } from '../evidence/store.ts';
import { Verifier, type VerifierMetrics } from '../evidence/verifier.ts';

export interface PolicyInformers {
  policies: Informer<PolicyObject>;
  pods: Informer<Pod>;
  secrets: Informer<Secret>;
  configMaps: Informer<ConfigMap>;
  networkPolicies: Informer<NetworkPolicy>;
  services: Informer<Service>;
}

export interface PolicySetup {
  controller: Controller;
  jwks: JwksCache;
  enqueueAll: () => void;
  /** Probes what runs (leader only: start when leading, stop when not). */
  verifier: Verifier;
}

export function setupPolicies(deps: {
  client: KubeClient;
  config: OperatorConfig;
  informers: PolicyInformers;
  snapshot: () => CaSnapshot;
  onSnapshotChange: (l: () => void) => void;
  clock: Clock;
  logger: Logger;
  events: EventRecorder;
  runtimeMetrics: RuntimeMetrics;
  metrics: PolicyMetrics;
  verifierMetrics: VerifierMetrics;
}): PolicySetup {
  const { config, informers: inf } = deps;
  const ca = config.jwksCaFile ? [...rootCertificates, readFileSync(config.jwksCaFile, 'utf8')] : undefined;
  const dispatcher = new Agent({
    connect: { ...(ca ? { ca } : {}), minVersion: 'TLSv1.2' },
    connections: 16,
  });
  const limits = { maxKeys: config.jwksMaxKeys, minRsaBits: 2048 };
  // The cache notifies the controller, which is built after it.
  const ref: { controller?: Controller } = {};
  const evidence = new EvidenceStore();
  const probePeers = [probeSpiffeId(config.trustDomain, config.namespace)];
  // Bumped by every Service, pod and policy event: the policy controller's mesh directory cache key.
  let meshVersion = 0;
  const jwks = new JwksCache({
    fetch: (uri) =>
      fetchJwks(uri, { dispatcher, timeoutMs: config.jwksTimeoutMs, maxBytes: config.jwksMaxBytes, limits }),
    clock: deps.clock,
    logger: deps.logger,
    onChange: (keys) => {
      for (const k of keys) ref.controller?.enqueue(k);
    },
    onResult: (uri, ok, code) => {
      deps.metrics.jwksFetches.inc({ uri, result: ok ? 'success' : 'failure', code: code ?? '' });
      if (ok) deps.metrics.jwksLastSuccess.set({ uri }, deps.clock.now().getTime() / 1000);
    },
  });
  const c = new Controller({
    name: 'policy',
    logger: deps.logger,
    clock: deps.clock,
    metrics: deps.runtimeMetrics,
    workers: config.workers,
    reconcile: policyReconciler({
      client: deps.client,
      ...inf,
      jwks,
      snapshot: deps.snapshot,
      trustDomain: config.trustDomain,
      clusterDomain: config.clusterDomain,
      meshVersion: () => meshVersion,
      monitoring: parseLabelSelector(config.monitoringNamespaceSelector),
      clock: deps.clock,
      events: deps.events,
      metrics: deps.metrics,
      evidence,
      operatorNamespace: config.namespace,
      probePeers,
    }),
  });
  ref.controller = c;
  const keyOf = (p: KubeObject): string => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
  const namespace = (ns: string): void => {
    for (const p of inf.policies.list(ns)) c.enqueue(keyOf(p));
  };
  // A policy's verdict depends on the other policies of its namespace only through their
  // selectors and ages (conflicts): a new, deleted or re-selected policy wakes the namespace;
  // anything else (its own status write included) only itself.
  inf.policies.onChange((p, type, old) => {
    c.enqueue(keyOf(p));
    callers();
    if (type !== 'update' || !sameJson(p.spec.selector, old?.spec.selector))
      namespace(p.metadata.namespace ?? '');
  });
  const selecting = (pod: Pod | undefined): void => {
    if (!pod) return;
    for (const p of inf.policies.list(pod.metadata.namespace))
      if (matchesSelector(p.spec.selector, pod.metadata.labels)) c.enqueue(keyOf(p));
  };
  inf.pods.onChange((pod, _type, old) => {
    selecting(pod);
    selecting(old);
    callers();
  });
  inf.secrets.onChange((s) => namespace(s.metadata.namespace ?? ''));
  // The mesh directory of a caller depends on Services, their pods and the callees' policies anywhere:
  // any such change re-plans the policies whose egress can reach the mesh (a plan that does not change
  // the compiled config writes nothing, so pod churn within the same service accounts costs no write).
  const callers = (): void => {
    meshVersion++;
    for (const p of inf.policies.list()) if (reachesMesh(p)) c.enqueue(keyOf(p));
  };
  inf.services.onChange(callers);
  // A child names its policy in a label: that policy alone (also when the policy is gone: cleanup).
  const owner = (o: KubeObject): void => {
    const name = o.metadata.labels?.[POLICY_LABEL];
    if (!name) return;
    const policy = inf.policies
      .list(o.metadata.namespace)
      .find((p) => labelValue(p.metadata.name ?? '') === name);
    c.enqueue(`${o.metadata.namespace ?? ''}/${policy?.metadata.name ?? name}`);
  };
  inf.configMaps.onChange(owner);
  inf.networkPolicies.onChange(owner);
  deps.onSnapshotChange(() => {
    for (const p of inf.policies.list()) c.enqueue(keyOf(p));
  });
  const verifier = new Verifier({
    policies: inf.policies,
    pods: inf.pods,
    configMaps: inf.configMaps,
    snapshot: deps.snapshot,
    identity: probeIdentitySource(probePeers[0] ?? '', config.certBackdateMs),
    trustDomain: config.trustDomain,
    sidecarVersion: config.sidecarVersion,
    store: evidence,
    enqueue: (key) => c.enqueue(key),
    clock: deps.clock,
    logger: deps.logger.child({ component: 'prober' }),
    metrics: deps.verifierMetrics,
    bounds: { concurrency: config.probeConcurrency, connectionsPerSecond: config.probeRate },
    periodMs: config.verifyPeriodMs,
    timeoutMs: config.probeTimeoutMs,
    propagationMs: config.probePropagationMs,
    fetch,
  });
  return {
    controller: c,
    verifier,
    jwks,
    enqueueAll: () => {
      for (const p of inf.policies.list()) c.enqueue(keyOf(p));
      // Children of policies deleted while no leader ran.
      for (const cm of inf.configMaps.list()) {
        const owner = cm.metadata.labels?.['acp.dev/policy'];
        if (owner && cm.metadata.labels?.['acp.dev/component'] === 'sidecar-config')
          c.enqueue(`${cm.metadata.namespace ?? ''}/${owner}`);
      }
    },
  };
}
