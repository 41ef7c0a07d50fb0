// The parts of a policy's status other than certificates, as pure
// functions: selected/injected workloads, the conflict verdict (oldest
// policy, then name, governs a pod), the JWKS status per provider, and the
// Ready summary of the other conditions.
import {
  comparePolicyPrecedence,
  matchesSelector,
  hasInjectedSidecar,
  type ConditionInput,
  type JwtSpec,
  type PolicyStatus,
} from '@acp/crds';
import type { Pod } from '@acp/kube';
import { isLivePod, serviceAccountOf } from '../identity/demand.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';
import type { JwksSourceState } from './jwks-cache.ts';

export type Workloads = NonNullable<PolicyStatus['workloads']>;

/** Only the sidecar the webhook injected counts: a pod's own container named acp-sidecar does not. */
const hasSidecar = (pod: Pod): boolean => hasInjectedSidecar(pod.spec);

export function selectedPods(policy: PolicyObject, pods: readonly Pod[]): Pod[] {
  return pods.filter((p) => isLivePod(p) && matchesSelector(policy.spec.selector, p.metadata.labels));
}

export function workloads(selected: readonly Pod[]): Workloads {
  const injected = selected.filter(hasSidecar).length;
  return {
    selected: selected.length,
    injected,
    serviceAccounts: new Set(selected.map(serviceAccountOf)).size,
    summary: `${injected}/${selected.length}`,
  };
}

/** The policies that govern some of this policy's pods instead of it (older, or same age and earlier name). */
export function conflictWinners(
  policy: PolicyObject,
  all: readonly PolicyObject[],
  selected: readonly Pod[],
): Map<string, string[]> {
  const winners = new Map<string, string[]>();
  for (const pod of selected) {
    const governing = all
      .filter((p) => matchesSelector(p.spec.selector, pod.metadata.labels))
      .sort(comparePolicyPrecedence)[0];
    const name = governing?.metadata.name ?? '';
    if (governing && name !== policy.metadata.name)
      winners.set(name, [...(winners.get(name) ?? []), pod.metadata.name ?? '']);
  }
  return winners;
}

export type JwksStatus = NonNullable<PolicyStatus['jwks']>;

export interface JwksVerdict {
  condition: ConditionInput;
  status: JwksStatus;
  /** True when every jwksUri provider has keys (possibly last-good ones). */
  allHaveKeys: boolean;
  keys: Record<string, unknown[]>;
}

const seconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

type ProviderEntry = JwksStatus['providers'] extends (infer E)[] | undefined ? E : never;

function inlineEntry(p: NonNullable<JwtSpec['providers']>[number]): ProviderEntry {
  return {
    name: p.name,
    keyIds: (p.jwks?.keys ?? []).map((k) => (typeof k.kid === 'string' ? k.kid : '')).filter(Boolean),
  };
}

function remoteEntry(name: string, s: JwksSourceState | undefined): ProviderEntry {
  return {
    name,
    keyIds: (s?.keys ?? []).map((k) => k.kid ?? '').filter(Boolean),
    ...(s?.reported ? { lastSuccessfulFetch: seconds(s.reported) } : {}),
    ...(s?.lastError ? { lastError: s.lastError.message } : {}),
  };
}

function jwksCondition(
  providers: number,
  remote: number,
  failing: string[],
  pending: string[],
  generation: number,
): ConditionInput {
  const base = { type: 'JWKSReady', observedGeneration: generation } as const;
  if (remote === 0) {
    return providers > 0
      ? { ...base, status: 'True', reason: 'InlineKeys', message: 'every provider has inline keys' }
      : { ...base, status: 'True', reason: 'NoJWT', message: 'spec.jwt is not set' };
  }
  if (failing.length > 0) {
    const kept =
      pending.length === 0
        ? '; the last good keys stay in force'
        : `; no keys yet for ${pending.join(', ')}: their tokens are refused`;
    return { ...base, status: 'False', reason: 'FetchFailed', message: `${failing.join('; ')}${kept}` };
  }
  if (pending.length > 0)
    return {
      ...base,
      status: 'False',
      reason: 'Fetching',
      message: `waiting for the first fetch of ${pending.join(', ')}`,
    };
  return {
    ...base,
    status: 'True',
    reason: 'KeysFetched',
    message: `keys of ${remote} provider(s) fetched and embedded`,
  };
}

export function jwksVerdict(
  jwt: JwtSpec | undefined,
  state: (uri: string) => JwksSourceState | undefined,
  generation: number,
): JwksVerdict {
  const providers = jwt?.providers ?? [];
  const keys: Record<string, unknown[]> = {};
  const entries: ProviderEntry[] = [];
  const failing: string[] = [];
  const pending: string[] = [];
  for (const p of providers) {
    if (!p.jwksUri) {
      entries.push(inlineEntry(p));
      continue;
    }
    const s = state(p.jwksUri);
    if (s?.keys) keys[p.name] = s.keys;
    else pending.push(p.name);
    if (s?.lastError) failing.push(`${p.name}: ${s.lastError.message}`);
    entries.push(remoteEntry(p.name, s));
  }
  const remote = providers.filter((p) => p.jwksUri).length;
  return {
    condition: jwksCondition(providers.length, remote, failing, pending, generation),
    status: { providers: entries },
    allHaveKeys: pending.length === 0,
    keys,
  };
}

export interface ReadyInputs {
  generation: number;
  invalid: string | undefined;
  compileError: string | undefined;
  conflict: string | undefined;
  jwksMissing: boolean;
  jwksCondition: ConditionInput;
  certificates: ConditionInput;
  workloads: Workloads;
  configHash: string | undefined;
}

export function readyCondition(i: ReadyInputs): ConditionInput {
  const base = { type: 'Ready', observedGeneration: i.generation } as const;
  if (i.invalid) return { ...base, status: 'False', reason: 'InvalidSpec', message: i.invalid };
  if (i.compileError) return { ...base, status: 'False', reason: 'CompileFailed', message: i.compileError };
  if (i.conflict) return { ...base, status: 'False', reason: 'Conflict', message: i.conflict };
  if (i.jwksMissing)
    return { ...base, status: 'False', reason: 'JWKSUnavailable', message: i.jwksCondition.message };
  if (i.certificates.status !== 'True')
    return { ...base, status: 'False', reason: 'CertificatesPending', message: i.certificates.message };
  const w = i.workloads;
  return {
    ...base,
    status: 'True',
    reason: 'InForce',
    message: `config ${(i.configHash ?? '').slice(0, 12)} compiled; ${w.injected} of ${w.selected} selected pods run the sidecar`,
  };
}
