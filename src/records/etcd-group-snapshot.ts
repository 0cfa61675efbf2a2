// The EtcdGroupSnapshot claim (deploy/crds/etcdgroupsnapshots.yaml): cluster-scoped, named by the
// group snapshot ID, created before any EtcdSnapshot record of the group. It holds the request's
// full source set, so that of two first CreateVolumeGroupSnapshot calls with one name and other
// sources exactly one wins — the one whose create made it, or that found it with its own sources —
// whatever the interleaving and on whichever replica. The CSI server alone writes and deletes it;
// nothing watches it (a complete group answers from its records).

import { isNotFound } from '../kube/api-errors.ts';
import type { JsonPatchOp, JsonRequester, NamespacedCustomObjects } from '../kube/custom-objects.ts';
import { SNAPSHOT_GROUP, SNAPSHOT_VERSION } from './etcd-snapshot.ts';

export const ETCD_GROUP_SNAPSHOT = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  plural: 'etcdgroupsnapshots',
  kind: 'EtcdGroupSnapshot',
} as const;

export interface EtcdGroupSnapshotSpec {
  driverName: string;
  requestName: string;
  /** The same digest the group's records carry (snapshot-records.ts sourcesDigest). */
  sourcesDigest: string;
  /** Sorted; for people reading the claim. */
  sourceVolumeIds: string[];
  sourceCount: number;
  parameters: Record<string, string>;
}

export interface EtcdGroupSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
  };
  spec: EtcdGroupSnapshotSpec;
}

/**
 * A client of the cluster-scoped claims with the shape of the namespaced record clients (the
 * namespace argument is ignored), so tests can count and wrap it the same way.
 */
export function groupSnapshotClaims(client: JsonRequester): NamespacedCustomObjects<EtcdGroupSnapshot> {
  const { group, version, plural } = ETCD_GROUP_SNAPSHOT;
  const collection = `/apis/${group}/${version}/${plural}`;
  const item = (name: string) => `${collection}/${encodeURIComponent(name)}`;
  const withSignal = (signal?: AbortSignal) => (signal ? { signal } : {});
  return {
    type: ETCD_GROUP_SNAPSHOT,
    create: (_namespace, body, signal) =>
      client.request<EtcdGroupSnapshot>('POST', collection, { body, ...withSignal(signal) }),
    async get(_namespace, name, signal) {
      try {
        return await client.request<EtcdGroupSnapshot>('GET', item(name), withSignal(signal));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    jsonPatch: (_namespace, name, ops: readonly JsonPatchOp[], signal) =>
      client.request<EtcdGroupSnapshot>('PATCH', item(name), {
        body: ops,
        contentType: 'application/json-patch+json',
        ...withSignal(signal),
      }),
    async delete(_namespace, name, preconditions, signal) {
      try {
        return await client.request<unknown>('DELETE', item(name), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', ...(preconditions ? { preconditions } : {}) },
          ...withSignal(signal),
        });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  };
}
