// Compliance evaluation: the controls of PCI-DSS 4.0, HIPAA, SOC 2, GDPR
// and NIST SP 800-52r2 as pure checks over a compiled sidecar config.
export {
  evaluateCompliance,
  evaluateControl,
  profileNames,
  complianceCondition,
  COMPLIANT_REASONS,
  type EvaluateOptions,
} from './evaluate.ts';
export { PROFILE_CONTROLS } from './profiles.ts';
export type {
  ComplianceInput,
  ComplianceReport,
  ControlDefinition,
  ControlResult,
  ControlStatus,
  Finding,
  ProfileSummary,
} from './types.ts';
