// Label selectors as ApiCompliancePolicy uses them (matchLabels and
// matchExpressions, all ANDed; an empty selector matches everything), and
// the deterministic winner when several policies select the same pod.
// Shared by the operator and the webhook. Pure.
import type { ApiCompliancePolicy, PolicySelector } from './types.ts';

function requirementHolds(
  e: NonNullable<PolicySelector['matchExpressions']>[number],
  labels: Readonly<Record<string, string>>,
): boolean {
  const has = Object.hasOwn(labels, e.key);
  const inValues = has && (e.values ?? []).includes(labels[e.key] ?? '');
  switch (e.operator) {
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

export function matchesSelector(
  selector: PolicySelector | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  return (selector?.matchExpressions ?? []).every((e) => requirementHolds(e, l));
}

/** Orders policies oldest first, then by name: the first is the winner when several select a pod. */
export function comparePolicyPrecedence(a: ApiCompliancePolicy, b: ApiCompliancePolicy): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** The policies of a namespace that select a pod with these labels, winner first. */
export function selectingPolicies(
  policies: readonly ApiCompliancePolicy[],
  labels: Readonly<Record<string, string>> | undefined,
): ApiCompliancePolicy[] {
  return policies.filter((p) => matchesSelector(p.spec.selector, labels)).sort(comparePolicyPrecedence);
}
