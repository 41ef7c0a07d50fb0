// An informer: lists a resource, keeps a local cache current through a
// watch, and tells handlers what changed. Restarts after any error with
// backoff (client-node's informer stops on errors other than 410), relists
// on 410 Gone, resumes from bookmarks, and exposes `synced` so readiness
// can wait for the first complete list. Watches only what is needed: a
// field selector, metadata only (PartialObjectMetadata: no spec, status
// or data on the wire or in the cache), and a transform that reduces each
// object to the fields the controllers read before it is cached. The cache
// is an Indexer (by namespace, plus the informer's own indexes). Used by
// the operator (pods, policies, Secrets, ...) and the webhook (policies,
// namespaces).
import type { Logger } from 'pino';
import { errorMessage } from '@acp/crds';
import type { KubeClient } from './client.ts';
import { isGone } from './errors.ts';
import { Indexer, NAMESPACE_INDEX, type IndexFunc } from './indexer.ts';
import { keyOf, resourcePath, type KubeObject, type Resource } from './resources.ts';
import { backoffDelay } from './backoff.ts';
import type { Clock } from './clock.ts';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler<T> = (obj: T, type: ChangeType, old?: T) => void;

/** The Accept header that asks the apiserver for metadata only (a watch event's object). */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
/** The same for a list. */
export const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

export interface InformerOptions<T extends KubeObject = KubeObject> {
  client: KubeClient;
  resource: Resource;
  logger: Logger;
  clock: Clock;
  namespace?: string;
  labelSelector?: string;
  /** The apiserver sends only matching objects; one that stops matching arrives as DELETED. */
  fieldSelector?: string;
  /** Ask for PartialObjectMetadata: cached objects have metadata only. */
  metadataOnly?: boolean;
  /**
   * Reduces an object as received to what the controllers read, before it is
   * cached and handed to handlers (client-go's transform); the rest is garbage
   * at once. Must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (obj: KubeObject) => T;
  /** Secondary indexes of the cache, by name (see byIndex); `namespace` is always there. */
  indexes?: Record<string, IndexFunc<T>>;
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
  private readonly cache: Indexer<T>;
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly opts: InformerOptions<T>;
  private abort = new AbortController();
  private stopped = false;
  private failures = 0;
  private resolveSynced!: () => void;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  private hasSynced = false;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.cache = new Indexer<T>((o) => o.metadata.namespace ?? '', opts.indexes);
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

  /** Every cached object, or those of one namespace (from the index: no scan). */
  list(namespace?: string): T[] {
    if (namespace === undefined) return this.cache.values();
    return this.cache.byIndex(NAMESPACE_INDEX, namespace);
  }

  /** The cached objects whose index `name` includes `value`. */
  byIndex(name: string, value: string): T[] {
    return this.cache.byIndex(name, value);
  }

  /** The values index `name` has objects for (e.g. every namespace/serviceAccount with pods). */
  indexValues(name: string): string[] {
    return this.cache.indexValues(name);
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
    return {
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
    };
  }

  /** The object as cached: reduced by the transform, if any. */
  private reduce(obj: KubeObject): T {
    return this.opts.transform ? this.opts.transform(obj) : (obj as T);
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
      const page = await this.opts.client.list<KubeObject>(
        this.path(),
        { ...this.query(), limit: 500, continue: cont },
        this.opts.metadataOnly ? { accept: METADATA_ONLY_LIST } : {},
      );
      for (const item of page.items) if (this.accepts(item)) seen.set(keyOf(item), this.reduce(item));
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    for (const [key, old] of this.cache.entries()) {
      if (!seen.has(key)) {
        this.cache.remove(key);
        this.emit(old, 'delete');
      }
    }
    for (const [key, obj] of seen) {
      const old = this.cache.get(key);
      this.cache.put(key, obj);
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

  private apply(type: string, received: KubeObject): void {
    if (!this.accepts(received)) return;
    const key = keyOf(received);
    const old = this.cache.get(key);
    const obj = this.reduce(received);
    if (type === 'DELETED') {
      this.cache.remove(key);
      this.emit(old ?? obj, 'delete');
      return;
    }
    this.cache.put(key, obj);
    this.emit(obj, old ? 'update' : 'add', old);
  }

  private async run(): Promise<void> {
    let rv = '';
    while (!this.stopped) {
      try {
        if (!rv) rv = await this.relist();
        await this.opts.client.watch<KubeObject>(
          this.path(),
          rv,
          (e) => {
            rv = e.object.metadata.resourceVersion ?? rv;
            if (e.type !== 'BOOKMARK') this.apply(e.type, e.object);
          },
          this.abort.signal,
          { query: this.watchQuery(), ...(this.opts.metadataOnly ? { accept: METADATA_ONLY } : {}) },
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
