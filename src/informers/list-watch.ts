// The reflector: keeps a store equal to the server's collection by listing, then watching from the
// list's resourceVersion (client-go tools/cache/reflector.go, reduced to what we use):
//
// - the initial list is paginated (limit/continue); an expired continue token restarts it;
// - the watch asks for bookmarks and a randomized timeoutSeconds, so replicas do not all reconnect
//   at once; when it ends it resumes from the last resourceVersion seen (event or bookmark);
// - 410 Gone (as an HTTP status or an ERROR event) means that version was compacted away: relist,
//   and emit deletes for objects that vanished meanwhile (the server will never send them);
// - any other error retries with exponential backoff and jitter, forgotten after a healthy period;
// - a watchdog cuts a stream that has been silent for longer than bookmarks ever are, because a
//   half-open connection otherwise looks exactly like a quiet collection.
//
// resourceVersions are opaque: they are only stored, sent back and compared for equality.
import type { Logger } from '../telemetry/logger.ts';
import { Backoff, type BackoffOptions, sleep } from './backoff.ts';
import { ApiError, WatchClosedEarlyError, WatchStalledError } from './errors.ts';
import type { IndexedStore } from './indexed-store.ts';
import type { RawWatchEvent } from './kube-client.ts';
import { type InformerEvent, objectKey, type StoredObject } from './store-types.ts';

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  /** Continue token of the next page; empty or absent on the last. */
  continue?: string;
}

/** Where a reflector lists and watches from: the apiserver (kube-list-watch.ts) or a test fake. */
export interface ListWatchSource<T> {
  list(options: { limit: number; continue?: string; signal: AbortSignal }): Promise<ListPage<T>>;
  /**
   * Yields events until the server ends the stream; throws ApiError for a non-200 answer and the
   * signal's reason when aborted. Bookmarks must be requested.
   */
  watch(options: {
    resourceVersion: string;
    timeoutSeconds: number;
    signal: AbortSignal;
  }): AsyncIterable<RawWatchEvent>;
}

export interface ReflectorOptions {
  /** Objects per list page (client-go: 500). */
  pageSize: number;
  /** Each watch asks the server to end it after a random time in [min, 2·min) seconds (client-go: 5 min). */
  minWatchTimeoutSeconds: number;
  /**
   * Silence after which the watch is presumed dead. The apiserver sends a bookmark about once a
   * minute on a bookmark-enabled watch, so the default leaves a 30 s margin over that.
   */
  inactivityTimeoutMs: number;
  backoff: Partial<BackoffOptions>;
  random: () => number;
}

export const DEFAULT_REFLECTOR_OPTIONS: ReflectorOptions = {
  pageSize: 500,
  minWatchTimeoutSeconds: 300,
  inactivityTimeoutMs: 90_000,
  backoff: {},
  random: Math.random,
};

/** A watch that ends sooner than this without any event is treated as a failure (client-go does the same). */
const SHORT_WATCH_MS = 1_000;

/** Counters for tests, logs and debugging; never reset. */
export interface ReflectorStats {
  lists: number;
  watches: number;
  /** 410 Gone answers that forced a relist. */
  expired: number;
  /** Watches cut by the inactivity watchdog. */
  stalls: number;
  /** Failed lists or watches (other than 410), each followed by a backoff. */
  errors: number;
  events: number;
  bookmarks: number;
}

export class Reflector<T extends StoredObject> {
  readonly #name: string;
  readonly #source: ListWatchSource<T>;
  readonly #store: IndexedStore<T>;
  readonly #transform: (obj: T) => T;
  readonly #keep: (obj: T) => boolean;
  readonly #emit: (event: InformerEvent<T>) => void;
  readonly #onSynced: () => void;
  readonly #options: ReflectorOptions;
  readonly #backoff: Backoff;
  readonly #log: Logger | undefined;
  readonly #stop = new AbortController();
  readonly stats: ReflectorStats = {
    lists: 0,
    watches: 0,
    expired: 0,
    stalls: 0,
    errors: 0,
    events: 0,
    bookmarks: 0,
  };
  #resourceVersion: string | undefined;
  /**
   * 410s since a watch last delivered an event: the first relists at once, the next in a row backs
   * off, so a server that keeps expiring fresh lists is not hammered with full lists.
   */
  #goneStreak = 0;
  #running: Promise<void> | undefined;

  constructor(args: {
    name: string;
    source: ListWatchSource<T>;
    store: IndexedStore<T>;
    transform: (obj: T) => T;
    /** Objects that fail it are not cached (see ResourceDefinition.keep); all kept when unset. */
    keep?: (obj: T) => boolean;
    emit: (event: InformerEvent<T>) => void;
    onSynced: () => void;
    options?: Partial<ReflectorOptions>;
    logger?: Logger;
  }) {
    this.#name = args.name;
    this.#source = args.source;
    this.#store = args.store;
    this.#transform = args.transform;
    this.#keep = args.keep ?? (() => true);
    this.#emit = args.emit;
    this.#onSynced = args.onSynced;
    this.#options = { ...DEFAULT_REFLECTOR_OPTIONS, ...args.options };
    this.#backoff = new Backoff(this.#options.backoff, this.#options.random);
    this.#log = args.logger;
  }

