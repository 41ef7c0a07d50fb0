// Which workload identities are needed: for every service account that
// runs live pods selected by an ApiCompliancePolicy of its namespace, the
// certificate settings of the winning policy (oldest, then name, among
// the policies selecting any of its pods). Pure.
import {
  comparePolicyPrecedence,
  parseDurationMs,
  selectingPolicies,
  type ApiCompliancePolicy,
  type KeyAlgorithm,
} from '@acp/crds';
import type { Pod } from '@acp/kube';

export interface CertSettings {
  keyAlgorithm: KeyAlgorithm;
  lifetimeMs: number;
  renewBeforeMs: number;
}

export interface IdentityDemand {
  namespace: string;
  serviceAccount: string;
  settings: CertSettings;
  /** Names of the policies selecting pods of this service account, winner first. */
  policies: string[];
  pods: number;
}

export function certSettings(policy: ApiCompliancePolicy): CertSettings {
  const c = policy.spec.certificates ?? {};
  const lifetimeMs = parseDurationMs(c.lifetime ?? '24h');
  return {
    keyAlgorithm: c.keyAlgorithm ?? 'ECDSA-P256',
    lifetimeMs,
    renewBeforeMs: c.renewBefore ? parseDurationMs(c.renewBefore) : Math.round(lifetimeMs / 3),
  };
}

/** True for pods that still need an identity: not finished, not being deleted. */
export function isLivePod(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

export const serviceAccountOf = (pod: Pod): string => pod.spec?.serviceAccountName || 'default';

/** The identities one namespace needs, keyed by service account. */
export function identityDemand(
  namespace: string,
  pods: readonly Pod[],
  policies: readonly ApiCompliancePolicy[],
): Map<string, IdentityDemand> {
  const bySa = new Map<string, { policies: ApiCompliancePolicy[]; pods: number }>();
  for (const pod of pods) {
    if (!isLivePod(pod)) continue;
    const selecting = selectingPolicies(policies, pod.metadata.labels);
    if (selecting.length === 0) continue;
    const sa = serviceAccountOf(pod);
    const entry = bySa.get(sa) ?? { policies: [], pods: 0 };
    entry.pods++;
    for (const p of selecting) if (!entry.policies.includes(p)) entry.policies.push(p);
    bySa.set(sa, entry);
  }
  const out = new Map<string, IdentityDemand>();
  for (const [sa, entry] of bySa) {
    const ordered = [...entry.policies].sort(comparePolicyPrecedence);
    const winner = ordered[0];
    if (!winner) continue;
    out.set(sa, {
      namespace,
      serviceAccount: sa,
      settings: certSettings(winner),
      policies: ordered.map((p) => p.metadata?.name ?? ''),
      pods: entry.pods,
    });
  }
  return out;
}
