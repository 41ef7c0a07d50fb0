// Reconciles the mesh CA (one key: "ca") as gather -> plan -> one write:
// gather reads the CA Secrets, the persisted record and the caches
// (stored leaves, trust bundles, policy lifetimes); planCa (ca-plan.ts,
// pure) decides at most one write and the snapshot; this shell makes that
// write (generating a root's key when the write is a new root), records
// the Events that go with it, sets the CA metrics and publishes the
// snapshot that the identity and trust-bundle controllers read. Events:
// CACreated, CAInvalid, CARotationStarted, CARotationIssuing,
// CARotationCompleted, CAExpiringSoon.
import type { Logger } from 'pino';
import { CA_SECRET_NAME } from '@acp/crds';
import type { Clock, EventRecorder, Reconciler, ReconcileResult } from '@acp/kube';
import { createRootCa } from '@acp/pki';
import type { OperatorConfig } from '../config.ts';
import { planCa, type CaEvent, type CaPlan, type CaWorld, type CaWrite } from './ca-plan.ts';
import { CA_NEXT_SECRET_NAME, caSecretBody, caSourceOf, type CaStore } from './ca-secrets.ts';
import { EMPTY_SNAPSHOT, type CaSnapshot } from './ca-state.ts';
import type { IdentityMetrics } from './metrics.ts';

export interface CaControllerDeps {
  store: CaStore;
  config: OperatorConfig;
  clock: Clock;
  events: EventRecorder;
  metrics: IdentityMetrics;
  /** True when every trust bundle that should exist holds this root. */
  allBundlesHold: (fingerprint: string) => boolean;
  /** Issuer fingerprint and notAfter of every stored identity Secret. */
  storedLeaves: () => { issuer: string; notAfter: Date }[];
  /** The longest workload certificate lifetime policies ask for now. */
  maxLifetimeMs: () => number;
  publish: (snapshot: CaSnapshot) => void;
  logger?: Logger;
}

async function gather(deps: CaControllerDeps): Promise<CaWorld> {
  const { store, config } = deps;
  const userCaName = config.caSecretName;
  const [ca, next, record] = await Promise.all([
    store.getSecret(userCaName ?? CA_SECRET_NAME),
    userCaName ? Promise.resolve(undefined) : store.getSecret(CA_NEXT_SECRET_NAME),
    store.readRecord(),
  ]);
  return {
    now: deps.clock.now(),
    namespace: store.namespace,
    userCaName,
    ca,
    next,
    recordJson: record.json,
    leaves: deps.storedLeaves(),
    bundlesHold: deps.allBundlesHold,
    maxLifetimeMs: deps.maxLifetimeMs(),
    propagationMs: config.bundlePropagationMs,
  };
}

/** Makes the plan's one write. */
async function write(deps: CaControllerDeps, w: CaWrite): Promise<void> {
  const { store, config, clock } = deps;
  switch (w.kind) {
    case 'createRoot': {
      const root = await createRootCa({
        commonName: `acp mesh root (${config.trustDomain})`,
        keyAlgorithm: config.caKeyAlgorithm,
        lifetimeMs: config.caLifetimeMs,
        now: clock.now(),
      });
      await store.createOnce(caSecretBody(store.namespace, w.name, root));
      return;
    }
    case 'promote': {
      await store.replaceSecret(caSecretBody(store.namespace, CA_SECRET_NAME, caSourceOf(w.from), w.to));
      return;
    }
    case 'deleteNext':
      await store.deleteSecret(CA_NEXT_SECRET_NAME);
      return;
    case 'record':
      await store.writeRecord(w.record);
  }
}

export function caReconciler(deps: CaControllerDeps): Reconciler {
  const { store, config } = deps;
  // The last CAInvalid reported, so a broken CA is one Event, not one per reconcile.
  let lastProblem = '';
  const record = (e: CaEvent): void =>
    deps.events.record(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: store.namespace,
        name: config.caSecretName ?? CA_SECRET_NAME,
      },
      e.type,
      e.reason,
      'Reconcile',
      e.note,
    );

  const report = (plan: CaPlan, ctx: { logger: Logger }): void => {
    const problem = plan.problem;
    deps.metrics.caInvalid.set(problem ? 1 : 0);
    if (!problem) {
      lastProblem = '';
      return;
    }
    if (lastProblem !== problem.message) {
      lastProblem = problem.message;
      record({
        type: 'Warning',
        reason: problem.reason,
        note: `${problem.message}; nothing is issued from it and existing certificates are kept`,
      });
      ctx.logger.error({ reason: problem.reason, err: problem.message }, 'mesh CA is not usable');
    }
    deps.publish({ ...EMPTY_SNAPSHOT, reason: problem.reason, message: problem.message });
  };

  return async (_key, ctx): Promise<ReconcileResult> => {
    const plan = planCa(await gather(deps));
    if (plan.write) {
      deps.logger?.debug({ write: plan.write.kind }, 'mesh CA write');
      await write(deps, plan.write);
    }
    for (const e of plan.events) record(e);
    report(plan, ctx);
    if (plan.expiry) {
      deps.metrics.caExpiry.set(plan.expiry.at.getTime() / 1000);
      deps.metrics.caExpiringSoon.set(plan.expiry.soon ? 1 : 0);
    }
    if (plan.snapshot) deps.publish(plan.snapshot);
    return { requeueAfterMs: plan.requeueAfterMs };
  };
}
