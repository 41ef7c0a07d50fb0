// The composition root: wires the cluster view (informers), the serving
// certificate manager, the express app and the HTTPS listener from
// dependencies passed in (KubeConfig, logger, registry, clock). main.ts
// calls it with the real ones; integration tests and the benchmark call it
// in-process.
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage } from '@acp/crds';
import { createK8sCertStore } from './certs/k8s-store.ts';
import { ServingCertManager, type CertStore, type ServingCertificate } from './certs/manager.ts';
import type { WebhookConfig } from './config.ts';
import type { InjectionConfig } from './inject/config.ts';
import { createClusterView, type ClusterView } from './runtime/caches.ts';
import type { Clock } from './runtime/clock.ts';
import { createMetrics } from './runtime/metrics.ts';
import { addProbes, createApp, listenHttps, type HttpsListener } from './server.ts';

export interface WebhookDeps {
  kc: KubeConfig;
  log: Logger;
  registry: Registry;
  clock: Clock;
  config: WebhookConfig;
  injection: InjectionConfig;
  /** Defaults to the Secret + webhook configurations of `config`. */
  certStore?: CertStore;
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
    await new Promise<void>((resolve) => deps.clock.after(delay, resolve));
  }
}

export async function startWebhook(deps: WebhookDeps): Promise<RunningWebhook> {
  const { config, log, registry, clock } = deps;
  const metrics = createMetrics(registry);
  const view = createClusterView({
    kc: deps.kc,
    log,
    clock,
    onRestart: (resource) => metrics.informerRestarts.inc({ resource }),
  });
  view.start();
  const tls: { listener?: HttpsListener } = {};
  const certificates = new ServingCertManager({
    store:
      deps.certStore ??
      createK8sCertStore({
        kc: deps.kc,
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
    const probes = express();
    addProbes(probes, { notReady, registry });
    metricsServer = createHttpServer(probes);
    await new Promise<void>((resolve) => metricsServer?.listen(config.metricsPort, config.host, resolve));
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
    },
  };
}
