// A small typed client for one namespaced custom resource over a JSON requester (the informer
// layer's KubeClient, which shares one keep-alive agent). Writes carry preconditions where the
// caller gives them, so a stale writer gets a 409 instead of overwriting a newer object.
import { isNotFound } from './api-errors.ts';

export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/** What this module needs of an HTTP client for the API server; throws on non-2xx answers. */
export interface JsonRequester {
  request<T>(
    method: string,
    path: string,
    options?: { body?: unknown; contentType?: string; signal?: AbortSignal },
  ): Promise<T>;
}

/** A GET whose answer is text, not JSON (a pod's log): KubeClient's requestText. */
export interface TextRequester {
  requestText(
    path: string,
    options?: { query?: Record<string, string | number | boolean | undefined>; signal?: AbortSignal },
  ): Promise<string>;
}

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

/** The object fields this client relies on. */
export interface NamespacedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export interface NamespacedCustomObjects<T extends NamespacedObject> {
  readonly type: CustomResourceType;
  // Every call takes the caller's AbortSignal (a CSI call's deadline), which aborts the request.
  /** Creates the object; rejects with 409 AlreadyExists when the name is taken. */
  create(namespace: string, body: T, signal?: AbortSignal): Promise<T>;
  /** The object as the API server has it now, or undefined. */
  get(namespace: string, name: string, signal?: AbortSignal): Promise<T | undefined>;
  /** Applies an RFC 6902 JSON patch. */
  jsonPatch(namespace: string, name: string, ops: readonly JsonPatchOp[], signal?: AbortSignal): Promise<T>;
  /** Objects of every namespace matching a label selector (a rare fallback when a cache lags). */
  list(labelSelector: string, signal?: AbortSignal): Promise<T[]>;
  /**
   * Deletes the object; with finalizers it stays, carrying deletionTimestamp, until they are
   * removed. Returns the API server's answer (the object, or a Status), undefined if there was none.
   */
  delete(
    namespace: string,
    name: string,
    preconditions?: Preconditions,
    signal?: AbortSignal,
  ): Promise<unknown>;
}

export function namespacedCustomObjects<T extends NamespacedObject>(
  client: JsonRequester,
  type: CustomResourceType,
): NamespacedCustomObjects<T> {
  const collection = (namespace: string) =>
    `/apis/${type.group}/${type.version}/namespaces/${encodeURIComponent(namespace)}/${type.plural}`;
  const item = (namespace: string, name: string) => `${collection(namespace)}/${encodeURIComponent(name)}`;
  return {
    type,
    create(namespace, body, signal) {
      return client.request<T>('POST', collection(namespace), { body, ...(signal ? { signal } : {}) });
    },
    async get(namespace, name, signal) {
      try {
        return await client.request<T>('GET', item(namespace, name), signal ? { signal } : {});
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async list(labelSelector, signal) {
      const path = `/apis/${type.group}/${type.version}/${type.plural}?labelSelector=${encodeURIComponent(labelSelector)}`;
      return (await client.request<{ items?: T[] }>('GET', path, signal ? { signal } : {})).items ?? [];
    },
    jsonPatch(namespace, name, ops, signal) {
      return client.request<T>('PATCH', item(namespace, name), {
        body: ops,
        contentType: 'application/json-patch+json',
        ...(signal ? { signal } : {}),
      });
    },
    async delete(namespace, name, preconditions, signal) {
      try {
        return await client.request<unknown>('DELETE', item(namespace, name), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', ...(preconditions ? { preconditions } : {}) },
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  };
}
