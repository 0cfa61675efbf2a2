// Read-your-writes over an informer cache (the idea of client-go's MutationCache). After the
// driver writes a record, the informer sees the change a few milliseconds later; an RPC that
// follows at once (ListSnapshots after CreateSnapshot, csi-sanity does exactly that) must already
// see it. Every write's result is kept here and wins over the cache until the cache holds the same
// or a newer resourceVersion, or until a TTL passes (the cache then is the truth again).
import {
  type IndexFunc,
  objectKey,
  type ReadonlyStore,
  type StoredObject,
} from '../informers/store-types.ts';

interface Entry<T> {
  /** undefined: deleted by us. */
  object: T | undefined;
  resourceVersion: string | undefined;
  expiresAt: number;
}

export interface ReadYourWritesOptions {
  ttlMs?: number;
  now?: () => number;
}

export interface ReadYourWritesStore<T extends StoredObject> extends ReadonlyStore<T> {
  /** Remembers what a create/update/patch returned. */
  wrote(object: T): void;
  /** Remembers that this object is gone (deleted without finalizers). */
  deleted(key: string, resourceVersion?: string): void;
}

/**
 * Orders two resourceVersions: they are opaque, but the API server's are integers, so compare
 * them as such; anything else is only ever equal or unknown.
 */
function compareVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x === y ? 0 : x > y ? 1 : -1;
  }
  return a === b ? 0 : undefined;
}

export function readYourWrites<T extends StoredObject>(
  base: ReadonlyStore<T>,
  indexers: Record<string, IndexFunc<T>>,
  options: ReadYourWritesOptions = {},
): ReadYourWritesStore<T> {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry<T>>();

  /** The live entry for key, dropping it once the cache caught up or it expired. */
  const entry = (key: string): Entry<T> | undefined => {
    const e = entries.get(key);
    if (!e) return undefined;
    const cached = base.get(key);
    const order = compareVersions(cached?.metadata?.resourceVersion, e.resourceVersion);
    // A write is seen once the cache holds its version or a newer one; a delete once the cache
    // lost the object or holds a newer one (created again).
    const caughtUp =
      e.object === undefined ? cached === undefined || order === 1 : order !== undefined && order >= 0;
    if (caughtUp || e.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };

  const resolve = (key: string, cached: T | undefined): T | undefined => {
    const e = entry(key);
    return e ? e.object : cached;
  };

  return {
    wrote(object) {
      const key = objectKey(object);
      const rv = object.metadata?.resourceVersion;
      const current = entries.get(key);
      // Concurrent writes may return out of order: keep the newest.
      if (current && compareVersions(current.resourceVersion, rv) === 1) return;
      entries.set(key, { object, resourceVersion: rv, expiresAt: now() + ttlMs });
    },
    deleted(key, resourceVersion) {
      entries.set(key, { object: undefined, resourceVersion, expiresAt: now() + ttlMs });
    },
    get(key) {
      return resolve(key, base.get(key));
    },
    list() {
      const out = new Map<string, T>();
      for (const obj of base.list()) {
        const key = objectKey(obj);
        const resolved = resolve(key, obj);
        if (resolved) out.set(key, resolved);
      }
      for (const key of [...entries.keys()]) {
        if (out.has(key)) continue;
        const e = entry(key);
        if (e?.object) out.set(key, e.object);
      }
      return [...out.values()];
    },
    byIndex(indexName, value) {
      const indexer = indexers[indexName];
      if (!indexer) throw new Error(`no index "${indexName}" on this store`);
      const out = new Map<string, T>();
      for (const obj of base.byIndex(indexName, value)) {
        const key = objectKey(obj);
        const resolved = resolve(key, obj);
        if (resolved && indexer(resolved).includes(value)) out.set(key, resolved);
      }
      for (const key of [...entries.keys()]) {
        if (out.has(key)) continue;
        const e = entry(key);
        if (e?.object && indexer(e.object).includes(value)) out.set(key, e.object);
      }
      return [...out.values()];
    },
    keys() {
      return this.list()
        .map((o) => objectKey(o))
        [Symbol.iterator]();
    },
    get size() {
      return this.list().length;
    },
  };
}
