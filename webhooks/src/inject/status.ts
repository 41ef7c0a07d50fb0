// The `acp.dev/status` annotation: JSON that says which policy and sidecar
// version a pod was injected with (and, when several policies selected it,
// which ones and why this one won), or why it was skipped. Pure.
import type { SkipReason } from './decide.ts';

export type InjectionStatus =
  | {
      policy: string;
      sidecarVersion: string;
      /** Every policy that selected the pod, winner first; only when there were several. */
      matchedPolicies?: string[];
      /** How the winner was chosen among matchedPolicies. */
      selectedBy?: 'oldest-then-name';
    }
  | { skipReason: SkipReason };

/** Compact JSON with a fixed key order, so the same status gives the same annotation text. */
export function formatStatus(status: InjectionStatus): string {
  if ('skipReason' in status) return JSON.stringify({ skipReason: status.skipReason });
  const out: Record<string, unknown> = { policy: status.policy, sidecarVersion: status.sidecarVersion };
  if (status.matchedPolicies && status.matchedPolicies.length > 1) {
    out['matchedPolicies'] = status.matchedPolicies;
    out['selectedBy'] = status.selectedBy ?? 'oldest-then-name';
  }
  return JSON.stringify(out);
}

/** Reads the annotation back; undefined when absent or not JSON of this shape. */
export function parseStatus(text: string | undefined): InjectionStatus | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o['skipReason'] === 'string') return { skipReason: o['skipReason'] as SkipReason };
    if (typeof o['policy'] === 'string' && typeof o['sidecarVersion'] === 'string') {
      return o as unknown as InjectionStatus;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
