// The one label-selector matcher and the one policy precedence of the
// product, used by the operator (identities, status, conflicts) and by the
// webhook (which policy a pod is injected with), so both always pick the
// same winner. A selector is matchLabels and matchExpressions, all ANDed
// (matchLabels k: v is the requirement `k In [v]`); an empty selector
// matches every pod. When several policies select a pod, the oldest
// creationTimestamp wins, compared as instants; a policy without a
// readable timestamp (not stored by the apiserver yet: only offline)
// counts as the newest; equal instants fall back to the name, in code
// unit order. Pure.
import type { ApiCompliancePolicy, PolicySelector } from './types.ts';

export type LabelSelector = PolicySelector;
export type SelectorRequirement = NonNullable<LabelSelector['matchExpressions']>[number];
export type Labels = Readonly<Record<string, string>>;

/** The selector as a flat list of requirements (matchLabels k=v becomes `k In [v]`). */
export function requirements(selector: LabelSelector | undefined): SelectorRequirement[] {
  const out: SelectorRequirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (value !== undefined) out.push({ key, operator: 'In', values: [value] });
  }
  return [...out, ...(selector?.matchExpressions ?? [])];
}

function requirementHolds(r: SelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  const inValues = has && (r.values ?? []).includes(labels[r.key] ?? '');
  switch (r.operator) {
    case 'In':
      return inValues;
    case 'NotIn':
      return !inValues;
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** True when the labels satisfy every requirement of the selector. */
export function matchesSelector(
  selector: LabelSelector | undefined,
  labels: Labels | null | undefined,
): boolean {
  const l = labels ?? {};
  return requirements(selector).every((r) => requirementHolds(r, l));
}

/** What precedence reads of a policy. */
export interface PrecedenceKey {
  name: string;
  /** RFC 3339 as the apiserver stores it; undefined or unreadable: not stored yet (newest). */
  creationTimestamp: string | undefined;
}

function instant(timestamp: string | undefined): number {
  const t = timestamp === undefined ? NaN : Date.parse(timestamp);
  return Number.isNaN(t) ? Infinity : t;
}

/** Negative when `a` wins over `b`: the older instant, then the smaller name. */
export function comparePrecedence(a: PrecedenceKey, b: PrecedenceKey): number {
  const ta = instant(a.creationTimestamp);
  const tb = instant(b.creationTimestamp);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The precedence key of a stored policy object. */
export function policyPrecedenceKey(p: ApiCompliancePolicy): PrecedenceKey {
  return { name: p.metadata?.name ?? '', creationTimestamp: p.metadata?.creationTimestamp };
}

/** comparePrecedence over policy objects: the first of a sorted list governs the pods both select. */
export function comparePolicyPrecedence(a: ApiCompliancePolicy, b: ApiCompliancePolicy): number {
  return comparePrecedence(policyPrecedenceKey(a), policyPrecedenceKey(b));
}

/** The items whose selector matches the labels, winner first. */
export function rankSelecting<T>(
  items: readonly T[],
  labels: Labels | null | undefined,
  view: (item: T) => { selector: LabelSelector | undefined; key: PrecedenceKey },
): T[] {
  return items
    .map((item) => ({ item, v: view(item) }))
    .filter(({ v }) => matchesSelector(v.selector, labels))
    .sort((a, b) => comparePrecedence(a.v.key, b.v.key))
    .map(({ item }) => item);
}

/** The policies of a namespace that select a pod with these labels, winner first. */
export function selectingPolicies(
  policies: readonly ApiCompliancePolicy[],
  labels: Labels | null | undefined,
): ApiCompliancePolicy[] {
  return rankSelecting(policies, labels, (p) => ({
    selector: p.spec.selector,
    key: policyPrecedenceKey(p),
  }));
}
