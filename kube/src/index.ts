// The Kubernetes runtime the operator and the webhook share: where the
// apiserver is (kubeconfig.ts) and the credentials that rotate
// (credentials.ts, exec.ts), the REST client (client.ts) and its typed
// errors, informers, the work queue and controller loop, leader election,
// Events, the health/metrics endpoint, runtime metrics and the one Clock.
// The fake clock for tests is `@acp/kube/testing`.
export * from './backoff.ts';
export * from './client.ts';
export * from './clock.ts';
export * from './controller.ts';
export * from './credentials.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './exec.ts';
export * from './http.ts';
export * from './indexer.ts';
export * from './informer.ts';
export * from './kubeconfig.ts';
export * from './leader.ts';
export * from './manager.ts';
export * from './metrics.ts';
export * from './resources.ts';
export * from './workqueue.ts';
