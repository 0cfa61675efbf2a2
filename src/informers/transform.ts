// Trimming cached objects. managedFields is often a third of an object's JSON and no controller
// reads it; kubectl's last-applied annotation repeats the whole spec. Dropping both is the default
// for every informer; resource definitions may add their own trimming on top (see resources.ts).
import type { StoredObject } from './store-types.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface TrimmableMeta {
  managedFields?: unknown;
  annotations?: Record<string, string>;
}

/** Removes managedFields and the last-applied annotation, in place. */
export function dropManagedFields<T extends StoredObject>(obj: T): T {
  const meta = obj.metadata as TrimmableMeta | undefined;
  if (meta === undefined) return obj;
  if (meta.managedFields !== undefined) delete meta.managedFields;
  if (meta.annotations?.[LAST_APPLIED] !== undefined) {
    delete meta.annotations[LAST_APPLIED];
    if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
  }
  return obj;
}

/** Applies the default trim, then the resource's own transform if it has one. */
export function composeTransform<T extends StoredObject>(custom: ((obj: T) => T) | undefined): (obj: T) => T {
  if (custom === undefined) return dropManagedFields;
  return (obj) => custom(dropManagedFields(obj));
}
