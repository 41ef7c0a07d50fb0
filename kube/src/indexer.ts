// An informer's cache: objects by key (namespace/name), with secondary
// indexes kept current on every put and remove, so a controller asks
// "the pods of namespace N" or "the pods of identity N/sa" in time
// proportional to the answer instead of scanning every object (client-go's
// Indexer). The namespace index is always there. Pure.

/** The index values of one object (an object may have several, or none). */
export type IndexFunc<T> = (obj: T) => readonly string[];

export const NAMESPACE_INDEX = 'namespace';

export class Indexer<T> {
  private readonly objects = new Map<string, T>();
  private readonly funcs: ReadonlyMap<string, IndexFunc<T>>;
  /** index name -> index value -> key -> object */
  private readonly indexes = new Map<string, Map<string, Map<string, T>>>();

  constructor(namespaceOf: (obj: T) => string, indexes: Record<string, IndexFunc<T>> = {}) {
    if (NAMESPACE_INDEX in indexes) throw new Error(`index name ${NAMESPACE_INDEX} is reserved`);
    this.funcs = new Map([[NAMESPACE_INDEX, (o: T) => [namespaceOf(o)]], ...Object.entries(indexes)]);
    for (const name of this.funcs.keys()) this.indexes.set(name, new Map());
  }

  get size(): number {
    return this.objects.size;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  has(key: string): boolean {
    return this.objects.has(key);
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  entries(): IterableIterator<[string, T]> {
    return this.objects.entries();
  }

  values(): T[] {
    return [...this.objects.values()];
  }

  /** Adds or replaces the object at `key`; index entries of the object it replaces are dropped. */
  put(key: string, obj: T): void {
    const old = this.objects.get(key);
    if (old !== undefined) this.unindex(key, old);
    this.objects.set(key, obj);
    for (const [name, fn] of this.funcs) {
      const index = this.index(name);
      for (const value of fn(obj)) {
        let bucket = index.get(value);
        if (!bucket) {
          bucket = new Map();
          index.set(value, bucket);
        }
        bucket.set(key, obj);
      }
    }
  }

  remove(key: string): void {
    const old = this.objects.get(key);
    if (old === undefined) return;
    this.unindex(key, old);
    this.objects.delete(key);
  }

  /** The objects whose index `name` includes `value`. */
  byIndex(name: string, value: string): T[] {
    return [...(this.index(name).get(value)?.values() ?? [])];
  }

  /** The values index `name` has objects for. */
  indexValues(name: string): string[] {
    return [...this.index(name).keys()];
  }

  private index(name: string): Map<string, Map<string, T>> {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index named ${name}`);
    return index;
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.funcs) {
      const index = this.index(name);
      for (const value of fn(obj)) {
        const bucket = index.get(value);
        bucket?.delete(key);
        if (bucket?.size === 0) index.delete(value);
      }
    }
  }
}
