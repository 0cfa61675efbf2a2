// The read side of an informer's cache, shared by every consumer (reconcilers, CSI handlers).
// Consumers only read: objects in a store are shared and must never be mutated.
import type { KubernetesObject } from '@kubernetes/client-node';

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KubernetesObject): string {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

/** Maps an object to the values it is indexed under (an object may have several, or none). */
export type IndexFunc<T extends KubernetesObject> = (obj: T) => readonly string[];

export interface ReadonlyStore<T extends KubernetesObject> {
  /** The object with this key (see objectKey), if cached. */
  get(key: string): T | undefined;
  /** Every cached object, in no particular order. */
  list(): T[];
  /** The objects whose index `indexName` yields `value`; throws if no such index was registered. */
  byIndex(indexName: string, value: string): T[];
  readonly size: number;
}

export type InformerEvent<T extends KubernetesObject> =
  | { type: 'added'; object: T }
  | { type: 'modified'; object: T; old: T }
  | { type: 'deleted'; object: T };
