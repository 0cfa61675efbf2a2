// The snapshot claim of an etcd cluster: one PVC in the cluster's namespace holding a directory
// per snapshot. It has no owner: it outlives every record (and must, to keep their files). The
// pipeline's PrepareStorage makes it before a save; a restore that fetches a remote copy into a
// claim that is not there (a new cluster after a disaster) makes it the same way.
import type { PersistentVolumeClaim } from '../../informers/resources.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { APP_NAME, LABEL_APP, LABEL_CLUSTER, labelValue } from '../jobs/labels.ts';

const GI = 1024 ** 3;
/** Room for about three snapshots of the current size, each with a 20 % margin. */
export const DERIVED_SIZE_FACTOR = 3 * 1.2;

/** The claim's size: the option when set, else max(1Gi, dbSize × 3 × 1.2) rounded up to whole Gi. */
export function claimSize(option: string | undefined, dbSizeBytes: number | undefined): string {
  if (option) return option;
  const bytes = Math.max(GI, (dbSizeBytes ?? 0) * DERIVED_SIZE_FACTOR);
  return `${Math.ceil(bytes / GI)}Gi`;
}

/** Bytes that must be free before a save (the agent checks): the db size plus 20 %. */
export function minFreeBytes(dbSizeBytes: number | undefined): number | undefined {
  return dbSizeBytes === undefined ? undefined : Math.ceil(dbSizeBytes * 1.2);
}

/** Where a snapshot claim goes: what a record's spec says, or a restore's fetch of a remote copy. */
export interface SnapshotClaimPlace {
  namespace: string;
  claimName: string;
  /** The etcd cluster whose snapshots it holds (its label). */
  clusterName: string;
  /** '' or absent: the driver's default class. */
  storageClassName?: string;
}

export function buildSnapshotClaim(
  record: EtcdSnapshot,
  size: string,
  defaultStorageClass: string,
): PersistentVolumeClaim {
  return snapshotClaim(
    {
      namespace: record.spec.cluster.namespace,
      claimName: record.spec.storage.claimName,
      clusterName: record.spec.cluster.name,
      storageClassName: record.spec.storage.storageClassName,
    },
    size,
    defaultStorageClass,
  );
}

export function snapshotClaim(
  place: SnapshotClaimPlace,
  size: string,
  defaultStorageClass: string,
): PersistentVolumeClaim {
  const labels: Record<string, string> = { [LABEL_APP]: APP_NAME };
  const cluster = labelValue(place.clusterName);
  if (cluster) labels[LABEL_CLUSTER] = cluster;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: place.claimName, namespace: place.namespace, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: place.storageClassName || defaultStorageClass,
      resources: { requests: { storage: size } },
    },
  };
}
