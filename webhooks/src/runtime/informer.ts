// A client-node informer that does not stay dead. makeInformer relists on
// 410 Gone and reconnects after watch timeouts, but any other error (the
// apiserver restarting, RBAC, a network blip, the CRD not installed yet)
// emits `error` and stops it. This wrapper restarts it with exponential
// backoff, counts the restarts, and says when the first list has been
// cached (readiness). The cache keeps serving its last contents meanwhile.
import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';

export type CachingInformer<T extends KubernetesObject> = Informer<T> &
  ObjectCache<T> & { latestResourceVersion(): string };

export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** For logs and the restart metric: `apicompliancepolicies`, `namespaces`. */
  resource: string;
  informer: CachingInformer<T>;
  log: Logger;
  clock: Clock;
  onRestart?: (resource: string) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export class ResilientInformer<T extends KubernetesObject> {
  readonly resource: string;
  readonly #informer: CachingInformer<T>;
  readonly #opts: ResilientInformerOptions<T>;
  #backoffMs: number;
  #cancelRestart: (() => void) | undefined;
  #stopped = true;
  #synced = false;
  #waiters: (() => void)[] = [];

  constructor(opts: ResilientInformerOptions<T>) {
    this.resource = opts.resource;
    this.#informer = opts.informer;
    this.#opts = opts;
    this.#backoffMs = opts.initialBackoffMs ?? 500;
    this.#informer.on('error', (err: unknown) => {
      this.#scheduleRestart(err);
    });
  }

  /** True once a list has been cached; stays true across restarts (the cache keeps its contents). */
  get synced(): boolean {
    return this.#synced;
  }

  list(namespace?: string): readonly T[] {
    return this.#informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  start(): void {
    this.#stopped = false;
    void this.#run();
  }

  /** Resolves once the first list is cached. */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelRestart?.();
    this.#cancelRestart = undefined;
    await this.#informer.stop();
  }

  async #run(): Promise<void> {
    try {
      await this.#informer.start();
    } catch (err) {
      this.#scheduleRestart(err);
      return;
    }
    // start() resolves even when the list failed (it reports that through `error`): the
    // resource version tells whether a list is cached.
    if (!this.#stopped && this.#informer.latestResourceVersion() !== '') this.#markSynced();
  }

  #markSynced(): void {
    this.#backoffMs = this.#opts.initialBackoffMs ?? 500;
    if (this.#synced) return;
    this.#synced = true;
    this.#opts.log.info({ resource: this.resource }, 'informer synced');
    for (const w of this.#waiters.splice(0)) w();
  }

  #scheduleRestart(err: unknown): void {
    if (this.#stopped || this.#cancelRestart) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(delay * 2, this.#opts.maxBackoffMs ?? 30_000);
    this.#opts.log.warn(
      { resource: this.resource, err: err instanceof Error ? err.message : String(err), retryInMs: delay },
      'informer stopped on an error; restarting',
    );
    this.#cancelRestart = this.#opts.clock.after(delay, () => {
      this.#cancelRestart = undefined;
      if (this.#stopped) return;
      this.#opts.onRestart?.(this.resource);
      void this.#run();
    });
  }
}
