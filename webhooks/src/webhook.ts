// The composition root: wires the cluster view (informers), the serving
// certificate manager, the express app and the HTTPS listener from
// dependencies passed in (the apiserver Connection, logger, registry,
// clock); it owns the KubeClient it makes from the Connection. main.ts
// calls it with the real ones; integration tests and the benchmark call it
// in-process.
import { X509Certificate } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage } from '@acp/crds';
import { createClientMetrics, KubeClient, startHttpServer, type Clock, type Connection } from '@acp/kube';
import { createK8sCertStore } from './certs/k8s-store.ts';
import { ServingCertManager, type CertStore, type ServingCertificate } from './certs/manager.ts';
import type { WebhookConfig } from './config.ts';
import type { InjectionConfig } from './inject/config.ts';
import { createClusterView, type ClusterView } from './runtime/caches.ts';
import { createMetrics } from './runtime/metrics.ts';
import { createApp, listenHttps, type HttpsListener } from './server.ts';

export interface WebhookDeps {
  /** Where the apiserver is and the credentials to use (followed as they rotate). */
  connection: Connection;
  log: Logger;
  registry: Registry;
  clock: Clock;
  config: WebhookConfig;
  injection: InjectionConfig;
  /** Defaults to the Secret + webhook configurations of `config`. */
  certStore?: CertStore;
  /** How long one informer watch lasts (default 300 s; tests shorten it to see re-watches). */
  watchTimeoutSeconds?: number;
}

export interface RunningWebhook {
  port: number;
  metricsPort: number | undefined;
  view: ClusterView;
  certificates: ServingCertManager;
  listener: HttpsListener;
  stop(): Promise<void>;
}

async function firstCertificate(manager: ServingCertManager, deps: WebhookDeps): Promise<ServingCertificate> {
  for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      await manager.reconcile();
    } catch (e) {
      deps.log.warn({ err: errorMessage(e), retryInMs: delay }, 'cannot set up the serving certificate yet');
    }
    const cert = manager.current();
    if (cert) return cert;
    await new Promise<void>((resolve) => deps.clock.setTimer(resolve, delay));
  }
}

export async function startWebhook(deps: WebhookDeps): Promise<RunningWebhook> {
  const { config, log, registry, clock } = deps;
  const metrics = createMetrics(registry);
  const clientMetrics = createClientMetrics(registry, 'acp_webhook');
  const client = await KubeClient.connect(deps.connection, {
    clock,
    userAgent: 'acp-webhook',
    onRequest: (verb, code) => clientMetrics.apiRequests.inc({ verb, code: String(code) }),
    onProblem: (message) => {
      clientMetrics.credentialProblems.inc();
      log.error({ code: 'ACP_ERR_KUBE_CREDENTIALS' }, message);
    },
  });
  const view = createClusterView({
    client,
    log,
    clock,
    onRestart: (resource) => clientMetrics.informerErrors.inc({ resource }),
    ...(deps.watchTimeoutSeconds ? { watchTimeoutSeconds: deps.watchTimeoutSeconds } : {}),
  });
  view.start();
  const tls: { listener?: HttpsListener } = {};
  const certificates = new ServingCertManager({
    store:
      deps.certStore ??
      createK8sCertStore({
        client,
        namespace: config.namespace,
        secretName: config.secretName,
        mutatingConfigurations: config.mutatingConfigurations,
        validatingConfigurations: config.validatingConfigurations,
      }),
    settings: config.certificates,
    clock,
    log,
    onServe: (cert) => {
      tls.listener?.setCertificate(cert);
      metrics.certificateExpiry.set(new X509Certificate(cert.certPem).validToDate.getTime() / 1000);
    },
    onStep: (step) => metrics.certificateSteps.inc({ step }),
  });
  const excludedNamespaces = new Set(config.excludedNamespaces);
  const notReady = (): string | undefined => {
    if (!view.synced()) return 'the policy and namespace caches have not synced yet';
    if (!certificates.current()) return 'no serving certificate yet';
    return undefined;
  };
  const app = createApp({
    log,
    metrics,
    registry,
    notReady,
    lookupNamespace: (ns) => view.lookupNamespace(ns),
    inject: {
      config: deps.injection,
      excludedNamespaces,
      policiesIn: (ns) => view.policiesIn(ns),
      namespaceLabels: (ns) => view.namespaceLabels(ns),
    },
    validate: { excludedNamespaces, policiesIn: (ns) => view.policiesIn(ns) },
  });
  const cert = await firstCertificate(certificates, deps);
  const listener = await listenHttps(app, {
    port: config.port,
    host: config.host,
    cert,
    onConnection: () => metrics.connections.inc(),
  });
  tls.listener = listener;
  certificates.start();
  let metricsServer: Server | undefined;
  if (config.metricsPort > 0) {
    metricsServer = await startHttpServer({
      host: config.host,
      port: config.metricsPort,
      registry,
      notReady,
    });
  }
  log.info({ port: listener.port, namespace: config.namespace }, 'webhook listening');
  return {
    port: listener.port,
    metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : undefined,
    view,
    certificates,
    listener,
    async stop() {
      certificates.stop();
      await Promise.all([
        listener.close(),
        new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve())),
        view.stop(),
      ]);
      await client.close();
    },
  };
}
