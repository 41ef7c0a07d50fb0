// The per-key constraint model the policy validator reasons with over
// label selectors (pods are matched by the one matcher in @acp/crds):
// whether a selector can match any pod, whether one selector contains
// another, and a witness label set two selectors share. Exact for the
// selector language, because its requirements are independent per key.
// Pure.
import { requirements, type LabelSelector, type Labels, type SelectorRequirement } from '@acp/crds';

export type { LabelSelector };

type Operator = SelectorRequirement['operator'];
type Requirement = SelectorRequirement;

export function isEmptySelector(selector: LabelSelector): boolean {
  return requirements(selector).length === 0;
}

/** What a conjunction of requirements says about one label key. */
export interface KeyConstraint {
  mustExist: boolean;
  mustNotExist: boolean;
  /** The value must be one of these (intersection of every In); undefined: any value. */
  allowed: Set<string> | undefined;
  /** The value must not be one of these (union of every NotIn). */
  forbidden: Set<string>;
}

const unconstrained = (): KeyConstraint => ({
  mustExist: false,
  mustNotExist: false,
  allowed: undefined,
  forbidden: new Set(),
});

function intersect(a: Set<string> | undefined, b: readonly string[]): Set<string> {
  return new Set(a === undefined ? b : b.filter((v) => a.has(v)));
}

export function constraints(reqs: readonly Requirement[]): Map<string, KeyConstraint> {
  const out = new Map<string, KeyConstraint>();
  for (const r of reqs) {
    const c = out.get(r.key) ?? unconstrained();
    out.set(r.key, c);
    if (r.operator === 'In') {
      c.mustExist = true;
      c.allowed = intersect(c.allowed, r.values ?? []);
    } else if (r.operator === 'NotIn') {
      for (const v of r.values ?? []) c.forbidden.add(v);
    } else if (r.operator === 'Exists') {
      c.mustExist = true;
    } else {
      c.mustNotExist = true;
    }
  }
  return out;
}

/** The values a key may take under the constraint; undefined: all but `forbidden`. */
function possibleValues(c: KeyConstraint): string[] | undefined {
  return c.allowed === undefined ? undefined : [...c.allowed].filter((v) => !c.forbidden.has(v));
}

/** Why no label set satisfies the constraint on `key`, or undefined when one does. */
export function unsatisfiable(key: string, c: KeyConstraint): string | undefined {
  if (c.mustExist && c.mustNotExist) {
    return `label "${key}" is required to exist and required not to exist`;
  }
  const possible = possibleValues(c);
  if (possible !== undefined && possible.length === 0) {
    if (c.allowed?.size === 0) return `label "${key}" would need a value that is in two disjoint sets`;
    return `every value label "${key}" may take (${[...(c.allowed ?? [])].join(', ')}) is also excluded`;
  }
  return undefined;
}

/** The first reason the selector can match no label set at all, or undefined. */
export function whyUnsatisfiable(selector: LabelSelector): string | undefined {
  for (const [key, c] of constraints(requirements(selector))) {
    const why = unsatisfiable(key, c);
    if (why) return why;
  }
  return undefined;
}

function implies(c: KeyConstraint, r: Requirement): boolean {
  const possible = possibleValues(c);
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return c.mustExist && possible !== undefined && possible.every((v) => values.includes(v));
    case 'NotIn':
      return (
        c.mustNotExist ||
        (possible !== undefined
          ? possible.every((v) => !values.includes(v))
          : values.every((v) => c.forbidden.has(v)))
      );
    case 'Exists':
      return c.mustExist;
    case 'DoesNotExist':
      return c.mustNotExist;
  }
}

/**
 * True when every label set `inner` matches is also matched by `outer`
 * (inner is contained in outer). Assumes `inner` is satisfiable.
 */
export function contains(outer: LabelSelector, inner: LabelSelector): boolean {
  const c = constraints(requirements(inner));
  return requirements(outer).every((r) => implies(c.get(r.key) ?? unconstrained(), r));
}

function freshValue(forbidden: ReadonlySet<string>): string {
  for (let i = 0; ; i++) {
    const v = i === 0 ? 'x' : `x${i}`;
    if (!forbidden.has(v)) return v;
  }
}

/** A label set both selectors match, or undefined when they are disjoint. */
export function sharedWitness(a: LabelSelector, b: LabelSelector): Record<string, string> | undefined {
  const merged = constraints([...requirements(a), ...requirements(b)]);
  const labels: Record<string, string> = {};
  for (const [key, c] of merged) {
    if (unsatisfiable(key, c)) return undefined;
    if (!c.mustExist) continue;
    labels[key] = possibleValues(c)?.sort()[0] ?? freshValue(c.forbidden);
  }
  return labels;
}

/** `{app: a, tier: web}` as `app=a,tier=web` (or `no labels`). */
export function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(',') : 'no labels';
}

const OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

function toRequirement(v: unknown): Requirement | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { key, operator, values } = v as Record<string, unknown>;
  if (typeof key !== 'string' || typeof operator !== 'string' || !OPERATORS.has(operator)) return undefined;
  if (values === undefined || values === null) return { key, operator: operator as Operator };
  if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) return undefined;
  return { key, operator: operator as Operator, values };
}

/** A selector read from untrusted JSON, or undefined when it is not one. */
export function toSelector(v: unknown): LabelSelector | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const { matchLabels, matchExpressions } = v as Record<string, unknown>;
  const out: LabelSelector = {};
  if (matchLabels !== undefined && matchLabels !== null) {
    if (typeof matchLabels !== 'object' || Array.isArray(matchLabels)) return undefined;
    if (!Object.values(matchLabels).every((x) => typeof x === 'string')) return undefined;
    out.matchLabels = matchLabels as Record<string, string>;
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return undefined;
    const reqs = matchExpressions.map(toRequirement);
    if (!reqs.every((r) => r !== undefined)) return undefined;
    out.matchExpressions = reqs;
  }
  return out;
}
