// `acp report`'s model, pure: from ApiCompliancePolicy objects as the
// apiserver returns them (with status: `kubectl get acp -o yaml`, or read
// from the cluster), per policy, profile, control and workload: the
// measured result (status.verification), the evidence and the timestamps,
// next to the declared result (status.compliance). A workload's result for
// a control: Unknown when its probe could not measure, Fail when the control
// is in its failedControls (or it drifts), otherwise Pass.
import type { ApiCompliancePolicy } from '@acp/crds';

export type Result = 'Pass' | 'Fail' | 'Unknown';

export interface WorkloadRow {
  workload: string;
  serviceAccount: string;
  result: Result;
  lastVerified: string;
  evidence: string;
}

export interface ControlRow {
  id: string;
  profile: string;
  title: string;
  declared: string;
  declaredMessage: string;
  measured: Result;
  lastVerified: string;
  evidence: string;
  workloads: WorkloadRow[];
}

export interface ProfileRow {
  name: string;
  declared: string;
  measured: Result;
  controls: ControlRow[];
}

export interface PolicyReport {
  namespace: string;
  name: string;
  generation: number;
  verified: { status: string; reason: string; message: string; lastTransitionTime: string } | undefined;
  lastVerified: string;
  profiles: ProfileRow[];
  /** Probed pods the status left out (it keeps at most 100). */
  truncatedPods: number;
}

export interface EvidenceReportDocument {
  generatedAt: string;
  source: string;
  policies: PolicyReport[];
}

type Verification = NonNullable<NonNullable<ApiCompliancePolicy['status']>['verification']>;
type Pod = NonNullable<Verification['pods']>[number];

function workloadRow(pod: Pod, key: string): WorkloadRow {
  const drift = (pod.drift ?? []).map((d) => `${d.code ?? ''}: ${d.message ?? ''}`);
  const result: Result =
    pod.status === 'Unknown' ? 'Unknown' : (pod.failedControls ?? []).includes(key) ? 'Fail' : 'Pass';
  return {
    workload: pod.pod ?? '',
    serviceAccount: pod.serviceAccount ?? '',
    result,
    lastVerified: pod.lastVerified ?? '',
    evidence: drift.length > 0 && result === 'Fail' ? drift.join('; ') : (pod.evidence ?? ''),
  };
}

export function policyReport(p: ApiCompliancePolicy): PolicyReport {
  const v = p.status?.verification;
  const declared = p.status?.compliance;
  const condition = p.status?.conditions?.find((c) => c.type === 'Verified');
  const pods = v?.pods ?? [];
  const profiles = (declared?.profiles ?? []).map((prof): ProfileRow => {
    const controls = (declared?.controls ?? [])
      .filter((c) => c.profile === prof.name)
      .map((c): ControlRow => {
        const m = v?.controls?.find((x) => x.profile === c.profile && x.id === c.id);
        const key = `${c.profile ?? ''} ${c.id ?? ''}`;
        return {
          id: c.id ?? '',
          profile: c.profile ?? '',
          title: c.title ?? '',
          declared: c.status ?? '',
          declaredMessage: c.message ?? '',
          measured: m?.status ?? 'Unknown',
          lastVerified: m?.lastVerified ?? '',
          evidence: m?.evidence ?? 'not measured yet',
          workloads: pods.map((pod) => workloadRow(pod, key)),
        };
      });
    const measured = v?.profiles?.find((x) => x.name === prof.name)?.status ?? 'Unknown';
    return { name: prof.name ?? '', declared: prof.status ?? '', measured, controls };
  });
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    generation: p.metadata?.generation ?? 0,
    verified: condition
      ? {
          status: condition.status,
          reason: condition.reason,
          message: condition.message,
          lastTransitionTime: condition.lastTransitionTime,
        }
      : undefined,
    lastVerified: v?.lastVerified ?? '',
    profiles,
    truncatedPods: v?.truncatedPods ?? 0,
  };
}

export function buildReport(
  policies: readonly ApiCompliancePolicy[],
  generatedAt: string,
  source: string,
): EvidenceReportDocument {
  const sorted = [...policies].sort((a, b) =>
    `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`.localeCompare(
      `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`,
    ),
  );
  return { generatedAt, source, policies: sorted.map(policyReport) };
}

/** Any control measured failing (the exit code of `acp report`). */
export function anyFailing(r: EvidenceReportDocument): boolean {
  return r.policies.some((p) => p.profiles.some((f) => f.controls.some((c) => c.measured === 'Fail')));
}
