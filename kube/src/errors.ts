// Typed errors of the Kubernetes API: status, reason and Retry-After, so
// controllers can tell a conflict from a missing object from throttling.
import { AcpError } from '@acp/crds';

export class KubeError extends AcpError {
  readonly status: number;
  readonly reason: string;
  readonly retryAfterMs: number | undefined;

  constructor(status: number, reason: string, message: string, retryAfterMs?: number) {
    super(
      `ACP_ERR_KUBE_${reason ? reason.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : status}`,
      message,
      { status, reason },
    );
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeError && e.status === 409;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof KubeError && e.status === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => e instanceof KubeError && e.status === 410;

/** Seconds or an HTTP date in Retry-After, as milliseconds. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
