// The runtime's metrics, registered on a registry passed in under the
// process's prefix (acp_operator, acp_webhook): apiserver requests,
// informer restarts and credential reload problems for every process
// (ClientMetrics); work queues, reconciles and leadership for a process
// that runs controllers (ControllerMetrics).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ClientMetrics {
  apiRequests: Counter<'verb' | 'code'>;
  informerErrors: Counter<'resource'>;
  credentialProblems: Counter;
}

export interface ControllerMetrics {
  queueDepth: Gauge<'controller'>;
  queueAdds: Counter<'controller'>;
  reconcileDuration: Histogram<'controller' | 'result'>;
  reconcileErrors: Counter<'controller' | 'code'>;
  leader: Gauge;
}

export type RuntimeMetrics = ClientMetrics & ControllerMetrics;

export function createClientMetrics(registry: Registry, prefix: string): ClientMetrics {
  const registers = [registry];
  return {
    apiRequests: new Counter({
      name: `${prefix}_apiserver_requests_total`,
      help: 'Requests to the Kubernetes API by verb and HTTP status',
      labelNames: ['verb', 'code'],
      registers,
    }),
    informerErrors: new Counter({
      name: `${prefix}_informer_restarts_total`,
      help: 'Informer list/watch failures (each followed by a restart)',
      labelNames: ['resource'],
      registers,
    }),
    credentialProblems: new Counter({
      name: `${prefix}_credential_reload_failures_total`,
      help: 'Rotated credentials (token file, client certificate, exec plugin) refused; the last good ones stay in use',
      registers,
    }),
  };
}

export function createRuntimeMetrics(registry: Registry, prefix = 'acp_operator'): RuntimeMetrics {
  const registers = [registry];
  return {
    ...createClientMetrics(registry, prefix),
    queueDepth: new Gauge({
      name: `${prefix}_workqueue_depth`,
      help: 'Keys waiting in a controller work queue',
      labelNames: ['controller'],
      registers,
    }),
    queueAdds: new Counter({
      name: `${prefix}_workqueue_adds_total`,
      help: 'Keys added to a controller work queue',
      labelNames: ['controller'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: `${prefix}_reconcile_duration_seconds`,
      help: 'Time spent in one reconcile',
      labelNames: ['controller', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    reconcileErrors: new Counter({
      name: `${prefix}_reconcile_errors_total`,
      help: 'Reconciles that failed, by error code',
      labelNames: ['controller', 'code'],
      registers,
    }),
    leader: new Gauge({ name: `${prefix}_leader`, help: '1 while this replica is the leader', registers }),
  };
}
