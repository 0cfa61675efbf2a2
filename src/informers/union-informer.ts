// One view over several informers of the same resource, each narrowed by its own label selector:
// the apiserver's selectors cannot say "this label OR that one", and a cluster-wide informer of
// Pods costs the memory of every pod in the cluster. The members are ordinary shared informers
// (InformerFactory); this only reads across them.
//
// An object matched by two members is one object in the store (the first member's copy) but may
// be announced by both; consumers map events to keys and read the store, so a repeat costs a
// reconcile and nothing else. An object that leaves one member while another still holds it is
// announced `deleted` by the first: consumers re-read the store and still find it.
import { combineLatest, map, merge, type Observable } from 'rxjs';
import type { Informer } from './informer.ts';
import {
  type IndexFunc,
  type InformerEvent,
  objectKey,
  type ReadonlyStore,
  type StoredObject,
} from './store-types.ts';

/** What consumers use of an informer: a union offers the same. */
export interface InformerView<T extends StoredObject> {
  readonly name: string;
  readonly store: ReadonlyStore<T>;
  readonly events$: Observable<InformerEvent<T>>;
  readonly synced$: Observable<boolean>;
  readonly hasSynced: boolean;
  addIndexer(name: string, fn: IndexFunc<T>): this;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export class UnionInformer<T extends StoredObject> implements InformerView<T> {
  readonly name: string;
  readonly store: ReadonlyStore<T>;
  readonly events$: Observable<InformerEvent<T>>;
  readonly synced$: Observable<boolean>;
  readonly members: readonly Informer<T>[];

  constructor(members: readonly Informer<T>[]) {
    if (members.length === 0) throw new Error('a union of informers needs at least one');
    this.members = members;
    this.name = members.map((m) => m.name).join(' | ');
    this.store = new UnionStore(members.map((m) => m.store));
    this.events$ = merge(...members.map((m) => m.events$));
    this.synced$ = combineLatest(members.map((m) => m.synced$)).pipe(map((all) => all.every(Boolean)));
  }

  get hasSynced(): boolean {
    return this.members.every((m) => m.hasSynced);
  }

  addIndexer(name: string, fn: IndexFunc<T>): this {
    for (const member of this.members) member.addIndexer(name, fn);
    return this;
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.members.map((m) => m.waitForSync(signal)));
  }
}

class UnionStore<T extends StoredObject> implements ReadonlyStore<T> {
  readonly #stores: readonly ReadonlyStore<T>[];

  constructor(stores: readonly ReadonlyStore<T>[]) {
    this.#stores = stores;
  }

  get(key: string): T | undefined {
    for (const store of this.#stores) {
      const obj = store.get(key);
      if (obj !== undefined) return obj;
    }
    return undefined;
  }

  list(): T[] {
    return this.#distinct(this.#stores.map((s) => s.list()));
  }

  *keys(): IterableIterator<string> {
    const seen = new Set<string>();
    for (const store of this.#stores) {
      for (const key of store.keys()) {
        if (seen.has(key)) continue;
        seen.add(key);
        yield key;
      }
    }
  }

  byIndex(indexName: string, value: string): T[] {
    return this.#distinct(this.#stores.map((s) => s.byIndex(indexName, value)));
  }

  get size(): number {
    let n = 0;
    for (const _ of this.keys()) n++;
    return n;
  }

  /** Concatenates, keeping the first copy of an object two members hold. */
  #distinct(lists: T[][]): T[] {
    if (lists.length === 1) return lists[0] ?? [];
    const seen = new Set<string>();
    const out: T[] = [];
    for (const list of lists) {
      for (const obj of list) {
        const key = objectKey(obj);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(obj);
      }
    }
    return out;
  }
}
