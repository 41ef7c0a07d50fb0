// Plans one policy's reconcile as a pure function of what the caches hold
// (asynchronous only because compiling parses JWT keys with jose):
// compile (or refuse as InvalidSpec, keeping the previous config in
// force), the children to apply, every status field and condition, and
// the Events worth recording because something changed.
import {
  errorMessage,
  findCondition,
  isAcpError,
  policyConfigMapName,
  setConditions,
  type Condition,
  type ConditionInput,
  type PolicyStatus,
  type SidecarConfig,
} from '@acp/crds';
import { complianceCondition, evaluateCompliance, type ComplianceReport } from '../compliance/index.ts';
import type { CertificateStatus } from '../identity/certificate-status.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';
import type { ConfigMap, Pod } from '@acp/kube';
import { compileSidecarConfig, renderSidecarConfig } from '../policy/index.ts';
import { CONFIG_HASH_ANNOTATION } from '../policy/hash.ts';
import { configMapFor, networkPolicyFor, type LabelSelector, type NetworkPolicy } from './children.ts';
import type { MeshEntry } from '../mesh/directory.ts';
import type { JwksSourceState } from './jwks-cache.ts';
import { evaluateEvidence, verifiedCondition, type EvidenceReport } from '../evidence/evaluate.ts';
import { driftEvents, verificationStatus, type VerificationStatus } from '../evidence/record.ts';
import type { EvidenceEntry } from '../evidence/store.ts';
import { conflictWinners, jwksVerdict, readyCondition, selectedPods, workloads } from './status.ts';

export interface PolicyPlanInput {
  policy: PolicyObject;
  policiesInNamespace: readonly PolicyObject[];
  pods: readonly Pod[];
  jwks: (uri: string) => JwksSourceState | undefined;
  certificates: CertificateStatus;
  existingConfigMap: ConfigMap | undefined;
  trustDomain: string;
  monitoring: LabelSelector;
  now: Date;
  /** The operator's namespace: its prober may reach the admin port (NetworkPolicy). */
  operatorNamespace?: string;
  /** The prober's SPIFFE IDs, compiled into mtls.probePeers (refused by every sidecar). */
  probePeers?: readonly string[];
  /** The last probe round of this policy (leader only; undefined before the first). */
  evidence?: EvidenceEntry;
  /** The mesh directory entries this policy's sidecar may reach (mesh/directory.ts directoryFor). */
  mesh?: MeshEntry[];
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
  /** The pod the Event is about (drift); absent: the policy. */
  pod?: string;
}

export interface PolicyPlan {
  configMap: ConfigMap | undefined;
  networkPolicy: NetworkPolicy | undefined;
  status: PolicyStatus;
  events: PlannedEvent[];
  compliance: ComplianceReport | undefined;
  /** What the probes measured (undefined before the first round). */
  evidence: EvidenceReport | undefined;
  ready: boolean;
  jwksWanted: { uri: string; refreshSeconds: number }[];
}

interface Compiled {
  config?: SidecarConfig;
  rendered?: { json: string; hash: string };
  invalid?: string;
  compileError?: string;
}

async function compile(input: PolicyPlanInput, keys: Record<string, unknown[]>): Promise<Compiled> {
  try {
    const config = await compileSidecarConfig(input.policy, {
      trustDomain: input.trustDomain,
      jwks: keys as never,
      missingJwks: 'empty',
      ...(input.probePeers ? { probePeers: input.probePeers } : {}),
      ...(input.mesh ? { mesh: input.mesh } : {}),
    });
    return { config, rendered: renderSidecarConfig(config) };
  } catch (e) {
    if (isAcpError(e) && e.code === 'ACP_ERR_INVALID_SPEC') return { invalid: e.message };
    return { compileError: `${isAcpError(e) ? e.code : 'error'}: ${errorMessage(e)}` };
  }
}

