// What a policy's status and Events say about its measured evidence: the
// status.verification block (bounded: failing and unknown pods first, at
// most MAX_PODS, at most MAX_FAILING pod names per control), and the
// Warning Events that name each pod whose drift (or, without drift, whose
// failing controls) is new since the stored status, so one finding gives
// one Event, not one per round. Pure.
import type { PolicyStatus } from '@acp/crds';
import type { EvidenceReport, EvidenceStatus, WorkloadVerdict } from './evaluate.ts';

export type VerificationStatus = NonNullable<PolicyStatus['verification']>;

export const MAX_PODS = 100;
export const MAX_FAILING = 20;

/** The Event reasons (the drift codes and control ids are in the note). */
export const EVENT_REASONS = { drift: 'WorkloadDrift', failing: 'WorkloadControlsFailing' } as const;

const RANK: Record<EvidenceStatus, number> = { Fail: 0, Unknown: 1, Pass: 2 };

export function verificationStatus(r: EvidenceReport): VerificationStatus {
  const count = (s: EvidenceStatus): number => r.workloads.filter((w) => w.status === s).length;
  const pods = [...r.workloads].sort((a, b) => RANK[a.status] - RANK[b.status] || a.pod.localeCompare(b.pod));
  return {
    ...(r.lastVerified ? { lastVerified: r.lastVerified } : {}),
    workloads: {
      checked: r.workloads.length,
      passed: count('Pass'),
      failed: count('Fail'),
      unknown: count('Unknown'),
    },
    profiles: r.profiles,
    controls: r.controls.map((c) => ({
      ...c,
      evidence: c.evidence.slice(0, 4096),
      failing: c.failing.slice(0, MAX_FAILING),
    })),
    pods: pods.slice(0, MAX_PODS).map((w) => ({
      ...w,
      evidence: w.evidence.slice(0, 4096),
      drift: w.drift.slice(0, 8).map((d) => ({ code: d.code, message: d.message.slice(0, 1024) })),
    })),
    ...(pods.length > MAX_PODS ? { truncatedPods: pods.length - MAX_PODS } : {}),
  };
}

export interface DriftEvent {
  pod: string;
  type: 'Warning';
  reason: string;
  note: string;
}

/** One Warning Event per pod with a drift code, or else a failing control, not in the stored status. */
export function driftEvents(
  previous: VerificationStatus | undefined,
  workloads: readonly WorkloadVerdict[],
  policyName: string,
): DriftEvent[] {
  const stored = new Map((previous?.pods ?? []).map((p) => [p.pod, p]));
  const out: DriftEvent[] = [];
  for (const w of workloads) {
    const before = stored.get(w.pod);
    const codes = new Set((before?.drift ?? []).map((d) => d.code));
    const controls = new Set(before?.failedControls ?? []);
    const note = (text: string): string => `policy ${policyName}: pod ${w.pod}: ${text}`.slice(0, 1024);
    if (w.drift.length > 0) {
      if (w.drift.some((d) => !codes.has(d.code)))
        out.push({
          pod: w.pod,
          type: 'Warning',
          reason: EVENT_REASONS.drift,
          note: note(w.drift.map((d) => `${d.code}: ${d.message}`).join('; ')),
        });
    } else if (w.failedControls.some((c) => !controls.has(c))) {
      out.push({
        pod: w.pod,
        type: 'Warning',
        reason: EVENT_REASONS.failing,
        note: note(`measured failing ${w.failedControls.join(', ')}: ${w.evidence}`),
      });
    }
  }
  return out;
}
