// Wires the policy controller to the shared informers and the JWKS cache:
// any change in a namespace (a policy, a pod, an identity Secret, a child
// object) enqueues that namespace's policies; a JWKS source that changed
// enqueues its subscribers; a CA change enqueues every policy.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { OperatorConfig } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { ConfigMap, KubeObject, Pod, Secret } from '../kube/resources.ts';
import type { CaSnapshot } from '../identity/ca-state.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';
import type { Clock } from '../runtime/clock.ts';
import { Controller } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Informer } from '../runtime/informer.ts';
import type { RuntimeMetrics } from '../runtime/metrics.ts';
import { parseLabelSelector, type NetworkPolicy } from './children.ts';
import { fetchJwks } from './jwks-fetch.ts';
import { JwksCache } from './jwks-cache.ts';
import type { PolicyMetrics } from './metrics.ts';
import { policyReconciler } from './policy-controller.ts';

export interface PolicyInformers {
  policies: Informer<PolicyObject>;
  pods: Informer<Pod>;
  secrets: Informer<Secret>;
  configMaps: Informer<ConfigMap>;
  networkPolicies: Informer<NetworkPolicy>;
}

export interface PolicySetup {
  controller: Controller;
  jwks: JwksCache;
  enqueueAll: () => void;
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
      monitoring: parseLabelSelector(config.monitoringNamespaceSelector),
      clock: deps.clock,
      events: deps.events,
      metrics: deps.metrics,
    }),
  });
  ref.controller = c;
  const keyOf = (p: KubeObject): string => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
  const namespace = (ns: string): void => {
    for (const p of inf.policies.list(ns)) c.enqueue(keyOf(p));
  };
  inf.policies.onChange((p) => {
    c.enqueue(keyOf(p));
    namespace(p.metadata.namespace ?? '');
  });
  for (const i of [inf.pods, inf.secrets, inf.configMaps, inf.networkPolicies] as Informer<KubeObject>[]) {
    i.onChange((o) => namespace(o.metadata.namespace ?? ''));
  }
  // A deleted policy's children: enqueue the policy the child names so its cleanup runs.
  inf.configMaps.onChange((o, type) => {
    if (
      type !== 'delete' &&
      o.metadata.labels?.['acp.dev/policy'] &&
      !inf.policies.get(o.metadata.namespace, o.metadata.labels['acp.dev/policy'])
    ) {
      c.enqueue(`${o.metadata.namespace ?? ''}/${o.metadata.labels['acp.dev/policy']}`);
    }
  });
  deps.onSnapshotChange(() => {
    for (const p of inf.policies.list()) c.enqueue(keyOf(p));
  });
  return {
    controller: c,
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
