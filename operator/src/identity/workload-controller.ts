// Reconciles one workload identity (key: namespace/serviceAccount): gather
// from the caches (pods, policies, the identity Secret) -> planIdentity
// (pure) -> one write (create or replace the Secret with optimistic
// concurrency, or delete it). Emits CertificateIssued, CertificateRenewed,
// CertificateRestored (tampered or unreadable Secret) and
// CertificateIssueFailed, and the expiry metric.
import {
  API_VERSION,
  errorMessage,
  identitySecretName,
  isAcpError,
  KIND,
  spiffeId,
  type ApiCompliancePolicy,
} from '@acp/crds';
import {
  isAlreadyExists,
  resourcePath,
  RESOURCES,
  splitKey,
  type Clock,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type KubeObject,
  type Pod,
  type Reconciler,
  type ReconcileResult,
  type Secret,
} from '@acp/kube';
import type { CaSnapshot } from './ca-state.ts';
import { identityDemand } from './demand.ts';
import { IDENTITY_INDEX, identityKeyOfPod } from './pod-view.ts';
import { inspectIdentitySecret } from './inspect.ts';
import type { IdentityMetrics } from './metrics.ts';
import { planIdentity, type IssueReason } from './plan.ts';
import { identitySecret } from './secret.ts';

export type PolicyObject = ApiCompliancePolicy & KubeObject;

export interface WorkloadControllerDeps {
  client: KubeClient;
  pods: Informer<Pod>;
  policies: Informer<PolicyObject>;
  secrets: Informer<Secret>;
  snapshot: () => CaSnapshot;
  trustDomain: string;
  backdateMs: number;
  clock: Clock;
  events: EventRecorder;
  metrics: IdentityMetrics;
}

const EVENT_REASON: Record<IssueReason, { reason: string; type: 'Normal' | 'Warning' }> = {
  Missing: { reason: 'CertificateIssued', type: 'Normal' },
  Renewal: { reason: 'CertificateRenewed', type: 'Normal' },
  Expired: { reason: 'CertificateRenewed', type: 'Warning' },
  IssuerChanged: { reason: 'CertificateRenewed', type: 'Normal' },
  KeyAlgorithmChanged: { reason: 'CertificateRenewed', type: 'Normal' },
  LifetimeChanged: { reason: 'CertificateRenewed', type: 'Normal' },
  Tampered: { reason: 'CertificateRestored', type: 'Warning' },
};

