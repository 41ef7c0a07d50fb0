// The certificate part of a policy's status, as a pure function of the
// caches: the CertificatesReady condition and status.certificates (service
// accounts with a current certificate, next renewal, earliest expiry,
// trust bundle). The policy controller writes it with the rest of the
// status, in one write.
import { spiffeId, TRUST_BUNDLE_CONFIGMAP, type ConditionInput, type PolicyStatus } from '@acp/crds';
import type { Pod, Secret } from '@acp/kube';
import type { CaSnapshot } from './ca-state.ts';
import { identityDemand } from './demand.ts';
import { inspectIdentitySecret, type InspectedIdentity } from './inspect.ts';
import { renewAt } from './plan.ts';
import type { PolicyObject } from './workload-controller.ts';

export interface CertificateStatus {
  condition: ConditionInput;
  certificates: NonNullable<PolicyStatus['certificates']>;
  requeueAfterMs: number | undefined;
}

interface Inputs {
  policy: PolicyObject;
  pods: readonly Pod[];
  policies: readonly PolicyObject[];
  secret: (sa: string) => Secret | undefined;
  snapshot: CaSnapshot;
  trustDomain: string;
  now: Date;
}

function isCurrent(v: InspectedIdentity | undefined, expectedId: string, now: Date): v is InspectedIdentity {
  return (
    v !== undefined &&
    v.issuerFingerprint !== undefined &&
    v.notAfter > now &&
    v.spiffeIds.length === 1 &&
    v.spiffeIds[0] === expectedId
  );
}

function conditionFor(
  snapshot: CaSnapshot,
  total: number,
  pending: string[],
  generation: number,
): ConditionInput {
  const base = { type: 'CertificatesReady', observedGeneration: generation } as const;
  if (!snapshot.ready && pending.length > 0)
    return { ...base, status: 'False', reason: snapshot.reason, message: snapshot.message };
  if (pending.length > 0) {
    const list = [...pending].sort().slice(0, 10).join(', ');
    return {
      ...base,
      status: 'False',
      reason: 'Issuing',
      message: `${pending.length} of ${total} service accounts wait for a certificate: ${list}`,
    };
  }
  if (total === 0)
    return {
      ...base,
      status: 'True',
      reason: 'NoWorkloads',
      message: 'no running pods are selected yet; certificates are issued when they appear',
    };
  return {
    ...base,
    status: 'True',
    reason: 'Issued',
    message: `${total} service accounts have current certificates`,
  };
}

const seconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The certificate status of one policy. Pure. */
export function certificateStatus(i: Inputs): CertificateStatus {
  const ns = i.policy.metadata.namespace ?? '';
  const name = i.policy.metadata.name ?? '';
  const demands = [...identityDemand(ns, i.pods, i.policies).values()].filter((d) =>
    d.policies.includes(name),
  );
  const pending: string[] = [];
  let next: Date | undefined;
  let earliest: Date | undefined;
  for (const d of demands) {
    const secret = i.secret(d.serviceAccount);
    const inspected = secret ? inspectIdentitySecret(secret, i.snapshot.trustedIssuers) : undefined;
    const v = inspected?.ok ? inspected.value : undefined;
    if (!isCurrent(v, spiffeId(i.trustDomain, ns, d.serviceAccount), i.now)) {
      pending.push(d.serviceAccount);
      continue;
    }
    const at = renewAt(v.notAfter, v.serialNumber, d.settings.renewBeforeMs);
    if (!next || at < next) next = at;
    if (!earliest || v.notAfter < earliest) earliest = v.notAfter;
  }
  const certificates: CertificateStatus['certificates'] = {
    serviceAccounts: demands.length - pending.length,
    trustBundle: TRUST_BUNDLE_CONFIGMAP,
    ...(next ? { nextRenewalTime: seconds(next) } : {}),
    ...(earliest ? { earliestExpiry: seconds(earliest) } : {}),
  };
  return {
    condition: conditionFor(i.snapshot, demands.length, pending, i.policy.metadata.generation ?? 0),
    certificates,
    requeueAfterMs: next ? Math.max(1000, next.getTime() - i.now.getTime() + 1000) : undefined,
  };
}
