// A remote copy's manifest → the EtcdSnapshot record a cluster that lost everything needs to see
// it (docs/object-store.md, "Disaster recovery"): same name and namespace as the record that
// made it, the same CSI snapshot and group IDs (so ListSnapshots, and lookups by ID, find it),
// Ready with the db's checksum, size and revision and the copy's place, and marked imported: no
// save ran here and there is no local file. Pure, unit-tested on its own.
import { s3Url, snapshotPrefix } from '../../objectstore/layout.ts';
import type { Manifest } from '../../objectstore/manifest.ts';
import {
  ETCD_SNAPSHOT,
  type EtcdSnapshot,
  type EtcdSnapshotStatus,
  FINALIZER_BACKUP_FILE,
  LABEL_CLUSTER,
  LABEL_DRIVER,
  LABEL_GROUP_SNAPSHOT_ID,
  LABEL_SNAPSHOT_ID,
  VELERO_EXCLUDED,
} from '../../records/etcd-snapshot.ts';
import { sourcesDigest } from '../../records/hash-id.ts';
import { snapshotClaimName } from '../../records/snapshot-claim.ts';

/** The CRD's bounds (deploy/crds/etcdsnapshots.yaml): an imported record never saves, so any value in range will do. */
const IMPORTED_TIMEOUT_SECONDS = 600;
/** Retention of imported records is the store's (retention skips them): the CRD's maximum. */
const IMPORTED_RETENTION_DAYS = 3650;

export interface ImportContext {
  driverName: string;
  /** The store Secret the copy was listed with (in the copy's namespace). */
  secretName: string;
  bucket: string;
  prefix: string;
  /** The storage class of the claim a restore may fetch the file into. */
  storageClass: string;
  createdBy: string;
  now: Date;
}

export type ImportPlan = { kind: 'record'; record: EtcdSnapshot } | { kind: 'refused'; message: string };

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelValue = (v: string) => (v.length <= 63 && LABEL_VALUE.test(v) ? v : undefined);

/** The record (spec and status) for a checked manifest, or why it cannot be imported. */
export function recordFromManifest(manifest: Manifest, ctx: ImportContext): ImportPlan {
  const { namespace, cluster, snapshot } = manifest.location;
  const volumes = manifest.volumeSnapshots;
  if (!volumes || !manifest.request) {
    return {
      kind: 'refused',
      message: `the manifest (driver ${manifest.driverVersion}) does not record the copy's CSI snapshot IDs; restore it by hand (docs/object-store.md)`,
    };
  }
  if (manifest.request.kind === 'group' && !manifest.groupSnapshotId) {
    return { kind: 'refused', message: 'the manifest records a group request without its group snapshot ID' };
  }
  const labels: Record<string, string> = { ...VELERO_EXCLUDED };
  if (manifest.groupSnapshotId) labels[LABEL_GROUP_SNAPSHOT_ID] = manifest.groupSnapshotId;
  else if (volumes.length === 1 && volumes[0]) labels[LABEL_SNAPSHOT_ID] = volumes[0].snapshotId;
  const clusterLabel = labelValue(cluster);
  if (clusterLabel) labels[LABEL_CLUSTER] = clusterLabel;
  const driverLabel = labelValue(ctx.driverName);
  if (driverLabel) labels[LABEL_DRIVER] = driverLabel;

  const record: EtcdSnapshot = {
    apiVersion: `${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`,
    kind: ETCD_SNAPSHOT.kind,
    metadata: {
      name: snapshot,
      namespace,
      labels,
      // The pipeline's deletion flow releases it at once (no save, no file); a restore that
      // fetched the file here and said so (status.backupPath) has it removed first.
      finalizers: [FINALIZER_BACKUP_FILE],
    },
    spec: {
      driverName: ctx.driverName,
      requestKind: manifest.request.kind,
      requestName: manifest.request.name,
      ...(manifest.groupSnapshotId ? { groupSnapshotId: manifest.groupSnapshotId } : {}),
      cluster: {
        key: `${namespace}/${cluster}`,
        namespace,
        name: cluster,
        endpoints: [],
        discoveredBy: 'store-import',
      },
      members: volumes
        .map((v) => ({ snapshotId: v.snapshotId, sourceVolumeId: v.sourceVolumeId }))
        .sort((a, b) => a.sourceVolumeId.localeCompare(b.sourceVolumeId)),
      sourcesDigest: sourcesDigest(volumes.map((v) => v.sourceVolumeId)),
      parameters: {},
      snapshotTimeoutSeconds: IMPORTED_TIMEOUT_SECONDS,
      retentionDays: IMPORTED_RETENTION_DAYS,
      // Where a restore fetches the file to: the cluster's usual claim, the usual path.
      storage: {
        storageClassName: ctx.storageClass,
        claimName: snapshotClaimName(cluster),
        path: `${snapshot}/snapshot.db`,
      },
      objectStore: {
        secretName: ctx.secretName,
        compression: manifest.compression.algorithm,
        ...(manifest.compression.level !== undefined && manifest.compression.level >= 1
          ? { compressionLevel: manifest.compression.level }
          : {}),
        mode: 'required',
      },
      imported: { secretName: ctx.secretName, importedAt: ctx.now.toISOString() },
      createdBy: ctx.createdBy,
    },
  };
  return { kind: 'record', record };
}

/** The status of an imported record: Ready, the db as the manifest describes it, the copy's place. */
export function importedStatus(
  manifest: Manifest,
  ctx: Pick<ImportContext, 'bucket' | 'prefix' | 'now'>,
): EtcdSnapshotStatus {
  const dir = snapshotPrefix(ctx.prefix, manifest.location);
  return {
    phase: 'Ready',
    readyToUse: true,
    step: 'Ready',
    creationTime: manifest.createdAt,
    sizeBytes: manifest.db.sizeBytes,
    checksumSha256: manifest.db.sha256,
    ...(manifest.revision !== undefined ? { revision: manifest.revision } : {}),
    ...(manifest.etcdVersion ? { etcdVersion: manifest.etcdVersion } : {}),
    ...(manifest.sourceMember ? { sourceMember: manifest.sourceMember } : {}),
    finishedAt: ctx.now.toISOString(),
    remote: {
      location: s3Url(ctx.bucket, dir),
      object: s3Url(ctx.bucket, manifest.object.key),
      sha256: manifest.object.sha256,
      sizeBytes: manifest.object.sizeBytes,
      compression: manifest.compression.algorithm,
      ...(manifest.encryption.algorithm === 'none' ? {} : { keyId: manifest.encryption.keyId }),
    },
  };
}
