// What the CRD's schema and CEL rules cannot say about an
// ApiCompliancePolicy, because it needs the other policies of the
// namespace or reasoning over selectors. Refused (errors):
// - a policy in a namespace the injector never touches;
// - a selector no pod can satisfy, or with a label key/value no pod can carry;
// - a selector that overlaps another policy's in the same namespace, where
//   "overlap" means containment: every pod one selects is also selected by
//   the other (identical selectors, `app=a` vs `app=a,tier=web`, an empty
//   selector vs anything). Then one policy is always contested: refused.
// Warned (admission warnings): selectors that are not nested but can both
// match one pod (with an example label set), an empty selector, Audit
// mode, Permissive mTLS, public paths, egress default Allow. Pure.
import type { PolicySpec } from '@acp/crds';
import {
  contains,
  formatLabels,
  isEmptySelector,
  sharedWitness,
  whyUnsatisfiable,
  type LabelSelector,
} from './selector.ts';
import { labelKeyProblem, labelValueProblem } from './labels.ts';

export interface PolicyView {
  name: string;
  selector: LabelSelector;
}

export interface PolicyCheckInput {
  namespace: string;
  policy: PolicyView & { spec: Partial<PolicySpec> };
  /** The policy before an UPDATE; overlaps it already had are warned about, not refused. */
  previous?: PolicyView;
  /** The other policies of the namespace (the policy itself is ignored by name). */
  others: readonly PolicyView[];
  excludedNamespaces: ReadonlySet<string>;
}

export interface PolicyCheckResult {
  errors: string[];
  warnings: string[];
}

function syntaxErrors(selector: LabelSelector): string[] {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const k = labelKeyProblem(key);
    if (k) errors.push(`spec.selector.matchLabels: key "${key}" ${k}, so no pod can carry it`);
    const v = value === undefined ? undefined : labelValueProblem(value);
    if (v)
      errors.push(`spec.selector.matchLabels["${key}"]: value "${value ?? ''}" ${v}, so no pod can carry it`);
  }
  (selector.matchExpressions ?? []).forEach((r, i) => {
    const k = labelKeyProblem(r.key);
    if (k) errors.push(`spec.selector.matchExpressions[${i}].key: "${r.key}" ${k}, so no pod can carry it`);
    if (r.operator !== 'In') return;
    for (const v of r.values ?? []) {
      const p = labelValueProblem(v);
      if (p) errors.push(`spec.selector.matchExpressions[${i}].values: "${v}" ${p}, so no pod can carry it`);
    }
  });
  return errors;
}

type Overlap = { kind: 'contained'; detail: string } | { kind: 'shared'; detail: string };

function overlapWith(a: LabelSelector, b: LabelSelector, other: string, self: string): Overlap | undefined {
  const aInB = contains(b, a);
  const bInA = contains(a, b);
  if (aInB && bInA) return { kind: 'contained', detail: `it has the same selection as "${other}"` };
  if (aInB)
    return { kind: 'contained', detail: `every pod "${self}" selects is also selected by "${other}"` };
  if (bInA)
    return { kind: 'contained', detail: `every pod "${other}" selects is also selected by "${self}"` };
  const witness = sharedWitness(a, b);
  if (!witness) return undefined;
  return {
    kind: 'shared',
    detail: `a pod labelled ${formatLabels(witness)} would be selected by "${other}" too`,
  };
}

function overlapChecks(input: PolicyCheckInput, result: PolicyCheckResult): void {
  const { policy, previous } = input;
  for (const other of [...input.others].sort((x, y) => x.name.localeCompare(y.name))) {
    if (other.name === policy.name) continue;
    const now = overlapWith(policy.selector, other.selector, other.name, policy.name);
    if (!now) continue;
    const before = previous
      ? overlapWith(previous.selector, other.selector, other.name, policy.name)
      : undefined;
    if (now.kind === 'contained' && before?.kind !== 'contained') {
      result.errors.push(
        `spec.selector overlaps ApiCompliancePolicy "${other.name}": ${now.detail}; ` +
          'a pod must be selected by exactly one policy: narrow one selector (for example with a NotIn expression) or merge the two policies',
      );
    } else {
      result.warnings.push(
        `spec.selector overlaps ApiCompliancePolicy "${other.name}": ${now.detail}; such a pod gets the older policy`,
      );
    }
  }
}

function riskWarnings(spec: Partial<PolicySpec>, namespace: string, selector: LabelSelector): string[] {
  const warnings: string[] = [];
  if (isEmptySelector(selector))
    warnings.push(`spec.selector is empty: the policy selects every pod in namespace ${namespace}`);
  if (spec.mode === 'Audit')
    warnings.push('spec.mode is Audit: would-be denials are logged and counted but allowed');
  if (spec.mtls?.mode === 'Permissive') {
    warnings.push('spec.mtls.mode is Permissive: callers without a client certificate are accepted');
  }
  (spec.jwt?.rules ?? []).forEach((rule, i) => {
    if (rule.public === true) {
      warnings.push(`spec.jwt.rules[${i}] is public: ${rule.paths.join(', ')} need no token`);
    }
  });
  if (spec.egress?.default === 'Allow') {
    warnings.push('spec.egress.default is Allow: the app may call any destination, without mTLS');
  }
  return warnings;
}

/** Checks a created or updated policy against its namespace. Pure. */
export function checkPolicy(input: PolicyCheckInput): PolicyCheckResult {
  const { policy, namespace } = input;
  const result: PolicyCheckResult = { errors: [], warnings: [] };
  if (input.excludedNamespaces.has(namespace)) {
    const names = [...input.excludedNamespaces].sort().join(', ');
    result.errors.push(
      `ApiCompliancePolicy in namespace ${namespace} can never apply: the injector never injects pods in ${names}`,
    );
    return result;
  }
  const syntax = syntaxErrors(policy.selector);
  if (syntax.length > 0) return { errors: syntax, warnings: [] };
  const why = whyUnsatisfiable(policy.selector);
  if (why) {
    result.errors.push(`spec.selector can never match a pod: ${why}`);
    return result;
  }
  overlapChecks(input, result);
  result.warnings.push(...riskWarnings(policy.spec, namespace, policy.selector));
  return result;
}
