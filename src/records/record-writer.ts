// Writes records through the API and remembers each result in a read-your-writes view of the
// informer cache, so the next read (in this RPC or the next) sees the write at once.
import { objectKey } from '../informers/store-types.ts';
import { apiErrorKind } from '../kube/api-errors.ts';
import type { JsonPatchOp, NamespacedCustomObjects, NamespacedObject } from '../kube/custom-objects.ts';
import type { ReadYourWritesStore } from './read-your-writes.ts';

/** The record changed or vanished between our read and our write; a retry will see the truth. */
export class RecordConflict extends Error {
  override name = 'RecordConflict';
}

/** A record as this writer needs it: namespaced, versioned, possibly being deleted. */
export type RecordObject = NamespacedObject & {
  metadata?: { deletionTimestamp?: string; finalizers?: string[] };
};

export interface RecordWriter<T extends RecordObject> {
  readonly store: ReadYourWritesStore<T>;
  /**
   * Creates the record unless one of that name exists; returns the record that exists now and
   * whether this call made it. An existing record is read from the API (the cache may lag).
   */
  createIfAbsent(body: T, signal?: AbortSignal): Promise<{ record: T; created: boolean }>;
  /** The record as the API server has it now (after a conflict). */
  fetch(namespace: string, name: string, signal?: AbortSignal): Promise<T | undefined>;
  /** Records of any namespace with a label, from the API (the cache may lag); [] when the client cannot list. */
  findByLabel(labelSelector: string, signal?: AbortSignal): Promise<T[]>;
  /**
   * A JSON patch guarded by the record's resourceVersion: the patch sets it, and the API server
   * refuses an update whose resourceVersion is not current with 409, so a stale view never wins.
   */
  patch(record: T, ops: readonly JsonPatchOp[], signal?: AbortSignal): Promise<T>;
  /** Requests deletion (finalizers keep the object until they are removed); unknown → no-op. */
  delete(record: T, signal?: AbortSignal): Promise<void>;
}

export function recordWriter<T extends RecordObject>(
  api: NamespacedCustomObjects<T>,
  store: ReadYourWritesStore<T>,
): RecordWriter<T> {
  const { group, version, kind } = api.type;
  const fetch = async (namespace: string, name: string, signal?: AbortSignal) => {
    const current = await api.get(namespace, name, signal);
    if (current) store.wrote(current);
    return current;
  };
  return {
    store,
    async createIfAbsent(body, signal) {
      const namespace = body.metadata?.namespace ?? '';
      const name = body.metadata?.name ?? '';
      try {
        const record = await api.create(
          namespace,
          { apiVersion: `${group}/${version}`, kind, ...body },
          signal,
        );
        store.wrote(record);
        return { record, created: true };
      } catch (err) {
        if (apiErrorKind(err) !== 'already-exists') throw err;
      }
      const existing = await fetch(namespace, name, signal);
      // Created and deleted again between the two calls: let the caller retry.
      if (!existing) throw new RecordConflict(`${kind} ${namespace}/${name} was deleted while being created`);
      return { record: existing, created: false };
    },
    fetch,
    async findByLabel(labelSelector, signal) {
      const found = await api.list(labelSelector, signal);
      for (const record of found) store.wrote(record);
      return found;
    },
    async patch(record, ops, signal) {
      const { namespace = '', name = '', resourceVersion } = record.metadata ?? {};
      const guarded: JsonPatchOp[] = resourceVersion
        ? [{ op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion }, ...ops]
        : [...ops];
      const updated = await api.jsonPatch(namespace, name, guarded, signal);
      // Its last finalizer removed, an object being deleted is gone: the answer is its last state.
      if (updated.metadata?.deletionTimestamp && !updated.metadata.finalizers?.length)
        store.deleted(objectKey(updated), updated.metadata.resourceVersion);
      else store.wrote(updated);
      return updated;
    },
    async delete(record, signal) {
      const { namespace = '', name = '', uid } = record.metadata ?? {};
      const answer = await api.delete(namespace, name, uid ? { uid } : undefined, signal);
      const returned = (answer ?? undefined) as T | undefined;
      // With finalizers the API returns the object, now carrying deletionTimestamp; without, the
      // object is gone (the answer is the last state or a Status).
      if (
        returned?.kind === kind &&
        returned.metadata?.deletionTimestamp &&
        returned.metadata.finalizers?.length
      ) {
        store.wrote(returned);
      } else {
        store.deleted(
          objectKey(record),
          returned?.kind === kind ? returned.metadata?.resourceVersion : undefined,
        );
      }
    },
  };
}
