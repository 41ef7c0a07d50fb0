// The measured-evidence metrics of one policy, set from its evidence
// report after each reconcile: acp_operator_control_verified and
// acp_operator_control_last_verified_timestamp_seconds per profile and
// control, acp_operator_policy_verified per policy.
import type { EvidenceReport, EvidenceStatus } from '../evidence/evaluate.ts';
import { verifiedCondition } from '../evidence/evaluate.ts';
import { PROFILE_CONTROLS } from '../compliance/profiles.ts';
import type { PolicyMetrics } from './metrics.ts';

const VALUE: Record<EvidenceStatus, number> = { Pass: 1, Fail: 0, Unknown: -1 };

export function recordEvidenceMetrics(
  m: PolicyMetrics,
  namespace: string,
  policy: string,
  r: EvidenceReport,
): void {
  for (const c of r.controls) {
    const labels = { namespace, policy, profile: c.profile, control: c.id };
    m.controlVerified.set(labels, VALUE[c.status]);
    if (c.lastVerified) m.controlLastVerified.set(labels, Date.parse(c.lastVerified) / 1000);
  }
  const v = verifiedCondition(r, 0).status;
  m.verified.set({ namespace, policy }, v === 'True' ? 1 : v === 'False' ? 0 : -1);
}

export function forgetEvidenceMetrics(m: PolicyMetrics, namespace: string, policy: string): void {
  for (const controls of Object.values(PROFILE_CONTROLS))
    for (const c of controls) {
      const labels = { namespace, policy, profile: c.profile, control: c.id };
      m.controlVerified.remove(labels);
      m.controlLastVerified.remove(labels);
    }
  m.verified.remove({ namespace, policy });
}
