// The informer's cache: objects by key plus named secondary indexes (client-go's ThreadSafeStore
// with Indexers). Only the informer writes to it; everyone else sees it as a ReadonlyStore.
import { IndexConflictError, UnknownIndexError } from './errors.ts';
import { type IndexFunc, objectKey, type ReadonlyStore, type StoredObject } from './store-types.ts';

export class IndexedStore<T extends StoredObject> implements ReadonlyStore<T> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys of the objects indexed under it. */
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.#indexes.get(indexName);
    if (index === undefined) throw new UnknownIndexError(indexName);
    const keys = index.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.#items.get(key);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  /**
   * Registers an index; objects already cached are indexed at once. Registering the same function
   * again under the same name is a no-op (several consumers of a shared informer may ask for it).
   */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    const existing = this.#indexers.get(name);
    if (existing === fn) return;
    if (existing !== undefined) throw new IndexConflictError(name);
    this.#indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#items) addToIndex(index, fn(obj), key);
  }

  hasIndexer(name: string): boolean {
    return this.#indexers.has(name);
  }

  /** Inserts or replaces the object under its key; returns what was there before. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.#items.get(key);
    this.#items.set(key, obj);
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      if (old !== undefined) removeFromIndex(index, fn(old), key);
      addToIndex(index, fn(obj), key);
    }
    return old;
  }

  /** Removes the object with this key; returns it, or undefined if it was not cached. */
  remove(key: string): T | undefined {
    const old = this.#items.get(key);
    if (old === undefined) return undefined;
    this.#items.delete(key);
    for (const [name, fn] of this.#indexers) removeFromIndex(this.#indexes.get(name)!, fn(old), key);
    return old;
  }
}

function addToIndex(index: Map<string, Set<string>>, values: readonly string[], key: string): void {
  for (const value of values) {
    let keys = index.get(value);
    if (keys === undefined) {
      keys = new Set();
      index.set(value, keys);
    }
    keys.add(key);
  }
}

function removeFromIndex(index: Map<string, Set<string>>, values: readonly string[], key: string): void {
  for (const value of values) {
    const keys = index.get(value);
    if (keys === undefined) continue;
    keys.delete(key);
    // Drop empty sets so an index over short-lived values does not grow without bound.
    if (keys.size === 0) index.delete(value);
  }
}
