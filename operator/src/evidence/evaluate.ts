// Measured compliance: every control of the policy's profiles judged on
// each probed workload (the same control definitions as status.compliance,
// over the configuration measured on that workload), aggregated per
// control and profile, and the Verified condition. Per workload: a probe
// that could not measure is Unknown; a workload that drifts from what was
// compiled (not injected, stale config, old sidecar, wrong or expired
// certificate, HSTS missing) fails every control; otherwise each control's
// own check decides. Per control: Fail when any workload fails, Unknown
// when none fails but some could not be measured (or none was), Pass when
// every workload passed. lastVerified of a control is the OLDEST probe it
// rests on, so no control claims more recent evidence than it has. Pure.
import type { ApiCompliancePolicy, ComplianceProfile, ConditionInput, SidecarConfig } from '@acp/crds';
import { evaluateControl, profileNames } from '../compliance/evaluate.ts';
import { PROFILE_CONTROLS } from '../compliance/profiles.ts';
import { workloadDrift, type Drift, type Expected } from './integrity.ts';
import { measuredConfig } from './measured-config.ts';
import type { WorkloadObservation } from './observation.ts';

export type EvidenceStatus = 'Pass' | 'Fail' | 'Unknown';

export interface WorkloadVerdict {
  pod: string;
  serviceAccount: string;
  status: EvidenceStatus;
  lastVerified: string;
  /** What was measured, in words (or why it could not be). */
  evidence: string;
  drift: Drift[];
  /** `<profile> <id>` of each control that fails on this workload. */
  failedControls: string[];
  configHash?: string;
  sidecarVersion?: string;
  spiffeId?: string;
}

export interface ControlEvidence {
  id: string;
  profile: ComplianceProfile;
  title: string;
  status: EvidenceStatus;
  lastVerified?: string;
  checked: number;
  passed: number;
  failed: number;
  unknown: number;
  evidence: string;
  /** Pods on which the control fails. */
  failing: string[];
}

export interface ProfileEvidence {
  name: ComplianceProfile;
  status: EvidenceStatus;
  passed: number;
  failed: number;
  unknown: number;
}

export interface EvidenceReport {
  lastVerified?: string;
  profiles: ProfileEvidence[];
  controls: ControlEvidence[];
  workloads: WorkloadVerdict[];
}

export interface EvidenceInput {
  policy: ApiCompliancePolicy;
  /** The configuration the operator compiled for the policy. */
  compiled: SidecarConfig;
  expected: Expected;
  observations: readonly WorkloadObservation[];
  now: Date;
}

interface Cell {
  status: EvidenceStatus;
  message: string;
}

export const controlKey = (c: { profile: string; id: string }): string => `${c.profile} ${c.id}`;

function describe(o: WorkloadObservation): string {
  const t = o.tls;
  if (!t) return o.injected ? '' : 'no sidecar';
  const versions = Object.entries(t.versions)
    .map(([v, ok]) => `${v} ${ok ? 'accepted' : 'refused'}`)
    .join(', ');
  const refused = t.suites.filter((s) => !s.accepted).map((s) => s.name);
  const accepted = t.suites.filter((s) => s.accepted).map((s) => s.name);
  return [
    versions,
    `suites accepted: ${accepted.join(' ') || 'none'}`,
    `refused: ${refused.join(' ') || 'none'}`,
    `handshake without client certificate ${t.anonymousServed ? 'served' : 'refused'}`,
    `serves ${t.certificate.spiffeId} until ${t.certificate.notAfter}`,
    `HSTS ${t.hsts ?? 'absent'}`,
    `config ${(o.sidecar?.configHash ?? '').slice(0, 12)}, sidecar ${o.sidecar?.version ?? ''}`,
  ].join('; ');
}

const earliest = (a: string | undefined, b: string): string => (a === undefined || b < a ? b : a);

function aggregate(cells: readonly Cell[]): EvidenceStatus {
  if (cells.some((c) => c.status === 'Fail')) return 'Fail';
  if (cells.length === 0 || cells.some((c) => c.status === 'Unknown')) return 'Unknown';
  return 'Pass';
}

function controlEvidence(pods: readonly string[], cells: readonly Cell[]): string {
  if (cells.length === 0) return 'no injected workload was probed';
  const pick = (s: EvidenceStatus): number => cells.findIndex((c) => c.status === s);
  const count = (s: EvidenceStatus): number => cells.filter((c) => c.status === s).length;
  const status = aggregate(cells);
  const i = pick(status === 'Pass' ? 'Pass' : status);
  const where = status === 'Pass' ? `measured on ${cells.length} workload(s)` : `on ${pods[i] ?? ''}`;
  return `${cells[i]?.message ?? ''} (${where}; ${count(status)} of ${cells.length} ${status})`;
}