  /** The resourceVersion the store is known to reflect (list or last event/bookmark); opaque. */
  get lastSyncResourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort(new Error(`informer ${this.#name} stopped`));
    await this.#running;
  }

  async #run(): Promise<void> {
    const stopped = this.#stop.signal;
    while (!stopped.aborted) {
      try {
        if (this.#resourceVersion === undefined) await this.#relist();
        await this.#watch(this.#resourceVersion!);
      } catch (err) {
        if (stopped.aborted) break;
        if (err instanceof WatchStalledError) {
          // Resume from where we were: nothing is known to be lost, only the connection.
          this.stats.stalls++;
          this.#log?.warn({ resource: this.#name, silent_ms: err.silentMs }, 'watch stalled; restarting it');
          continue;
        }
        if (err instanceof ApiError && err.isGone) {
          this.stats.expired++;
          this.#log?.info({ resource: this.#name, err: err.message }, 'resourceVersion expired; relisting');
          this.#resourceVersion = undefined;
          if (++this.#goneStreak === 1) continue;
        } else {
          this.stats.errors++;
        }
        const delay = this.#backoff.next();
        this.#log?.warn(
          {
            resource: this.#name,
            err: err instanceof Error ? err.message : String(err),
            retry_in_ms: Math.round(delay),
          },
          'list/watch failed; retrying',
        );
        try {
          await sleep(delay, stopped);
        } catch {
          break;
        }
      }
    }
  }

  /** Lists every page, then makes the store equal to the result, emitting the differences. */
  async #relist(): Promise<void> {
    const signal = this.#stop.signal;
    let items: T[] = [];
    let next: string | undefined;
    let resourceVersion = '';
    let restarted = false;
    while (true) {
      let page: ListPage<T>;
      try {
        this.stats.lists++;
        page = await this.#source.list({ limit: this.#options.pageSize, continue: next, signal });
      } catch (err) {
        if (next !== undefined && err instanceof ApiError && err.isGone && !restarted) {
          // The continue token outlived its snapshot: start over once with a fresh consistent list
          // (a second expiry goes through the backoff like any other failure).
          this.#log?.info({ resource: this.#name }, 'list continue token expired; listing again');
          restarted = true;
          items = [];
          next = undefined;
          continue;
        }
        throw err;
      }
      for (const item of page.items) {
        const obj = this.#transform(item);
        if (this.#keep(obj)) items.push(obj);
      }
      resourceVersion = page.resourceVersion;
      next = page.continue || undefined;
      if (next === undefined) break;
    }
    this.#replace(items);
    this.#resourceVersion = resourceVersion;
    this.#onSynced();
  }

  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      this.#upsert(item);
    }
    // Objects deleted while we were not watching: the server will never send these deletes.
    const vanished: string[] = [];
    for (const key of this.#store.keys()) if (!seen.has(key)) vanished.push(key);
    for (const key of vanished) {
      const old = this.#store.remove(key);
      if (old !== undefined) this.#emit({ type: 'deleted', object: old });
    }
  }

  #upsert(obj: T): void {
    const current = this.#store.get(objectKey(obj));
    if (current !== undefined && current.metadata?.resourceVersion === obj.metadata?.resourceVersion) {
      return; // unchanged (relist of an object we already have, or a duplicate event)
    }
    this.#store.upsert(obj);
    this.#emit(
      current === undefined
        ? { type: 'added', object: obj }
        : { type: 'modified', object: obj, old: current },
    );
  }

  async #watch(resourceVersion: string): Promise<void> {
    const { minWatchTimeoutSeconds, inactivityTimeoutMs, random } = this.#options;
    const timeoutSeconds = Math.floor(minWatchTimeoutSeconds * (1 + random()));
    const cut = new AbortController();
    const signal = AbortSignal.any([this.#stop.signal, cut.signal]);
    const started = performance.now();
    let lastActivity = started;
    let received = 0;
    // Re-armed for the remaining silence budget instead of reset on every event.
    const check = () => {
      const silent = performance.now() - lastActivity;
      if (silent >= inactivityTimeoutMs) cut.abort(new WatchStalledError(Math.round(silent)));
      else watchdog = setTimeout(check, inactivityTimeoutMs - silent);
    };
    let watchdog = setTimeout(check, inactivityTimeoutMs);
    this.stats.watches++;
    try {
      for await (const event of this.#source.watch({ resourceVersion, timeoutSeconds, signal })) {
        lastActivity = performance.now();
        received++;
        this.#goneStreak = 0;
        this.#handle(event);
      }
    } finally {
      clearTimeout(watchdog);
    }
    if (received === 0 && performance.now() - started < SHORT_WATCH_MS) {
      throw new WatchClosedEarlyError(`watch of ${this.#name} closed at once without events`);
    }
  }

  #handle(event: RawWatchEvent): void {
    if (event.type === 'ERROR') {
      const status = (event.object ?? {}) as { code?: number; reason?: string; message?: string };
      throw new ApiError(
        'WATCH',
        this.#name,
        status.code ?? 500,
        status.reason,
        status.message ?? 'watch error',
      );
    }
    const raw = event.object as T;
    const resourceVersion = raw.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      this.stats.bookmarks++;
      if (resourceVersion) this.#resourceVersion = resourceVersion;
      return;
    }
    this.stats.events++;
    const obj = this.#transform(raw);
    // An object that stops qualifying (a label removed) leaves the cache as if deleted.
    if (event.type === 'DELETED' || !this.#keep(obj)) {
      const old = this.#store.remove(objectKey(obj));
      if (old !== undefined) this.#emit({ type: 'deleted', object: obj });
    } else {
      this.#upsert(obj);
    }
    if (resourceVersion) this.#resourceVersion = resourceVersion;
  }
}
