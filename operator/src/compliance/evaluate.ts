// Evaluates a policy's compliance profiles over its compiled sidecar
// configuration: every control of every named profile, Pass or Fail with
// the evidence, shaped exactly like status.compliance; and the Compliant
// condition that summarises it. In Audit mode a control that needs
// enforcement fails, whatever its check finds. Pure.
import type { ApiCompliancePolicy, ComplianceProfile, ConditionInput, SidecarConfig } from '@acp/crds';
import { PROFILE_CONTROLS } from './profiles.ts';
import type { ComplianceReport, ControlDefinition, ControlResult, ProfileSummary } from './types.ts';

export const COMPLIANT_REASONS = {
  allPass: 'AllControlsPass',
  failing: 'ControlsFailing',
  noProfiles: 'NoProfiles',
} as const;

export interface EvaluateOptions {
  /** Evaluate these profiles instead of spec.profiles (acp check --profile). */
  profiles?: readonly ComplianceProfile[];
}

/**
 * One control over one configuration: the compiled one (status.compliance),
 * or the one measured on a running sidecar (evidence/). The only place a
 * control's verdict is decided.
 */
export function evaluateControl(
  control: ControlDefinition,
  config: SidecarConfig,
  policy: ApiCompliancePolicy,
): ControlResult {
  const finding = control.check({ config, policy });
  const audit = control.requiresEnforcement && config.mode === 'Audit';
  const message = audit
    ? `mode is Audit: would-be denials are only logged, so this is not enforced (${finding.message})`
    : finding.message;
  return {
    id: control.id,
    profile: control.profile,
    title: control.title,
    status: finding.pass && !audit ? 'Pass' : 'Fail',
    message,
  };
}

/** The profiles evaluated: spec.profiles (or options.profiles), each once, in order. */
export function profileNames(
  policy: ApiCompliancePolicy,
  options: EvaluateOptions = {},
): ComplianceProfile[] {
  return [...new Set(options.profiles ?? policy.spec.profiles ?? [])];
}

/**
 * Every control of the policy's profiles (spec.profiles, or options.profiles)
 * over the compiled configuration. `policy` must have the schema defaults
 * applied (as read from the apiserver, or as validateEnforceable returns it).
 */
export function evaluateCompliance(
  config: SidecarConfig,
  policy: ApiCompliancePolicy,
  options: EvaluateOptions = {},
): ComplianceReport {
  const names = profileNames(policy, options);
  const controls = names.flatMap((name) =>
    PROFILE_CONTROLS[name].map((c) => evaluateControl(c, config, policy)),
  );
  const profiles = names.map((name): ProfileSummary => {
    const own = controls.filter((c) => c.profile === name);
    const failed = own.filter((c) => c.status === 'Fail').length;
    return { name, status: failed === 0 ? 'Pass' : 'Fail', passed: own.length - failed, failed };
  });
  return { profiles, controls };
}

/** The Compliant condition for a report (set it with setCondition from @acp/crds). */
export function complianceCondition(report: ComplianceReport, observedGeneration?: number): ConditionInput {
  const base = observedGeneration === undefined ? {} : { observedGeneration };
  if (report.profiles.length === 0) {
    return {
      type: 'Compliant',
      status: 'True',
      reason: COMPLIANT_REASONS.noProfiles,
      message: 'spec.profiles is empty: no compliance controls apply',
      ...base,
    };
  }
  const failing = report.controls.filter((c) => c.status === 'Fail');
  if (failing.length === 0) {
    const names = report.profiles.map((p) => p.name).join(', ');
    return {
      type: 'Compliant',
      status: 'True',
      reason: COMPLIANT_REASONS.allPass,
      message: `all ${report.controls.length} controls of ${names} pass`,
      ...base,
    };
  }
  return {
    type: 'Compliant',
    status: 'False',
    reason: COMPLIANT_REASONS.failing,
    message: `${failing.length} of ${report.controls.length} controls fail: ${failing.map((c) => `${c.profile} ${c.id}`).join(', ')}`,
    ...base,
  };
}
