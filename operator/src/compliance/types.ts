// The shapes of compliance evaluation: a control (a pure check over the
// compiled sidecar configuration and, where needed, the policy), its
// result, and the report, shaped exactly like the CRD's status.compliance.
import type { ApiCompliancePolicy, ComplianceProfile, SidecarConfig } from '@acp/crds';

export interface ComplianceInput {
  config: SidecarConfig;
  policy: ApiCompliancePolicy;
}

/** What a check found: whether the control holds, and what satisfies or breaks it. */
export interface Finding {
  pass: boolean;
  message: string;
}

export interface ControlDefinition {
  /** The control's id in the standard: 4.2.1, 164.312(e)(1), CC6.1, Art. 32(1)(a), 3.3.1. */
  id: string;
  profile: ComplianceProfile;
  title: string;
  /**
   * Holds only when the sidecar denies what the policy forbids: in Audit
   * mode (would-be denials are only logged) the control fails.
   */
  requiresEnforcement: boolean;
  check(input: ComplianceInput): Finding;
}

export type ControlStatus = 'Pass' | 'Fail';

/** One control's result: an entry of status.compliance.controls. */
export interface ControlResult {
  id: string;
  profile: ComplianceProfile;
  title: string;
  status: ControlStatus;
  message: string;
}

/** One profile's summary: an entry of status.compliance.profiles. */
export interface ProfileSummary {
  name: ComplianceProfile;
  status: ControlStatus;
  passed: number;
  failed: number;
}

/** status.compliance. */
export interface ComplianceReport {
  profiles: ProfileSummary[];
  controls: ControlResult[];
}
