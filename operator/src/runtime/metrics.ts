// The operator's runtime metrics (work queues, reconciles, apiserver
// requests, informers, leadership), registered on a registry passed in.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface RuntimeMetrics {
  queueDepth: Gauge<'controller'>;
  queueAdds: Counter<'controller'>;
  reconcileDuration: Histogram<'controller' | 'result'>;
  reconcileErrors: Counter<'controller' | 'code'>;
  apiRequests: Counter<'verb' | 'code'>;
  informerErrors: Counter<'resource'>;
  leader: Gauge;
}

export function createRuntimeMetrics(registry: Registry): RuntimeMetrics {
  const registers = [registry];
  return {
    queueDepth: new Gauge({
      name: 'acp_operator_workqueue_depth',
      help: 'Keys waiting in a controller work queue',
      labelNames: ['controller'],
      registers,
    }),
    queueAdds: new Counter({
      name: 'acp_operator_workqueue_adds_total',
      help: 'Keys added to a controller work queue',
      labelNames: ['controller'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'acp_operator_reconcile_duration_seconds',
      help: 'Time spent in one reconcile',
      labelNames: ['controller', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'acp_operator_reconcile_errors_total',
      help: 'Reconciles that failed, by error code',
      labelNames: ['controller', 'code'],
      registers,
    }),
    apiRequests: new Counter({
      name: 'acp_operator_apiserver_requests_total',
      help: 'Requests to the Kubernetes API by verb and HTTP status',
      labelNames: ['verb', 'code'],
      registers,
    }),
    informerErrors: new Counter({
      name: 'acp_operator_informer_restarts_total',
      help: 'Informer list/watch failures (each followed by a restart)',
      labelNames: ['resource'],
      registers,
    }),
    leader: new Gauge({ name: 'acp_operator_leader', help: '1 while this replica is the leader', registers }),
  };
}