export function evaluateEvidence(input: EvidenceInput): EvidenceReport {
  const { policy, compiled, expected, observations, now } = input;
  const controls = profileNames(policy).flatMap((p) => PROFILE_CONTROLS[p]);
  const drifts = observations.map((o) => (o.failure ? [] : workloadDrift(o, expected, now)));
  const grid: Cell[][] = observations.map((o, w) => {
    const drift = drifts[w] ?? [];
    if (o.failure) return controls.map(() => ({ status: 'Unknown', message: o.failure?.message ?? '' }));
    if (drift.length > 0)
      return controls.map(() => ({ status: 'Fail', message: drift.map((d) => d.message).join('; ') }));
    if (!o.tls) return controls.map(() => ({ status: 'Unknown', message: `pod ${o.pod} was not measured` }));
    const measured = measuredConfig(compiled, o.tls);
    return controls.map((c) => {
      const r = evaluateControl(c, measured, policy);
      return { status: r.status, message: r.message };
    });
  });
  const pods = observations.map((o) => o.pod);
  const controlResults = controls.map((c, i): ControlEvidence => {
    const cells = grid.map((row) => row[i] as Cell);
    const n = (s: EvidenceStatus): number => cells.filter((x) => x.status === s).length;
    const oldest = observations.reduce<string | undefined>((a, o) => earliest(a, o.at), undefined);
    return {
      id: c.id,
      profile: c.profile,
      title: c.title,
      status: aggregate(cells),
      ...(oldest ? { lastVerified: oldest } : {}),
      checked: cells.length,
      passed: n('Pass'),
      failed: n('Fail'),
      unknown: n('Unknown'),
      evidence: controlEvidence(pods, cells),
      failing: pods.filter((_, w) => cells[w]?.status === 'Fail'),
    };
  });
  const workloads = observations.map((o, w): WorkloadVerdict => {
    const row = grid[w] ?? [];
    const drift = drifts[w] ?? [];
    const failedControls = controls.filter((_, i) => row[i]?.status === 'Fail').map(controlKey);
    const status: EvidenceStatus = o.failure
      ? 'Unknown'
      : drift.length > 0 || failedControls.length > 0
        ? 'Fail'
        : o.tls || !o.injected
          ? 'Pass'
          : 'Unknown';
    return {
      pod: o.pod,
      serviceAccount: o.serviceAccount,
      status,
      lastVerified: o.at,
      evidence: o.failure ? `${o.failure.code}: ${o.failure.message}` : describe(o),
      drift,
      failedControls,
      ...(o.sidecar ? { configHash: o.sidecar.configHash, sidecarVersion: o.sidecar.version } : {}),
      ...(o.tls ? { spiffeId: o.tls.certificate.spiffeId } : {}),
    };
  });
  const profiles = profileNames(policy).map((name): ProfileEvidence => {
    const own = controlResults.filter((c) => c.profile === name);
    const n = (s: EvidenceStatus): number => own.filter((c) => c.status === s).length;
    const status: EvidenceStatus = n('Fail') > 0 ? 'Fail' : n('Unknown') > 0 ? 'Unknown' : 'Pass';
    return { name, status, passed: n('Pass'), failed: n('Fail'), unknown: n('Unknown') };
  });
  const last = observations.reduce<string | undefined>(
    (a, o) => (a === undefined || o.at > a ? o.at : a),
    undefined,
  );
  return { ...(last ? { lastVerified: last } : {}), profiles, controls: controlResults, workloads };
}

export const VERIFIED_REASONS = {
  verified: 'Verified',
  drift: 'Drift',
  failing: 'ControlsFailing',
  probeFailed: 'ProbeFailed',
  noWorkloads: 'NoWorkloads',
  notYet: 'NotYetVerified',
} as const;

/** The Verified condition: what the probes measured, not what the policy says. */
export function verifiedCondition(r: EvidenceReport | undefined, observedGeneration: number): ConditionInput {
  const base = { type: 'Verified', observedGeneration } as const;
  if (!r)
    return {
      ...base,
      status: 'Unknown',
      reason: VERIFIED_REASONS.notYet,
      message: 'no probe round has measured the workloads of this policy yet',
    };
  if (r.workloads.length === 0)
    return {
      ...base,
      status: 'Unknown',
      reason: VERIFIED_REASONS.noWorkloads,
      message: 'no selected pod to measure',
    };
  const drifted = r.workloads.filter((w) => w.drift.length > 0);
  if (drifted.length > 0)
    return {
      ...base,
      status: 'False',
      reason: VERIFIED_REASONS.drift,
      message: `${drifted.length} of ${r.workloads.length} workloads differ from what was compiled: ${drifted
        .slice(0, 3)
        .map((w) => w.drift.map((d) => d.message).join('; '))
        .join('; ')}`,
    };
  const failing = r.controls.filter((c) => c.status === 'Fail');
  const bad = r.workloads.filter((w) => w.status === 'Fail');
  if (failing.length > 0 || bad.length > 0)
    return {
      ...base,
      status: 'False',
      reason: VERIFIED_REASONS.failing,
      message: `measured: ${failing.length} of ${r.controls.length} controls fail: ${failing
        .slice(0, 5)
        .map((c) => `${controlKey(c)} on ${c.failing.slice(0, 3).join(', ')}`)
        .join('; ')}`,
    };
  const unknown = r.workloads.filter((w) => w.status === 'Unknown');
  if (unknown.length > 0)
    return {
      ...base,
      status: 'Unknown',
      reason: VERIFIED_REASONS.probeFailed,
      message: `${unknown.length} of ${r.workloads.length} workloads could not be measured: ${unknown
        .slice(0, 3)
        .map((w) => `${w.pod}: ${w.evidence}`)
        .join('; ')}`,
    };
  return {
    ...base,
    status: 'True',
    reason: VERIFIED_REASONS.verified,
    message: `measured on ${r.workloads.length} workload(s) at ${r.lastVerified ?? ''}: all ${r.controls.length} controls hold`,
  };
}
