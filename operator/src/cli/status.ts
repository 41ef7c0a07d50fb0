// `acp status` (`kubectl acp status`): the fleet at a glance, from what
// the cluster holds. Per ApiCompliancePolicy: its Ready, Compliant and
// Verified (measured) conditions with their reasons, the mode, the workloads it selects and
// injects (its status), and the next certificate renewal among the
// service accounts of the pods it selects (the renew-at / not-after
// annotations of their identity Secrets); and the CA's expiry. Pure: the
// objects read and the time in, the report and its text out (status-io.ts
// does the reading).
import { X509Certificate } from 'node:crypto';
import { findCondition, identitySecretName, type ApiCompliancePolicy, type Condition } from '@acp/crds';
import type { Pod, Secret } from '@acp/kube';
import { splitPemCertificates } from '@acp/pki';
import { identityDemand } from '../identity/demand.ts';
import { ANNOTATIONS } from '../identity/inspect.ts';
import { formatTable } from './format.ts';

/** What one namespace holds, or why it could not be read. */
export interface NamespaceObjects {
  pods: readonly Pod[] | { error: string };
  /** The operator's identity Secrets of the namespace. */
  identitySecrets: readonly Secret[] | { error: string };
}

export type CaInput = { secret: string; certPem: string } | { secret: string; error: string };

export interface StatusInput {
  policies: readonly ApiCompliancePolicy[];
  namespaces: Readonly<Record<string, NamespaceObjects>>;
  ca: CaInput;
  now: Date;
}

export interface ConditionSummary {
  status: string;
  reason: string;
  message: string;
}

export interface IdentityStatus {
  serviceAccount: string;
  secret: string;
  /** ISO times from the Secret's annotations; absent when the Secret is missing. */
  renewAt?: string;
  notAfter?: string;
}

export type Renewal =
  | { kind: 'next'; serviceAccount: string; renewAt: string; notAfter: string | undefined }
  | { kind: 'none'; why: string }
  | { kind: 'unknown'; why: string };

export interface PolicyRow {
  namespace: string;
  name: string;
  mode: string;
  ready: ConditionSummary | undefined;
  compliant: ConditionSummary | undefined;
  /** What the operator's prober measured (Verified: True, False on drift, Unknown until measured). */
  verified: ConditionSummary | undefined;
  workloads: { selected: number; injected: number } | undefined;
  identities: IdentityStatus[];
  /** Service accounts whose identity Secret does not exist (yet). */
  missingIdentities: string[];
  nextRenewal: Renewal;
}

export type CaStatus =
  { secret: string; notAfter: string; expired: boolean } | { secret: string; unknown: string };

export interface StatusReport {
  policies: PolicyRow[];
  ca: CaStatus;
}

const condition = (list: readonly Condition[] | undefined, type: string): ConditionSummary | undefined => {
  const c = findCondition(list, type);
  return c ? { status: c.status, reason: c.reason, message: c.message } : undefined;
};

const isError = (v: readonly unknown[] | { error: string }): v is { error: string } => !Array.isArray(v);

function identitiesOf(policy: ApiCompliancePolicy, objects: NamespaceObjects | undefined, namespace: string) {
  if (!objects) return { why: 'namespace not read' };
  if (isError(objects.pods)) return { why: `pods: ${objects.pods.error}` };
  const demand = identityDemand(namespace, objects.pods, [policy]);
  const accounts = [...demand.keys()].sort();
  if (accounts.length === 0) return { accounts, identities: [], missing: [] };
  if (isError(objects.identitySecrets)) return { why: `secrets: ${objects.identitySecrets.error}` };
  const byName = new Map(objects.identitySecrets.map((s) => [s.metadata.name ?? '', s]));
  const identities: IdentityStatus[] = [];
  const missing: string[] = [];
  for (const sa of accounts) {
    const secret = identitySecretName(sa);
    const found = byName.get(secret);
    if (!found) {
      missing.push(sa);
      continue;
    }
    const a = found.metadata.annotations ?? {};
    const renewAt = a[ANNOTATIONS.renewAt];
    const notAfter = a[ANNOTATIONS.notAfter];
    identities.push({
      serviceAccount: sa,
      secret,
      ...(renewAt ? { renewAt } : {}),
      ...(notAfter ? { notAfter } : {}),
    });
  }
  return { accounts, identities, missing };
}

function nextRenewal(identities: readonly IdentityStatus[], missing: readonly string[]): Renewal {
  const dated = identities
    .filter((i): i is IdentityStatus & { renewAt: string } => i.renewAt !== undefined)
    .sort(
      (a, b) =>
        Date.parse(a.renewAt) - Date.parse(b.renewAt) || a.serviceAccount.localeCompare(b.serviceAccount),
    );
  const first = dated[0];
  if (first) {
    return {
      kind: 'next',
      serviceAccount: first.serviceAccount,
      renewAt: first.renewAt,
      notAfter: first.notAfter,
    };
  }
  if (missing.length > 0) return { kind: 'none', why: `not issued yet (${missing.join(', ')})` };
  return { kind: 'none', why: identities.length > 0 ? 'no renew-at annotation' : 'no selected pods' };
}

