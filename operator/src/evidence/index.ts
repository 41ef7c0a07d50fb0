// Measured compliance evidence: what the prober observed on each workload,
// judged by the same control definitions as status.compliance.
export { evaluateEvidence, verifiedCondition, controlKey, VERIFIED_REASONS } from './evaluate.ts';
export type {
  ControlEvidence,
  EvidenceInput,
  EvidenceReport,
  EvidenceStatus,
  ProfileEvidence,
  WorkloadVerdict,
} from './evaluate.ts';
export { workloadDrift, DRIFT_CODES, type Drift, type DriftCode, type Expected } from './integrity.ts';
export { measuredConfig } from './measured-config.ts';
export * from './observation.ts';
