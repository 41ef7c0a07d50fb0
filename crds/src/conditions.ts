// Helpers for standard metav1.Condition lists: find, set (keeping
// lastTransitionTime when the status does not change) and compare while
// ignoring timestamps, so status is written only when it really changed.
// Pure; the clock is a parameter.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export function isConditionTrue(list: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(list, type)?.status === 'True';
}

/** Returns a new list with `input` set; lastTransitionTime changes only when the status does. */
export function setCondition(
  list: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
): Condition[] {
  const existing = findCondition(list, input.type);
  const lastTransitionTime =
    existing && existing.status === input.status
      ? existing.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const next: Condition = { ...input, lastTransitionTime };
  const others = (list ?? []).filter((c) => c.type !== input.type);
  return [...others, next].sort((a, b) => a.type.localeCompare(b.type));
}

/** Sets every input in order. */
export function setConditions(
  list: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  now: Date,
): Condition[] {
  return inputs.reduce<Condition[]>((acc, input) => setCondition(acc, input, now), [...(list ?? [])]);
}

const comparable = (c: Condition): string =>
  JSON.stringify([c.type, c.status, c.reason, c.message, c.observedGeneration ?? null]);

/** True when both lists say the same thing (timestamps ignored, order ignored). */
export function conditionsEquivalent(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const left = (a ?? []).map(comparable).sort();
  const right = (b ?? []).map(comparable).sort();
  return left.length === right.length && left.every((v, i) => v === right[i]);
}