function transition(before: Condition | undefined, after: ConditionInput): boolean {
  return !before || before.status !== after.status || before.reason !== after.reason;
}

type Lookup = (t: string) => Condition | undefined;

function configEvents(
  prev: Lookup,
  config: ConditionInput | undefined,
  configChanged: boolean,
  hash: string | undefined,
): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  if (config?.status === 'False' && transition(prev('ConfigReady'), config))
    out.push({ type: 'Warning', reason: config.reason, note: config.message });
  if (configChanged && prev('ConfigReady'))
    out.push({
      type: 'Normal',
      reason: 'ConfigUpdated',
      note: `compiled a new sidecar configuration (sha256 ${(hash ?? '').slice(0, 12)})`,
    });
  return out;
}

function readyEvents(prev: Lookup, ready: ConditionInput | undefined): PlannedEvent[] {
  if (!ready || !transition(prev('Ready'), ready)) return [];
  if (ready.reason === 'Conflict') return [{ type: 'Warning', reason: 'Conflict', note: ready.message }];
  if (ready.status === 'True' && prev('Ready'))
    return [{ type: 'Normal', reason: 'PolicyReady', note: ready.message }];
  return [];
}

function jwksEvents(prev: Lookup, jwks: ConditionInput | undefined): PlannedEvent[] {
  if (!jwks) return [];
  const before = prev('JWKSReady');
  if (before && !transition(before, jwks)) return [];
  if (jwks.status === 'True')
    return before ? [{ type: 'Normal', reason: 'JWKSRecovered', note: jwks.message }] : [];
  if (jwks.reason === 'FetchFailed')
    return [{ type: 'Warning', reason: 'JWKSFetchFailed', note: jwks.message }];
  return [];
}

function complianceEvents(prev: Lookup, compliant: ConditionInput | undefined): PlannedEvent[] {
  const before = prev('Compliant');
  if (!compliant || !transition(before, compliant) || compliant.status === 'Unknown') return [];
  if (compliant.status === 'False')
    return [{ type: 'Warning', reason: 'ComplianceFailing', note: compliant.message }];
  return before ? [{ type: 'Normal', reason: 'CompliancePassing', note: compliant.message }] : [];
}

/** Events only for what changed since the stored conditions. */
function eventsFor(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  configChanged: boolean,
  hash: string | undefined,
): PlannedEvent[] {
  const prev: Lookup = (t) => findCondition(previous, t);
  const get = (t: string): ConditionInput | undefined => next.find((c) => c.type === t);
  return [
    ...configEvents(prev, get('ConfigReady'), configChanged, hash),
    ...readyEvents(prev, get('Ready')),
    ...jwksEvents(prev, get('JWKSReady')),
    ...complianceEvents(prev, get('Compliant')),
  ];
}

function configCondition(
  compiled: Compiled,
  previousHash: string | undefined,
  generation: number,
): ConditionInput {
  if (compiled.rendered) {
    return {
      type: 'ConfigReady',
      status: 'True',
      reason: 'Compiled',
      message: `sidecar configuration sha256 ${compiled.rendered.hash.slice(0, 12)} is in force`,
      observedGeneration: generation,
    };
  }
  const kept = previousHash ? '; the previously compiled configuration stays in force' : '';
  return {
    type: 'ConfigReady',
    status: 'False',
    reason: compiled.invalid ? 'InvalidSpec' : 'CompileFailed',
    message: `${compiled.invalid ?? compiled.compileError ?? ''}${kept}`,
    observedGeneration: generation,
  };
}

/** The measured evidence of the last probe round, judged against what was compiled as of that round. */
function measure(input: PolicyPlanInput): {
  report: EvidenceReport | undefined;
  condition: ConditionInput;
  status: VerificationStatus | undefined;
  events: PlannedEvent[];
} {
  const { policy, evidence } = input;
  const generation = policy.metadata.generation ?? 0;
  const previous = policy.status?.verification;
  if (!evidence)
    return {
      report: undefined,
      condition: verifiedCondition(undefined, generation),
      status: previous,
      events: [],
    };
  const report = evaluateEvidence({ policy, ...evidence, now: input.now });
  return {
    report,
    condition: verifiedCondition(report, generation),
    status: verificationStatus(report),
    events: driftEvents(previous, report.workloads, policy.metadata.name ?? ''),
  };
}

