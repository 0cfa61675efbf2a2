// A store for a resource that may not exist yet (a CRD installed after the driver started): empty
// until the informer's store is attached, then that store. Consumers take it once, at
// construction, and see the resource appear without a restart.
import type { ReadonlyStore, StoredObject } from './store-types.ts';

export class LateStore<T extends StoredObject> implements ReadonlyStore<T> {
  #store: ReadonlyStore<T> | undefined;

  /** Whether the resource is served (its informer's store is attached). */
  get attached(): boolean {
    return this.#store !== undefined;
  }

  attach(store: ReadonlyStore<T>): void {
    this.#store = store;
  }

  get(key: string): T | undefined {
    return this.#store?.get(key);
  }

  list(): T[] {
    return this.#store?.list() ?? [];
  }

  keys(): IterableIterator<string> {
    return this.#store?.keys() ?? new Map<string, never>().keys();
  }

  byIndex(indexName: string, value: string): T[] {
    return this.#store?.byIndex(indexName, value) ?? [];
  }

  get size(): number {
    return this.#store?.size ?? 0;
  }
}
