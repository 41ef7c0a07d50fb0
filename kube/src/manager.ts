// Runs the operator's parts together: informers (on every replica, so a
// standby takes over with warm caches), leader election, and the
// controllers (on the leader only). Graceful shutdown: stop taking work,
// finish reconciles in flight, release the lease, stop the watches.
import type { Logger } from 'pino';
import type { Controller } from './controller.ts';
import type { Clock } from './clock.ts';
import type { InformerHandle } from './informer.ts';

export interface ManagerOptions {
  logger: Logger;
  informers: InformerHandle[];
  controllers: Controller[];
  /** With leader election the controllers start only when startControllers() is called. */
  leaderElection: boolean;
  /** Called once leading, after caches synced, and on every resync: enqueue everything that exists. */
  onLeading: () => void;
  /** Re-reconcile everything this often while leading (a level-based safety net); 0 disables. */
  resyncPeriodMs?: number;
  clock?: Clock;
}

export class Manager {
  private readonly o: ManagerOptions;
  private started = false;

  constructor(o: ManagerOptions) {
    this.o = o;
  }

  get synced(): boolean {
    return this.o.informers.every((i) => i.isSynced);
  }

  async start(): Promise<void> {
    for (const i of this.o.informers) i.start();
    await Promise.all(this.o.informers.map((i) => i.synced));
    this.o.logger.info({ informers: this.o.informers.length }, 'caches synced');
    if (!this.o.leaderElection) this.startControllers();
  }

  /** Starts the controllers (leader election calls this on becoming leader). */
  startControllers(): void {
    if (this.started) return;
    this.started = true;
    for (const c of this.o.controllers) c.start();
    this.o.onLeading();
    this.scheduleResync();
  }

  private cancelResync: (() => void) | undefined;

  private scheduleResync(): void {
    const period = this.o.resyncPeriodMs ?? 0;
    if (!this.o.clock || period <= 0) return;
    this.cancelResync = this.o.clock.setTimer(() => {
      if (!this.started) return;
      this.o.logger.debug('resync: reconciling everything');
      this.o.onLeading();
      this.scheduleResync();
    }, period);
  }

  /** Leadership lost: stop the controllers (their writes are refused already); startControllers() resumes. */
  async stopControllers(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.cancelResync?.();
    await Promise.all(this.o.controllers.map((c) => c.stop()));
  }

  /** Stops the controllers (waiting for reconciles in flight), then runs `beforeInformersStop`, then stops the watches. */
  async stop(beforeInformersStop?: () => Promise<void>): Promise<void> {
    this.cancelResync?.();
    await Promise.all(this.o.controllers.map((c) => c.stop()));
    await beforeInformersStop?.();
    for (const i of this.o.informers) i.stop();
  }
}
