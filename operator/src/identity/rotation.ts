// CA rotation as a pure state machine, resumable from its recorded state:
//   Propagating: a new root exists and is added to every trust bundle;
//                the old CA still issues.
//   (every bundle holds the new root, then the propagation delay passes)
//   Issuing:     the new CA issues; every leaf is reissued from it; both
//                roots stay trusted.
//   (every identity Secret is from the new CA, and no leaf of the old CA
//    can still be valid)
//   complete:    the new root replaces the old one; the old root leaves
//                every bundle.
// The state is kept in the ca-state ConfigMap so a restart resumes.

export interface RotationState {
  phase: 'Propagating' | 'Issuing';
  /** Fingerprint of the new root. */
  next: string;
  startedAt: string;
  /** When every trust bundle was first seen holding the new root. */
  bundledAt?: string;
  switchedAt?: string;
  /** No leaf of the old CA is valid after this. */
  oldValidUntil?: string;
}

export interface RotationInput {
  state: RotationState | undefined;
  /** The user asked for a rotation (annotation on the CA Secret). */
  requested: boolean;
  /** Fingerprint of the prepared new root, when one exists. */
  preparedNext: string | undefined;
  allBundlesHaveNext: boolean;
  allLeavesFromNext: boolean;
  /** The latest notAfter among leaves the old CA signed that are still stored. */
  latestOldLeafNotAfter: Date | undefined;
  /** The longest workload certificate lifetime any policy asks for. */
  maxLifetimeMs: number;
  propagationMs: number;
  now: Date;
}

export type RotationStep =
  | { action: 'none'; state: RotationState | undefined; recheckAfterMs?: number }
  | { action: 'prepare' }
  | { action: 'start'; state: RotationState }
  | { action: 'advance'; state: RotationState; event?: 'Issuing' }
  | { action: 'complete' };

const iso = (d: Date): string => d.toISOString();

function whenBundled(input: RotationInput, state: RotationState): RotationStep {
  const { now } = input;
  if (!input.allBundlesHaveNext) return { action: 'none', state, recheckAfterMs: 2000 };
  if (!state.bundledAt) return { action: 'advance', state: { ...state, bundledAt: iso(now) } };
  const readyAt = Date.parse(state.bundledAt) + input.propagationMs;
  if (now.getTime() < readyAt) return { action: 'none', state, recheckAfterMs: readyAt - now.getTime() };
  // Any leaf of the old CA was issued before now and lives at most maxLifetime (or as stored).
  const bound = now.getTime() + input.maxLifetimeMs;
  const stored = input.latestOldLeafNotAfter?.getTime() ?? 0;
  return {
    action: 'advance',
    state: {
      ...state,
      phase: 'Issuing',
      switchedAt: iso(now),
      oldValidUntil: iso(new Date(Math.max(bound, stored))),
    },
    event: 'Issuing',
  };
}

export function stepRotation(input: RotationInput): RotationStep {
  const { state, now } = input;
  if (!state) {
    if (!input.requested) return { action: 'none', state };
    if (!input.preparedNext) return { action: 'prepare' };
    return {
      action: 'start',
      state: { phase: 'Propagating', next: input.preparedNext, startedAt: iso(now) },
    };
  }
  if (state.phase === 'Propagating') return whenBundled(input, state);
  const until = Date.parse(state.oldValidUntil ?? iso(now));
  if (!input.allLeavesFromNext) return { action: 'none', state, recheckAfterMs: 2000 };
  if (now.getTime() <= until) return { action: 'none', state, recheckAfterMs: until - now.getTime() + 1000 };
  return { action: 'complete' };
}