function policyRow(policy: ApiCompliancePolicy, input: StatusInput): PolicyRow {
  const namespace = policy.metadata?.namespace ?? '';
  const status = policy.status;
  const ids = identitiesOf(policy, input.namespaces[namespace], namespace);
  const w = status?.workloads;
  return {
    namespace,
    name: policy.metadata?.name ?? '',
    mode: policy.spec.mode ?? 'Enforce',
    ready: condition(status?.conditions, 'Ready'),
    compliant: condition(status?.conditions, 'Compliant'),
    verified: condition(status?.conditions, 'Verified'),
    workloads: w ? { selected: w.selected ?? 0, injected: w.injected ?? 0 } : undefined,
    identities: 'why' in ids ? [] : ids.identities,
    missingIdentities: 'why' in ids ? [] : ids.missing,
    nextRenewal:
      'why' in ids ? { kind: 'unknown', why: ids.why ?? '' } : nextRenewal(ids.identities, ids.missing),
  };
}

function caStatus(ca: CaInput, now: Date): CaStatus {
  if ('error' in ca) return { secret: ca.secret, unknown: ca.error };
  const [leaf] = splitPemCertificates(ca.certPem);
  try {
    const cert = new X509Certificate(leaf ?? '');
    return { secret: ca.secret, notAfter: cert.validToDate.toISOString(), expired: cert.validToDate <= now };
  } catch {
    return { secret: ca.secret, unknown: 'tls.crt does not hold a certificate' };
  }
}

/** The report: policies sorted by namespace and name. */
export function statusReport(input: StatusInput): StatusReport {
  const policies = input.policies
    .map((p) => policyRow(p, input))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { policies, ca: caStatus(input.ca, input.now) };
}

/** A duration as kubectl prints ages: 45s, 12m, 5h12m, 3d4h, 400d. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d >= 10) return `${d}d`;
  if (d > 0) return h > 0 ? `${d}d${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

/** "in 5h12m" for a time ahead, `${past} 3d ago` for one behind. */
export function relative(iso: string, now: Date, past: string): string {
  const delta = Date.parse(iso) - now.getTime();
  if (Number.isNaN(delta)) return iso;
  return delta > 0 ? `in ${formatDuration(delta)}` : `${past} ${formatDuration(-delta)} ago`;
}

const cond = (c: ConditionSummary | undefined): string => (c ? `${c.status} (${c.reason})` : 'Unknown');

function renewalCell(r: Renewal, now: Date): string {
  if (r.kind === 'next') return `${relative(r.renewAt, now, 'overdue since')} (${r.serviceAccount})`;
  return r.kind === 'unknown' ? `unknown: ${r.why}` : `- (${r.why})`;
}

export function formatCa(ca: CaStatus, now: Date): string {
  if ('unknown' in ca) return `CA ${ca.secret}: expiry unknown (${ca.unknown})`;
  return ca.expired
    ? `CA ${ca.secret}: EXPIRED ${relative(ca.notAfter, now, '').trim()} (${ca.notAfter})`
    : `CA ${ca.secret}: expires ${relative(ca.notAfter, now, 'expired')} (${ca.notAfter})`;
}

/**
 * The table people read: one row per policy (the namespace column with -A,
 * as kubectl does), the messages of conditions that are not True, the CA line.
 */
export function formatStatusTable(
  report: StatusReport,
  opts: { now: Date; allNamespaces: boolean; namespace: string | undefined },
): string {
  const ca = formatCa(report.ca, opts.now);
  if (report.policies.length === 0) {
    const where = opts.allNamespaces ? 'any namespace' : `namespace ${opts.namespace ?? ''}`;
    return `No ApiCompliancePolicies found in ${where}.\n\n${ca}\n`;
  }
  const ns = (cells: string[], namespace: string): string[] =>
    opts.allNamespaces ? [namespace, ...cells] : cells;
  const rows = [
    ns(['NAME', 'READY', 'COMPLIANT', 'VERIFIED', 'MODE', 'WORKLOADS', 'NEXT RENEWAL'], 'NAMESPACE'),
    ...report.policies.map((p) =>
      ns(
        [
          p.name,
          cond(p.ready),
          cond(p.compliant),
          cond(p.verified),
          p.mode,
          p.workloads ? `${p.workloads.injected}/${p.workloads.selected}` : '-',
          renewalCell(p.nextRenewal, opts.now),
        ],
        p.namespace,
      ),
    ),
  ];
  // Verified is Unknown until the first probe round, so only its False (drift measured) is a problem.
  const problems = report.policies.flatMap((p) =>
    (
      [
        ['Ready', p.ready, 'True'],
        ['Compliant', p.compliant, 'True'],
        ['Verified', p.verified, 'Unknown'],
      ] as const
    )
      .filter(([, c, fine]) => c !== undefined && c.status !== 'True' && c.status !== fine)
      .map(([type, c]) => `  ${p.namespace}/${p.name} ${type}: ${c?.message ?? ''}`),
  );
  const notes = problems.length > 0 ? `\n${problems.join('\n')}\n` : '';
  return `${formatTable(rows)}\n${notes}\n${ca}\n`;
}

export function formatStatusJson(report: StatusReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
