#!/usr/bin/env node
// The operator process: parses its configuration, connects to the
// apiserver (KUBECONFIG or in-cluster), starts informers, leader election,
// the controllers and the /metrics /healthz /readyz endpoint, and shuts
// down gracefully on SIGTERM/SIGINT. Everything is created here and passed
// in; nothing below reads globals.
import { hostname } from 'node:os';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { errorMessage } from '@acp/crds';
import { parseOperatorConfig, USAGE } from './config.ts';
import { ensureCrd } from './crd/upgrade.ts';
import {
  createEventRecorder,
  createRuntimeMetrics,
  Informer,
  KubeClient,
  LeaderElector,
  loadConnection,
  Manager,
  RESOURCES,
  startHttpServer,
  systemClock,
  withoutManagedFields,
  type ConfigMap,
  type InformerOptions,
  type KubeObject,
  type Pod,
  type Resource,
  type Secret,
  type Service,
} from '@acp/kube';
import { createIdentityMetrics } from './identity/metrics.ts';
import { IDENTITY_INDEX, identityKeyOfPod, LIVE_PODS_FIELD_SELECTOR, podView } from './identity/pod-view.ts';
import { MANAGED_SELECTOR, setupIdentity } from './identity/setup.ts';
import type { PolicyObject } from './identity/workload-controller.ts';
import type { NetworkPolicy } from './reconcile/children.ts';
import { createPolicyMetrics } from './reconcile/metrics.ts';
import { createVerifierMetrics } from './evidence/verifier.ts';
import { setupPolicies } from './reconcile/setup.ts';
import { setupMesh } from './mesh/controller.ts';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`usage: acp-operator [flags]\n${USAGE}\n`);
    return;
  }
  const config = parseOperatorConfig(process.argv.slice(2), {
    ...process.env,
    HOSTNAME: process.env['HOSTNAME'] ?? `${hostname()}-${process.pid}`,
  });
  const logger = pino({ level: config.logLevel, base: { component: 'operator', identity: config.identity } });
  const clock = systemClock;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'acp_operator_process_' });
  const runtimeMetrics = createRuntimeMetrics(registry);
  const identityMetrics = createIdentityMetrics(registry);
  const policyMetrics = createPolicyMetrics(registry);
  const verifierMetrics = createVerifierMetrics(registry);

  // The kubeconfig's credentials are followed as they rotate (token file, exec plugin, certificate files).
  const base = await KubeClient.connect(loadConnection(config.kubeconfig, process.env), {
    clock,
    onRequest: (verb, code) => runtimeMetrics.apiRequests.inc({ verb, code: String(code) }),
    onProblem: (message) => {
      runtimeMetrics.credentialProblems.inc();
      logger.error({ code: 'ACP_ERR_KUBE_CREDENTIALS' }, message);
    },
    userAgent: `acp-operator/${config.identity}`,
  });

  let elector: LeaderElector | undefined;
  const client = base.withOptions({ canWrite: () => (elector ? elector.canWrite() : true) });
  const watched = new Set(config.watchNamespaces);
  const filter =
    watched.size === 0 ? undefined : (o: KubeObject): boolean => watched.has(o.metadata.namespace ?? '');
  const informer = <T extends KubeObject>(
    resource: Resource,
    opts: Pick<
      InformerOptions<T>,
      'namespace' | 'labelSelector' | 'fieldSelector' | 'transform' | 'indexes'
    > = {},
  ): Informer<T> =>
    new Informer<T>({
      client: base,
      resource,
      logger,
      clock,
      transform: (o) => withoutManagedFields(o as T),
      ...opts,
      ...(filter && !opts.namespace ? { filter } : {}),
      onError: (r) => runtimeMetrics.informerErrors.inc({ resource: r }),
    });
  const informers = {
    // Only live pods, each reduced to the fields the controllers read, indexed by identity.
    pods: informer<Pod>(RESOURCES.pod, {
      fieldSelector: LIVE_PODS_FIELD_SELECTOR,
      transform: podView,
      indexes: { [IDENTITY_INDEX]: (p) => [identityKeyOfPod(p)] },
    }),
    policies: informer<PolicyObject>(RESOURCES.policy),
    secrets: informer<Secret>(RESOURCES.secret, { labelSelector: MANAGED_SELECTOR }),
    configMaps: informer<ConfigMap>(RESOURCES.configMap, { labelSelector: MANAGED_SELECTOR }),
    caSecrets: informer<Secret>(RESOURCES.secret, { namespace: config.namespace }),
    networkPolicies: informer<NetworkPolicy>(RESOURCES.networkPolicy, { labelSelector: MANAGED_SELECTOR }),
    services: informer<Service>(RESOURCES.service),
  };
  const events = createEventRecorder({ client, clock, logger, instance: config.identity });
  const identity = setupIdentity({
    client,
    config,
    informers,
    clock,
    logger,
    events,
    runtimeMetrics,
    metrics: identityMetrics,
  });
  const policies = setupPolicies({
    client,
    config,
    informers,
    snapshot: identity.snapshot,
    onSnapshotChange: identity.onSnapshotChange,
    clock,
    logger,
    events,
    runtimeMetrics,
    metrics: policyMetrics,
    verifierMetrics,
  });
  const mesh = setupMesh({
    client,
    services: informers.services,
    pods: informers.pods,
    policies: informers.policies,
    trustDomain: config.trustDomain,
    clusterDomain: config.clusterDomain,
    metrics: policyMetrics,
    clock,
    logger,
    runtimeMetrics,
    workers: config.workers,
  });

  const manager = new Manager({
    logger,
    informers: Object.values(informers),
    controllers: [...identity.controllers, policies.controller, mesh.controller],
    leaderElection: config.leaderElection,
    resyncPeriodMs: config.resyncPeriodMs,
    clock,
    onLeading: () => {
      if (config.manageCrd) void ensureCrd({ client, logger, version: config.version });
      identity.enqueueAll();
      policies.enqueueAll();
      // Leader only: the probe rounds run while this replica leads (start is idempotent).
      policies.verifier.start();
      mesh.enqueueAll();
    },
  });
  if (config.leaderElection) {
    elector = new LeaderElector({
      client: base,
      namespace: config.namespace,
      name: config.leaseName,
      identity: config.identity,
      clock,
      logger,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      onTransition: (leading) => runtimeMetrics.leader.set(leading ? 1 : 0),
      onStartedLeading: () => manager.startControllers(),
      onStoppedLeading: () => {
        logger.error('leadership lost: controllers stopped; rejoining the election');
        void policies.verifier.stop();
        void manager.stopControllers();
      },
    });
  }
  const server = await startHttpServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    notReady: () => (manager.synced ? undefined : 'caches not synced'),
  });
  const address = server.address();
  logger.info(
    {
      namespace: config.namespace,
      trustDomain: config.trustDomain,
      metrics: typeof address === 'object' ? address?.port : address,
      leaderElection: config.leaderElection,
      resyncPeriodMs: config.resyncPeriodMs,
      clock,
    },
    'operator starting',
  );
  await manager.start();
  elector?.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void policies.verifier
      .stop()
      .then(() => manager.stop(() => elector?.release() ?? Promise.resolve()))
      .then(() => server.close())
      .then(() => policies.jwks.stop())
      .then(() => base.close())
      .finally(() => {
        logger.flush();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`acp-operator: ${errorMessage(e)}\n`);
  process.exit(1);
});