export function workloadReconciler(deps: WorkloadControllerDeps): Reconciler {
  const policyTarget = (namespace: string, name: string): Parameters<EventRecorder['record']>[0] => {
    const p = deps.policies.get(namespace, name);
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      namespace,
      name,
      ...(p?.metadata.uid ? { uid: p.metadata.uid } : {}),
    };
  };

  return async (key, ctx): Promise<ReconcileResult | undefined> => {
    const { namespace, name: sa } = splitKey(key);
    const snapshot = deps.snapshot();
    const pods = deps.pods.byIndex(IDENTITY_INDEX, key);
    const demand = identityDemand(namespace, pods, deps.policies.list(namespace)).get(sa);
    const secretName = identitySecretName(sa);
    const secret = deps.secrets.get(namespace, secretName);
    const expected = spiffeId(deps.trustDomain, namespace, sa);
    const planFor = (s: Secret | undefined): ReturnType<typeof planIdentity> =>
      planIdentity({
        demand,
        existing: s ? inspectIdentitySecret(s, snapshot.trustedIssuers) : undefined,
        expectedSpiffeId: expected,
        signerFingerprint: snapshot.signerFingerprint,
        trustedFingerprints: snapshot.trustedIssuers.map((c) => c.fingerprint256),
        now: deps.clock.now(),
      });
    const plan = planFor(secret);
    const path = resourcePath(RESOURCES.secret, namespace, secretName);
    if (plan.action === 'none') return undefined;
    if (plan.action === 'delete') {
      await deps.client.delete(path, { resourceVersion: secret?.metadata.resourceVersion ?? '' });
      deps.metrics.certificateExpiry.remove({ namespace, service_account: sa });
      deps.metrics.certificateRenewal.remove({ namespace, service_account: sa });
      ctx.logger.info({ serviceAccount: sa }, 'deleted the identity Secret: no selected pods use it');
      return undefined;
    }
    if (plan.action === 'keep') {
      deps.metrics.certificateExpiry.set({ namespace, service_account: sa }, plan.notAfter.getTime() / 1000);
      deps.metrics.certificateRenewal.set({ namespace, service_account: sa }, plan.renewAt.getTime() / 1000);
      return { requeueAfterMs: Math.max(1000, plan.renewAt.getTime() - deps.clock.now().getTime()) };
    }
    if (!demand) return undefined;
    const target = policyTarget(namespace, demand.policies[0] ?? '');
    if (!snapshot.ready || !snapshot.signer) {
      if (snapshot.reason !== 'CAPending')
        ctx.logger.warn({ reason: snapshot.reason }, 'not issuing: no usable mesh CA');
      return { requeueAfterMs: 30_000 };
    }
    try {
      const issued = await snapshot.signer.issue({
        uriSans: [expected],
        keyAlgorithm: demand.settings.keyAlgorithm,
        lifetimeMs: demand.settings.lifetimeMs,
        backdateMs: deps.backdateMs,
        usages: ['serverAuth', 'clientAuth'],
        now: deps.clock.now(),
      });
      const body = identitySecret({
        namespace,
        serviceAccount: sa,
        spiffeId: expected,
        issued,
        chainPem: snapshot.signer.chainPem,
        bundlePem: snapshot.bundleRootsPem.join(''),
        settings: demand.settings,
        issuerFingerprint: snapshot.signerFingerprint,
        ...(secret?.metadata.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
      });
      const stillNeeded = (live: Secret): boolean => planFor(live).action === 'issue';
      if (!(await writeSecret(deps.client, path, body, secret !== undefined, stillNeeded))) {
        ctx.logger.debug({ serviceAccount: sa }, 'the identity Secret was already current (cache behind)');
        return undefined;
      }
      deps.metrics.issued.inc({ reason: plan.reason, key_algorithm: demand.settings.keyAlgorithm });
      deps.metrics.certificateExpiry.set(
        { namespace, service_account: sa },
        issued.notAfter.getTime() / 1000,
      );
      const e = EVENT_REASON[plan.reason];
      deps.events.record(
        target,
        e.type,
        e.reason,
        'Issue',
        `${expected}: ${plan.reason} (${plan.detail}); valid until ${issued.notAfter.toISOString()}`,
      );
      ctx.logger.info(
        {
          serviceAccount: sa,
          reason: plan.reason,
          detail: plan.detail,
          notAfter: issued.notAfter.toISOString(),
          serial: issued.serialNumber,
        },
        'issued workload certificate',
      );
      const renewIn = issued.notAfter.getTime() - demand.settings.renewBeforeMs - deps.clock.now().getTime();
      return { requeueAfterMs: Math.max(1000, renewIn) };
    } catch (e) {
      const code = isAcpError(e) ? e.code : 'ACP_ERR_INTERNAL';
      if (
        code === 'ACP_ERR_NOT_LEADER' ||
        code === 'ACP_ERR_KUBE_CONFLICT' ||
        code === 'ACP_ERR_KUBE_ALREADY_EXISTS'
      )
        throw e;
      deps.metrics.issueFailures.inc({ code });
      deps.events.record(
        target,
        'Warning',
        'CertificateIssueFailed',
        'Issue',
        `${expected}: ${errorMessage(e)}`,
      );
      throw e;
    }
  };
}

/**
 * One write of the whole Secret: replace (with the cached resourceVersion;
 * a stale cache gets 409 and a retry) or create. When create finds the
 * Secret already there (the cache lags behind our own write, or its labels
 * were removed), the live object decides: if it is fine, nothing is
 * written; otherwise it is replaced.
 */
async function writeSecret(
  client: KubeClient,
  path: string,
  body: Secret,
  cached: boolean,
  stillNeeded: (live: Secret) => boolean,
): Promise<boolean> {
  if (cached) {
    await client.replace(path, body);
    return true;
  }
  try {
    await client.create(path.slice(0, path.lastIndexOf('/')), body);
    return true;
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const live = await client.get<Secret>(path);
    if (!stillNeeded(live)) return false;
    await client.replace(path, {
      ...body,
      metadata: { ...body.metadata, resourceVersion: live.metadata.resourceVersion ?? '' },
    });
    return true;
  }
}

/** The identity keys (namespace/serviceAccount) a pod change affects. */
export function podKeys(pod: Pod, old?: Pod): string[] {
  const keys = new Set([identityKeyOfPod(pod)]);
  if (old) keys.add(identityKeyOfPod(old));
  return [...keys];
}
