// Runs one reconciler over a work queue: N workers take keys, call
// reconcile(key) with a logger carrying a reconcile id, requeue after the
// time the reconciler asks for, and on error requeue with backoff (or the
// apiserver's Retry-After). Level-based: a key is a namespace/name, never
// an event. Metrics: duration histogram and outcomes per controller.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage, isAcpError } from '@acp/crds';
import { KubeError } from './errors.ts';
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
  private queueInstance: WorkQueue;
  private readonly o: ControllerOptions;
  private running: Promise<void>[] = [];

  constructor(o: ControllerOptions) {
    this.o = o;
    this.name = o.name;
    this.queueInstance = this.newQueue();
  }

  private newQueue(): WorkQueue {
    return new WorkQueue({
      clock: this.o.clock,
      hooks: {
        depth: (n) => this.o.metrics.queueDepth.set({ controller: this.o.name }, n),
        added: () => this.o.metrics.queueAdds.inc({ controller: this.o.name }),
      },
    });
  }

  get queue(): WorkQueue {
    return this.queueInstance;
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
    this.queueInstance.shutDown();
    await Promise.all(this.running);
    this.running = [];
    // A stopped controller can be started again (leadership regained) with a fresh queue.
    this.queueInstance = this.newQueue();
  }

  private async worker(): Promise<void> {
    const queue = this.queueInstance;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await this.process(queue, key);
      queue.done(key);
    }
  }

  private async process(queue: WorkQueue, key: string): Promise<void> {
    const reconcileId = randomUUID();
    const logger = this.o.logger.child({ controller: this.name, key, reconcileId });
    const end = this.o.metrics.reconcileDuration.startTimer({ controller: this.name });
    try {
      const result = await this.o.reconcile(key, { logger, reconcileId });
      end({ result: 'success' });
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
    } catch (e) {
      const code = isAcpError(e) ? e.code : 'ACP_ERR_INTERNAL';
      end({ result: 'error' });
      this.o.metrics.reconcileErrors.inc({ controller: this.name, code });
      if (code === 'ACP_ERR_NOT_LEADER') return;
      const retryAfterMs = e instanceof KubeError && e.status === 429 ? e.retryAfterMs : undefined;
      const delay = queue.addRateLimited(key, retryAfterMs);
      logger.warn({ err: errorMessage(e), code, retryInMs: delay }, 'reconcile failed; will retry');
    }
  }
}
