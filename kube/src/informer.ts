// An informer: lists a resource, keeps a local cache current through a
// watch, and tells handlers what changed. Restarts after any error with
// backoff (client-node's informer stops on errors other than 410), relists
// on 410 Gone, resumes from bookmarks, and exposes `synced` so readiness
// can wait for the first complete list. Used by the operator (pods,
// policies, Secrets, ...) and the webhook (policies, namespaces).
import type { Logger } from 'pino';
import { errorMessage } from '@acp/crds';
import type { KubeClient } from './client.ts';
import { isGone } from './errors.ts';
import { keyOf, resourcePath, type KubeObject, type Resource } from './resources.ts';
import { backoffDelay } from './backoff.ts';
import type { Clock } from './clock.ts';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler<T> = (obj: T, type: ChangeType, old?: T) => void;

export interface InformerOptions {
  client: KubeClient;
  resource: Resource;
  logger: Logger;
  clock: Clock;
  namespace?: string;
  labelSelector?: string;
  /** Objects for which this returns false are ignored (not cached, no events). */
  filter?: (obj: KubeObject) => boolean;
  onError?: (resource: string) => void;
  /** How long one watch lasts before the apiserver ends it and the informer watches again (default 300 s). */
  watchTimeoutSeconds?: number;
}

/** What a Manager needs of an informer of any type: start, stop, synced. */
export interface InformerHandle {
  readonly synced: Promise<void>;
  readonly isSynced: boolean;
  start(): void;
  stop(): void;
}

export class Informer<T extends KubeObject> implements InformerHandle {
  private readonly cache = new Map<string, T>();
  /** The same objects by namespace, so list(namespace) does not scan everything. */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly opts: InformerOptions;
  private abort = new AbortController();
  private stopped = false;
  private failures = 0;
  private resolveSynced!: () => void;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  private hasSynced = false;

  constructor(opts: InformerOptions) {
    this.opts = opts;
    this.synced = new Promise((r) => (this.resolveSynced = r));
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  get isSynced(): boolean {
    return this.hasSynced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.cache.values()];
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  private put(key: string, obj: T): void {
    this.cache.set(key, obj);
    const ns = obj.metadata.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) {
      m = new Map();
      this.byNamespace.set(ns, m);
    }
    m.set(key, obj);
  }

  private remove(key: string, obj: T): void {
    this.cache.delete(key);
    const ns = obj.metadata.namespace ?? '';
    const m = this.byNamespace.get(ns);
    m?.delete(key);
    if (m?.size === 0) this.byNamespace.delete(ns);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  private emit(obj: T, type: ChangeType, old?: T): void {
    for (const h of this.handlers) h(obj, type, old);
  }

  private path(): string {
    return resourcePath(this.opts.resource, this.opts.namespace);
  }

  private query(): Record<string, string> {
    return this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {};
  }

  private watchQuery(): Record<string, string | number> {
    return { ...this.query(), timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300 };
  }

  /** Lists everything (paginated) and reconciles the cache with it; returns the list's resourceVersion. */
  private async relist(): Promise<string> {
    const seen = new Map<string, T>();
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await this.opts.client.list<T>(this.path(), {
        ...this.query(),
        limit: 500,
        continue: cont,
      });
      for (const item of page.items) if (this.accepts(item)) seen.set(keyOf(item), item);
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.remove(key, old);
        this.emit(old, 'delete');
      }
    }
    for (const [key, obj] of seen) {
      const old = this.cache.get(key);
      this.put(key, obj);
      if (!old) this.emit(obj, 'add');
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit(obj, 'update', old);
    }
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveSynced();
    }
    return rv;
  }

  private accepts(obj: KubeObject): boolean {
    return this.opts.filter ? this.opts.filter(obj) : true;
  }

  private apply(type: string, obj: T): void {
    if (!this.accepts(obj)) return;
    const key = keyOf(obj);
    const old = this.cache.get(key);
    if (type === 'DELETED') {
      this.remove(key, old ?? obj);
      this.emit(old ?? obj, 'delete');
      return;
    }
    this.put(key, obj);
    this.emit(obj, old ? 'update' : 'add', old);
  }

  private async run(): Promise<void> {
    let rv = '';
    while (!this.stopped) {
      try {
        if (!rv) rv = await this.relist();
        await this.opts.client.watch<T>(
          this.path(),
          rv,
          (e) => {
            rv = e.object.metadata.resourceVersion ?? rv;
            if (e.type !== 'BOOKMARK') this.apply(e.type, e.object);
          },
          this.abort.signal,
          this.watchQuery(),
        );
        this.failures = 0;
      } catch (e) {
        rv = '';
        if (this.stopped) return;
        if (isGone(e)) {
          this.opts.logger.info(
            { resource: this.opts.resource.plural },
            'watch expired (410 Gone), relisting',
          );
          rv = '';
          continue;
        }
        this.failures++;
        this.opts.onError?.(this.opts.resource.plural);
        const delay = backoffDelay(this.failures, { baseMs: 500, maxMs: 30_000 }, Math.random());
        this.opts.logger.warn(
          { resource: this.opts.resource.plural, err: errorMessage(e), retryInMs: delay },
          'informer failed; restarting',
        );
        rv = '';
        await new Promise<void>((r) => this.opts.clock.setTimer(r, delay));
      }
    }
  }
}
