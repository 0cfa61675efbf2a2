// Event handlers map an informer event to the queue keys it should wake (controller-runtime's
// handler.EnqueueRequestForObject / ForOwner / EnqueueRequestsFromMapFunc); predicates filter
// events before that. For a modification both the old and the new object are mapped, so a Job
// that moves from one owner to another wakes both.
import { type InformerEvent, namespacedKey, objectKey, type StoredObject } from '../informers/store-types.ts';

export type EventHandler<T extends StoredObject> = (event: InformerEvent<T>) => Iterable<string>;
export type Predicate<T extends StoredObject> = (event: InformerEvent<T>) => boolean;

interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  controller?: boolean;
}

interface MetaLike {
  namespace?: string;
  generation?: number;
  resourceVersion?: string;
  ownerReferences?: OwnerReference[];
  labels?: Record<string, string>;
}

function meta(obj: StoredObject): MetaLike {
  return (obj.metadata ?? {}) as MetaLike;
}

function objectsOf<T extends StoredObject>(event: InformerEvent<T>): T[] {
  return event.type === 'modified' ? [event.old, event.object] : [event.object];
}

/** The object's own key (`namespace/name`). */
export function enqueueObject<T extends StoredObject>(): EventHandler<T> {
  return (event) => [objectKey(event.object)];
}

/**
 * The key of the owner of the given kind (same namespace), from ownerReferences. `group` matches
 * the owner's apiVersion group ("" for core); by default only the managing controller reference
 * counts (controller: true), as with controller-runtime's OnlyControllerOwner.
 */
export function enqueueOwner<T extends StoredObject>(owner: {
  group: string;
  kind: string;
  onlyController?: boolean;
}): EventHandler<T> {
  const onlyController = owner.onlyController ?? true;
  return (event) => {
    const keys = new Set<string>();
    for (const obj of objectsOf(event)) {
      const { namespace, ownerReferences } = meta(obj);
      for (const ref of ownerReferences ?? []) {
        if (ref.kind !== owner.kind || !ref.name) continue;
        if (onlyController && ref.controller !== true) continue;
        if (groupOf(ref.apiVersion) !== owner.group) continue;
        keys.add(namespacedKey(namespace, ref.name));
      }
    }
    return keys;
  };
}

/** Keys computed from the object by `map` (e.g. from a label naming the record). */
export function enqueueMapped<T extends StoredObject>(map: (obj: T) => Iterable<string>): EventHandler<T> {
  return (event) => {
    const keys = new Set<string>();
    for (const obj of objectsOf(event)) for (const key of map(obj)) keys.add(key);
    return keys;
  };
}

/** Lets through everything but modifications that leave metadata.generation unchanged (status-only updates). */
export function generationChanged<T extends StoredObject>(): Predicate<T> {
  return (event) => event.type !== 'modified' || meta(event.old).generation !== meta(event.object).generation;
}

function groupOf(apiVersion: string | undefined): string {
  if (apiVersion === undefined) return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
