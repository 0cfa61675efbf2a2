// An informer: a reflector-fed, indexed cache of one resource, exposed as RxJS.
//
//   events$   added / modified (old and new) / deleted. Each new subscriber first receives an
//             `added` for every object already cached (client-go's AddEventHandler does the
//             same), then live events. The store is updated before an event is emitted, so a
//             handler that reads the store sees at least the state the event describes.
//   synced$   false until the first complete list is in the store, then true (replays to late
//             subscribers). Stays true across relists: the cache is never emptied.
//   store     ReadonlyStore with named indexes.
//
// Subscribers must not throw: RxJS reports a throwing subscriber as an unhandled error.
import { BehaviorSubject, distinctUntilChanged, filter, firstValueFrom, Observable, Subject } from 'rxjs';
import type { Logger } from '../telemetry/logger.ts';
import { IndexedStore } from './indexed-store.ts';
import { type ListWatchSource, Reflector, type ReflectorOptions, type ReflectorStats } from './list-watch.ts';
import { type ResourceDefinition, resourceId } from './resources.ts';
import type { IndexFunc, InformerEvent, ReadonlyStore, StoredObject } from './store-types.ts';
import { composeTransform } from './transform.ts';

export interface InformerOptions {
  /** Shown in logs; defaults to the resource id. */
  name?: string;
  reflector?: Partial<ReflectorOptions>;
  logger?: Logger;
}

export class Informer<T extends StoredObject> {
  readonly resource: ResourceDefinition<T>;
  readonly name: string;
  readonly store: ReadonlyStore<T>;
  readonly events$: Observable<InformerEvent<T>>;
  readonly synced$: Observable<boolean>;
  readonly #store = new IndexedStore<T>();
  readonly #live = new Subject<InformerEvent<T>>();
  readonly #synced = new BehaviorSubject(false);
  readonly #reflector: Reflector<T>;

  constructor(resource: ResourceDefinition<T>, source: ListWatchSource<T>, options: InformerOptions = {}) {
    this.resource = resource;
    this.name = options.name ?? resourceId(resource);
    this.store = this.#store;
    this.synced$ = this.#synced.pipe(distinctUntilChanged());
    this.events$ = new Observable<InformerEvent<T>>((subscriber) => {
      // Replay and subscription happen in one synchronous step, so no live event falls between.
      for (const object of this.#store.list()) subscriber.next({ type: 'added', object });
      return this.#live.subscribe(subscriber);
    });
    this.#reflector = new Reflector({
      name: this.name,
      source,
      store: this.#store,
      transform: composeTransform(resource.transform),
      ...(resource.keep ? { keep: resource.keep } : {}),
      emit: (event) => this.#live.next(event),
      onSynced: () => this.#synced.next(true),
      options: options.reflector,
      logger: options.logger?.child({ informer: this.name }),
    });
  }

  get hasSynced(): boolean {
    return this.#synced.value;
  }

  get lastSyncResourceVersion(): string | undefined {
    return this.#reflector.lastSyncResourceVersion;
  }

  get stats(): Readonly<ReflectorStats> {
    return this.#reflector.stats;
  }

  /** Registers a named index (idempotent for the same function; see IndexedStore.addIndexer). */
  addIndexer(name: string, fn: IndexFunc<T>): this {
    this.#store.addIndexer(name, fn);
    return this;
  }

  start(): void {
    this.#reflector.start();
  }

  /** Resolves once the first list is cached; rejects with the signal's reason if it aborts first. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced.value) return;
    const synced = firstValueFrom(this.#synced.pipe(filter(Boolean)));
    if (signal === undefined) {
      await synced;
      return;
    }
    signal.throwIfAborted();
    await Promise.race([
      synced,
      new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      ),
    ]);
  }

  /** Stops list-watching and completes events$; the store keeps its last content. */
  async stop(): Promise<void> {
    await this.#reflector.stop();
    this.#live.complete();
  }
}
