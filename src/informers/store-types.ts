// The read side of an informer's cache, shared by every consumer (reconcilers, CSI handlers).
// Consumers only read: objects in a store are shared and must never be mutated.
//
// Objects are the apiserver's JSON as decoded (see wire.ts): timestamps are RFC 3339 strings, not
// Dates. The bound is therefore the few metadata fields the cache itself relies on, which both
// client-node's classes (V1Job …) and their wire forms (Wire<V1Job>) satisfy.

/** The fields every cached object is keyed and versioned by. */
export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: StoredObject): string {
  return namespacedKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

/** The key objectKey gives the object of this namespace and name (for a store lookup by name). */
export function namespacedKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Maps an object to the values it is indexed under (an object may have several, or none). */
export type IndexFunc<T extends StoredObject> = (obj: T) => readonly string[];

export interface ReadonlyStore<T extends StoredObject> {
  /** The object with this key (see objectKey), if cached. */
  get(key: string): T | undefined;
  /** Every cached object, in no particular order. */
  list(): T[];
  /** The keys of every cached object, without copying the objects. */
  keys(): IterableIterator<string>;
  /** The objects whose index `indexName` yields `value`; throws UnknownIndexError if no such index was registered. */
  byIndex(indexName: string, value: string): T[];
  readonly size: number;
}

export type InformerEvent<T extends StoredObject> =
  | { type: 'added'; object: T }
  | { type: 'modified'; object: T; old: T }
  | { type: 'deleted'; object: T };
