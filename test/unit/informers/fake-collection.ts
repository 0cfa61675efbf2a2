// An in-memory stand-in for one apiserver collection with etcd-like revisions: list with
// pagination, watch from a revision (410 once compacted), bookmarks, and knobs to make a watch
// fail, close or go silent. Being the server, it may read its own resourceVersions as numbers.
import { ApiError } from '../../../src/informers/errors.ts';
import type { RawWatchEvent } from '../../../src/informers/kube-client.ts';
import type { ListPage, ListWatchSource } from '../../../src/informers/list-watch.ts';
import { objectKey, type StoredObject } from '../../../src/informers/store-types.ts';

export interface TestObject extends StoredObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; managedFields?: unknown[] };
  data?: string;
}

interface HistoryEntry {
  rv: number;
  event: RawWatchEvent;
}

interface Watcher {
  push(event: RawWatchEvent | Error | 'close'): void;
  wake(): void;
  clear(): void;
}

export class FakeCollection implements ListWatchSource<TestObject> {
  revision = 1;
  readonly objects = new Map<string, TestObject>();
  readonly history: HistoryEntry[] = [];
  /** Watches from a revision older than this get 410. */
  compactedBelow = 0;
  /** While set, watch streams deliver nothing (a half-open connection). */
  silent = false;
  readonly listCalls: { limit: number; continue?: string }[] = [];
  readonly watchCalls: { resourceVersion: string; timeoutSeconds: number }[] = [];
  /** Errors thrown by the next list / watch calls, in order. */
  readonly listFailures: Error[] = [];
  readonly watchFailures: Error[] = [];
  /** Continue tokens issued before this revision are expired (410). */
  continueExpiredBelow = 0;
  readonly #watchers = new Set<Watcher>();

  create(name: string, data = 'v1', namespace = 'ns'): TestObject {
    return this.#write('ADDED', { metadata: { name, namespace }, data });
  }

  update(name: string, data: string, namespace = 'ns'): TestObject {
    return this.#write('MODIFIED', { metadata: { name, namespace }, data });
  }

  delete(name: string, namespace = 'ns'): void {
    const key = `${namespace}/${name}`;
    const old = this.objects.get(key);
    if (old === undefined) throw new Error(`no ${key}`);
    this.revision++;
    this.objects.delete(key);
    const object = structuredClone({
      ...old,
      metadata: { ...old.metadata, resourceVersion: String(this.revision) },
    });
    this.#record({ type: 'DELETED', object });
  }

  /** A bookmark at the current revision to every open watch. */
  bookmark(): void {
    for (const w of this.#watchers) {
      w.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.revision) } } });
    }
  }

  /** Ends every open watch stream as the server does at timeoutSeconds. */
  closeWatches(): void {
    for (const w of this.#watchers) w.push('close');
  }

  /** Drops every open watch's connection, losing what it held back (like an apiserver restart). */
  breakWatches(): void {
    for (const w of this.#watchers) {
      w.clear();
      w.push('close');
    }
  }

  /** Sends an ERROR event (e.g. 410 Expired) to every open watch, dropping what it held back. */
  errorWatches(code: number, reason: string): void {
    for (const w of this.#watchers) {
      w.clear();
      w.push({ type: 'ERROR', object: { kind: 'Status', code, reason, message: reason } });
    }
  }

  compact(): void {
    this.compactedBelow = this.revision;
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  async list({ limit, continue: next }: { limit: number; continue?: string }): Promise<ListPage<TestObject>> {
    this.listCalls.push({ limit, continue: next });
    const failure = this.listFailures.shift();
    if (failure) throw failure;
    let offset = 0;
    let snapshotRv = this.revision;
    if (next !== undefined) {
      const [rv, off] = next.split(':').map(Number) as [number, number];
      if (rv < this.continueExpiredBelow)
        throw new ApiError('GET', '/fake', 410, 'Expired', 'continue expired');
      offset = off;
      snapshotRv = rv;
    }
    // Pages are cut from the present (a simplification of etcd's snapshot read; tests that care
    // do not write between pages).
    const all = [...this.objects.values()].sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
    const items = all.slice(offset, offset + limit).map((o) => structuredClone(o));
    const more = offset + limit < all.length;
    return {
      items,
      resourceVersion: String(snapshotRv),
      continue: more ? `${snapshotRv}:${offset + limit}` : undefined,
    };
  }

  async *watch({
    resourceVersion,
    timeoutSeconds,
    signal,
  }: {
    resourceVersion: string;
    timeoutSeconds: number;
    signal: AbortSignal;
  }): AsyncGenerator<RawWatchEvent> {
    this.watchCalls.push({ resourceVersion, timeoutSeconds });
    const failure = this.watchFailures.shift();
    if (failure) throw failure;
    const from = Number(resourceVersion);
    if (from < this.compactedBelow)
      throw new ApiError('WATCH', '/fake', 410, 'Expired', 'too old resource version');
    const queue: (RawWatchEvent | Error | 'close')[] = this.history
      .filter((h) => h.rv > from)
      .map((h) => structuredClone(h.event));
    let wake: (() => void) | undefined;
    const watcher: Watcher = {
      push: (e) => {
        queue.push(e instanceof Error || e === 'close' ? e : structuredClone(e));
        wake?.();
      },
      wake: () => wake?.(),
      clear: () => {
        queue.length = 0;
      },
    };
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    this.#watchers.add(watcher);
    try {
      while (true) {
        signal.throwIfAborted();
        const next = this.silent ? undefined : queue.shift();
        if (next === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        if (next === 'close') return;
        if (next instanceof Error) throw next;
        yield next;
      }
    } finally {
      this.#watchers.delete(watcher);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops being silent and delivers what was held back. */
  resume(): void {
    this.silent = false;
    for (const w of this.#watchers) w.wake();
  }

  #write(type: 'ADDED' | 'MODIFIED', obj: TestObject): TestObject {
    this.revision++;
    const stored: TestObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        resourceVersion: String(this.revision),
        managedFields: [{ manager: 'test' }],
      },
    };
    const key = objectKey(stored);
    if (type === 'ADDED' && this.objects.has(key)) throw new Error(`${key} exists`);
    if (type === 'MODIFIED' && !this.objects.has(key)) throw new Error(`no ${key}`);
    this.objects.set(key, stored);
    this.#record({ type, object: structuredClone(stored) });
    return stored;
  }

  #record(event: RawWatchEvent): void {
    this.history.push({ rv: this.revision, event });
    for (const w of this.#watchers) w.push(event);
  }
}
