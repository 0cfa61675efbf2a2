// Lease reads and writes, behind an interface so the elector runs against a fake in unit tests.
// The Kubernetes implementation takes any JSON requester with the shape of the informers'
// KubeClient (main passes that one: one shared agent) without importing it (ARCHITECTURE §3).

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    /** RFC 3339 with microseconds. */
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** A write lost a race: the Lease changed (or was created) since it was read. */
export class LeaseConflictError extends Error {
  override name = 'LeaseConflictError';
}

export interface LeaseApi {
  list(labelSelector: string, signal: AbortSignal): Promise<LeaseObject[]>;
  /** undefined if there is no such Lease. */
  get(name: string, signal: AbortSignal): Promise<LeaseObject | undefined>;
  /** Throws LeaseConflictError if it already exists. */
  create(lease: LeaseObject, signal: AbortSignal): Promise<LeaseObject>;
  /** Replaces the Lease; metadata.resourceVersion must be set. Throws LeaseConflictError if it changed. */
  update(lease: LeaseObject, signal: AbortSignal): Promise<LeaseObject>;
  /** Deletes the Lease if it still has this resourceVersion; absent is fine. */
  delete(name: string, resourceVersion: string, signal: AbortSignal): Promise<void>;
}

/** The part of the informers' KubeClient this module needs (structurally typed). */
export interface JsonRequester {
  request<T>(
    method: string,
    path: string,
    options?: {
      query?: Record<string, string | number | boolean | undefined>;
      body?: unknown;
      signal?: AbortSignal;
    },
  ): Promise<T>;
}

function statusCodeOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err) {
    const code = (err as { statusCode: unknown }).statusCode;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

export function kubeLeaseApi(client: JsonRequester, namespace: string): LeaseApi {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const conflictOr = (err: unknown, what: string): never => {
    if (statusCodeOf(err) === 409)
      throw new LeaseConflictError(`${what}: ${(err as Error).message}`, { cause: err });
    throw err;
  };
  return {
    async list(labelSelector, signal) {
      const body = await client.request<{ items?: LeaseObject[] }>('GET', base, {
        query: { labelSelector },
        signal,
      });
      return body.items ?? [];
    },
    async get(name, signal) {
      try {
        return await client.request<LeaseObject>('GET', `${base}/${encodeURIComponent(name)}`, { signal });
      } catch (err) {
        if (statusCodeOf(err) === 404) return undefined;
        throw err;
      }
    },
    async create(lease, signal) {
      try {
        return await client.request<LeaseObject>('POST', base, {
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease },
          signal,
        });
      } catch (err) {
        return conflictOr(err, `create Lease ${lease.metadata.name}`);
      }
    },
    async update(lease, signal) {
      try {
        return await client.request<LeaseObject>(
          'PUT',
          `${base}/${encodeURIComponent(lease.metadata.name)}`,
          {
            body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease },
            signal,
          },
        );
      } catch (err) {
        return conflictOr(err, `update Lease ${lease.metadata.name}`);
      }
    },
    async delete(name, resourceVersion, signal) {
      try {
        await client.request('DELETE', `${base}/${encodeURIComponent(name)}`, {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion } },
          signal,
        });
      } catch (err) {
        if (statusCodeOf(err) === 404) return;
        conflictOr(err, `delete Lease ${name}`);
      }
    },
  };
}
