// The prober's two bounds: at most `concurrency` workloads probed at once
// (each workload's tries run one after another, so one sidecar sees one
// probe connection at a time), and at most `connectionsPerSecond` new TLS
// connections in total (a gate every connection waits on, spacing them
// evenly). Time comes from the injected clock.
import type { Clock } from '@acp/kube';

export interface ProbeBounds {
  concurrency: number;
  connectionsPerSecond: number;
}

/** Resolves when the next connection may start: one every 1000/rate ms, first one at once. */
export function rateGate(rate: number, clock: Clock): () => Promise<void> {
  const spacing = 1000 / rate;
  let next = -Infinity;
  return () => {
    const now = clock.now().getTime();
    const at = Math.max(now, next);
    next = at + spacing;
    if (at <= now) return Promise.resolve();
    return new Promise((resolve) => clock.setTimer(resolve, at - now));
  };
}

/** Runs fn over items with at most `concurrency` in flight; results in item order. */
export async function runBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return out;
}

/**
 * How long one round takes at most, for `workloads` workloads of `connections` TLS connections
 * each, every connection taking up to `connectionMs`: the rate bound and the concurrency bound,
 * whichever binds (the budget the resync period must cover).
 */
export function roundBudgetMs(
  workloads: number,
  connections: number,
  connectionMs: number,
  b: ProbeBounds,
): { rateBoundMs: number; concurrencyBoundMs: number; roundMs: number } {
  const total = workloads * connections;
  const rateBoundMs = (total / b.connectionsPerSecond) * 1000;
  const concurrencyBoundMs = Math.ceil(workloads / b.concurrency) * connections * connectionMs;
  return { rateBoundMs, concurrencyBoundMs, roundMs: Math.max(rateBoundMs, concurrencyBoundMs) };
}