function compliantCondition(compliance: ComplianceReport | undefined, generation: number): ConditionInput {
  return compliance
    ? complianceCondition(compliance, generation)
    : {
        type: 'Compliant',
        status: 'Unknown',
        reason: 'NotEvaluated',
        message: 'the policy does not compile',
        observedGeneration: generation,
      };
}

function conflictMessage(winners: Map<string, string[]>): string | undefined {
  if (winners.size === 0) return undefined;
  return [...winners]
    .map(
      ([winner, pods]) =>
        `pods ${pods.slice(0, 5).join(', ')} are governed by policy ${winner}, which takes precedence (older, then by name)`,
    )
    .join('; ');
}

export async function planPolicy(input: PolicyPlanInput): Promise<PolicyPlan> {
  const { policy, now } = input;
  const generation = policy.metadata.generation ?? 0;
  const jwt = policy.spec.jwt;
  const jwksWanted = (jwt?.providers ?? []).flatMap((p) =>
    p.jwksUri ? [{ uri: p.jwksUri, refreshSeconds: p.jwksRefreshSeconds ?? 300 }] : [],
  );
  const verdict = jwksVerdict(jwt, input.jwks, generation);
  const compiled = await compile(input, verdict.keys);
  const w = workloads(selectedPods(policy, input.pods));
  const conflict = conflictMessage(
    conflictWinners(policy, input.policiesInNamespace, selectedPods(policy, input.pods)),
  );
  const compliance = compiled.config ? evaluateCompliance(compiled.config, policy) : undefined;
  const previousHash = input.existingConfigMap?.metadata.annotations?.[CONFIG_HASH_ANNOTATION];
  const hash = compiled.rendered?.hash ?? previousHash;
  const ready = readyCondition({
    generation,
    invalid: compiled.invalid,
    compileError: compiled.compileError,
    conflict,
    jwksMissing: !verdict.allHaveKeys,
    jwksCondition: verdict.condition,
    certificates: input.certificates.condition,
    workloads: w,
    configHash: hash,
  });
  const conditions: ConditionInput[] = [
    configCondition(compiled, previousHash, generation),
    verdict.condition,
    { ...input.certificates.condition, observedGeneration: generation },
    compliantCondition(compliance, generation),
    ready,
  ];
  const measured = measure(input);
  conditions.push(measured.condition);
  const previous = policy.status?.conditions;
  const keptCompliance = compliance
    ? { profiles: compliance.profiles, controls: compliance.controls }
    : policy.status?.compliance;
  const status: PolicyStatus = {
    observedGeneration: generation,
    conditions: setConditions(previous, conditions, now),
    workloads: w,
    certificates: input.certificates.certificates,
    jwks: verdict.status,
    ...(keptCompliance ? { compliance: keptCompliance } : {}),
    ...(measured.status ? { verification: measured.status } : {}),
    ...(hash ? { config: { configMap: policyConfigMapName(policy.metadata.name ?? ''), hash } } : {}),
  };
  const configChanged =
    compiled.rendered !== undefined && previousHash !== undefined && previousHash !== compiled.rendered.hash;
  return {
    configMap: compiled.rendered ? configMapFor(policy, compiled.rendered) : undefined,
    networkPolicy: compiled.rendered
      ? networkPolicyFor(policy, input.monitoring, input.operatorNamespace)
      : undefined,
    status,
    events: [...eventsFor(previous, conditions, configChanged, hash), ...measured.events],
    compliance,
    evidence: measured.report,
    ready: ready.status === 'True',
    jwksWanted,
  };
}
