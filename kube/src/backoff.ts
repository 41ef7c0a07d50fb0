// Exponential backoff with full jitter, per item, as a pure calculation:
// attempt n waits a random time in [base*2^n / 2, base*2^n], capped.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 60_000 };

/** The delay before retry number `failures` (1 = first retry). `random` in [0, 1). */
export function backoffDelay(failures: number, opts: BackoffOptions, random: number): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}
