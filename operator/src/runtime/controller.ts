// Runs one reconciler over a work queue: N workers take keys, call
// reconcile(key) with a logger carrying a reconcile id, requeue after the
// time the reconciler asks for, and on error requeue with backoff (or the
// apiserver's Retry-After). Level-based: a key is a namespace/name, never
// an event. Metrics: duration histogram and outcomes per controller.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage, isAcpError } from '@acp/crds';
import { KubeError } from '../kube/errors.ts';
import type { Clock } from './clock.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

export interface ReconcileResult {
  /** Reconcile this key again after this long (time-based work). */
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  logger: Logger;
  reconcileId: string;
}

export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | undefined>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  logger: Logger;
  clock: Clock;
  metrics: RuntimeMetrics;
  workers?: number;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly o: ControllerOptions;
  private running: Promise<void>[] = [];

  constructor(o: ControllerOptions) {
    this.o = o;
    this.name = o.name;
    this.queue = new WorkQueue({
      clock: o.clock,
      hooks: {
        depth: (n) => o.metrics.queueDepth.set({ controller: o.name }, n),
        added: () => o.metrics.queueAdds.inc({ controller: o.name }),
      },
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    const n = this.o.workers ?? 2;
    for (let i = 0; i < n; i++) this.running.push(this.worker());
  }

  /** Stops taking keys and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
      this.queue.done(key);
    }
  }

  private async process(key: string): Promise<void> {
    const reconcileId = randomUUID();
    const logger = this.o.logger.child({ controller: this.name, key, reconcileId });
    const end = this.o.metrics.reconcileDuration.startTimer({ controller: this.name });
    try {
      const result = await this.o.reconcile(key, { logger, reconcileId });
      end({ result: 'success' });
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
    } catch (e) {
      const code = isAcpError(e) ? e.code : 'ACP_ERR_INTERNAL';
      end({ result: 'error' });
      this.o.metrics.reconcileErrors.inc({ controller: this.name, code });
      if (code === 'ACP_ERR_NOT_LEADER') return;
      const retryAfterMs = e instanceof KubeError && e.status === 429 ? e.retryAfterMs : undefined;
      const delay = this.queue.addRateLimited(key, retryAfterMs);
      logger.warn({ err: errorMessage(e), code, retryInMs: delay }, 'reconcile failed; will retry');
    }
  }
}
