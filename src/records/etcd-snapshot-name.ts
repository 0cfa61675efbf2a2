// The EtcdSnapshotName claim (deploy/crds/etcdsnapshotnames.yaml): cluster-scoped, named by the
// snapshot or group snapshot ID a CSI name gives, created before any EtcdSnapshot record of the
// request. It holds the request's full source set, so that of two first Create calls with one name
// and other sources exactly one wins — the one whose create made it, or that found it with its own
// sources — whatever the interleaving and on whichever replica. The CSI server alone writes and
// deletes it; nothing watches it (a complete request answers from its records).

import { isNotFound } from '../kube/api-errors.ts';
import type { JsonPatchOp, JsonRequester, NamespacedCustomObjects } from '../kube/custom-objects.ts';
import { SNAPSHOT_GROUP, SNAPSHOT_VERSION } from './etcd-snapshot.ts';

export const ETCD_SNAPSHOT_NAME = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  plural: 'etcdsnapshotnames',
  kind: 'EtcdSnapshotName',
} as const;

export interface EtcdSnapshotNameSpec {
  driverName: string;
  /** `snapshot` for Controller.CreateSnapshot, `group` for CreateVolumeGroupSnapshot. */
  requestKind: 'snapshot' | 'group';
  requestName: string;
  /** The same digest the group's records carry (snapshot-records.ts sourcesDigest). */
  sourcesDigest: string;
  /** Sorted; for people reading the claim. */
  sourceVolumeIds: string[];
  sourceCount: number;
  parameters: Record<string, string>;
}

export interface EtcdSnapshotName {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
  };
  spec: EtcdSnapshotNameSpec;
}

/**
 * A client of the cluster-scoped claims with the shape of the namespaced record clients (the
 * namespace argument is ignored), so tests can count and wrap it the same way.
 */
export function snapshotNameClaims(client: JsonRequester): NamespacedCustomObjects<EtcdSnapshotName> {
  const { group, version, plural } = ETCD_SNAPSHOT_NAME;
  const collection = `/apis/${group}/${version}/${plural}`;
  const item = (name: string) => `${collection}/${encodeURIComponent(name)}`;
  const withSignal = (signal?: AbortSignal) => (signal ? { signal } : {});
  return {
    type: ETCD_SNAPSHOT_NAME,
    create: (_namespace, body, signal) =>
      client.request<EtcdSnapshotName>('POST', collection, { body, ...withSignal(signal) }),
    async get(_namespace, name, signal) {
      try {
        return await client.request<EtcdSnapshotName>('GET', item(name), withSignal(signal));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async list(labelSelector, signal) {
      const path = `${collection}?labelSelector=${encodeURIComponent(labelSelector)}`;
      return (
        (await client.request<{ items?: EtcdSnapshotName[] }>('GET', path, withSignal(signal))).items ?? []
      );
    },
    jsonPatch: (_namespace, name, ops: readonly JsonPatchOp[], signal) =>
      client.request<EtcdSnapshotName>('PATCH', item(name), {
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
