// The EtcdSnapshot record (deploy/crds/etcdsnapshots.yaml): one per (snapshot request, etcd
// cluster). The CSI server writes its spec — the desired snapshot — and the pipeline reconciler
// writes its status. A group of N source volumes of one etcd cluster is one record, one backup
// file, N member snapshot IDs; a group spanning clusters has one record per cluster, all labelled
// with the group ID.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ResourceDefinition } from '../informers/resources.ts';
import type { IndexFunc } from '../informers/store-types.ts';
import type { Wire } from '../informers/wire.ts';
import type { CustomResourceType } from '../kube/custom-objects.ts';
import type { Reason } from '../reasons/reasons.ts';

export const SNAPSHOT_GROUP = 'snapshot.etcd-snapshot-driver.io';
export const SNAPSHOT_VERSION = 'v1alpha1';

export const ETCD_SNAPSHOT: CustomResourceType = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  plural: 'etcdsnapshots',
  kind: 'EtcdSnapshot',
};

export const LABEL_GROUP_SNAPSHOT_ID = `${SNAPSHOT_GROUP}/group-snapshot-id`;
export const LABEL_CLUSTER = `${SNAPSHOT_GROUP}/cluster`;
export const LABEL_DRIVER = `${SNAPSHOT_GROUP}/driver`;
/**
 * On every record the driver writes (and on EtcdRestores it takes): Velero skips items with this
 * label. A record restored by Velero would point at volumes and files of another life (a source
 * volume record holding a new claim's volume ID, a restore with no status running again); the
 * way back after a disaster is the off-cluster copies, never these records.
 */
export const LABEL_VELERO_EXCLUDE = 'velero.io/exclude-from-backup';
export const VELERO_EXCLUDED: Readonly<Record<string, string>> = { [LABEL_VELERO_EXCLUDE]: 'true' };
/** On single-snapshot records: the snapshot ID, so a replica whose cache lags finds the record. */
export const LABEL_SNAPSHOT_ID = `${SNAPSHOT_GROUP}/snapshot-id`;
/** W3C trace context of the request that created the record, for the pipeline's spans. */
export const ANNOTATION_TRACEPARENT = `${SNAPSHOT_GROUP}/traceparent`;
/** Held until the pipeline has removed the backup file; deleting the record is the delete request. */
export const FINALIZER_BACKUP_FILE = `${SNAPSHOT_GROUP}/backup-file`;

/**
 * How the etcd cluster was found (see src/etcd/discovery.ts for the order); `store-import`: not
 * found at all, the record was imported from an object store's manifest (spec.imported).
 */
export type DiscoveryMethod = 'pvc-annotation' | 'etcd-druid' | 'pods' | 'statefulset' | 'store-import';

export interface EtcdClusterRef {
  /** `<namespace>/<name>`: what ownership buckets hash and saves serialize on. */
  key: string;
  namespace: string;
  name: string;
  /** Client URLs (scheme://host:port), pod IPs where names would need cluster DNS. */
  endpoints: string[];
  /** Secret in the cluster's namespace with client credentials (kubernetes.io/tls or basic-auth). */
  credentialsSecret?: string;
  /**
   * Where the CA that signed the members' certificates is, when not in the credentials Secret's
   * ca.crt (etcd-druid's tlsCASecretRef): a Secret in the cluster's namespace and its key.
   */
  caSecret?: { name: string; key: string };
  discoveredBy: DiscoveryMethod;
}

export interface EtcdSnapshotMember {
  /** The CSI snapshot ID the CO knows this member by. */
  snapshotId: string;
  /** Echoed exactly as the CO sent it. */
  sourceVolumeId: string;
  sourceNamespace?: string;
  sourcePvcName?: string;
  /** Set by DeleteSnapshot of this member; the record goes when every member has it. */
  deletionRequested?: boolean;
}

/**
 * The off-cluster copy a record asks for (docs/object-store.md): Secrets by NAME only, in the
 * record's namespace, where the Jobs that mount them run — never their content.
 */
export interface ObjectStoreRef {
  /** Secret holding the store's configuration (endpoint, bucket, credentials …). */
  secretName: string;
  compression: 'none' | 'zstd' | 'gzip';
  compressionLevel?: number;
  /** Secret whose key `key` encrypts the copy client-side; absent: not encrypted by the driver. */
  encryptionKeySecret?: string;
  /** required: Ready only with the copy; best-effort: Ready without it, with a RemoteCopyFailed condition. */
  mode: 'required' | 'best-effort';
}

export interface EtcdSnapshotSpec {
  driverName: string;
  /** `snapshot` for Controller.CreateSnapshot, `group` for CreateVolumeGroupSnapshot. */
  requestKind: 'snapshot' | 'group';
  /** The CSI request's name (the VolumeSnapshotContent / group content name). */
  requestName: string;
  groupSnapshotId?: string;
  cluster: EtcdClusterRef;
  /** Fixed when the record is created: the first answer's member list never changes. */
  members: EtcdSnapshotMember[];
  /**
   * Digest of every source volume ID of the request (all clusters), so a record tells a repeat of
   * its request from a request of the same name with other sources.
   */
  sourcesDigest: string;
  /** The request's parameters without csi.storage.k8s.io/* keys: what idempotency compares. */
  parameters: Record<string, string>;
  snapshotTimeoutSeconds: number;
  retentionDays: number;
  /** Where the backup file goes (and is found again for restore). */
  storage: {
    storageClassName: string;
    /** Claim in the cluster's namespace holding the files; the pipeline creates it if absent. */
    claimName: string;
    /** Path of this record's file inside that claim. */
    path: string;
  };
  snapshotLabel?: string;
  snapshotPrefix?: string;
  /** Set: the verified file is also copied to this object store (an upload Job after the save). */
  objectStore?: ObjectStoreRef;
  /**
   * Set: the record was imported from the object store named by `objectStore` (`--import-from-store`,
   * docs/object-store.md "Disaster recovery"). No save ran here and no local file exists: the copy
   * is remote only, and `storage` says where a restore may fetch it to. The pipeline never saves
   * such a record; deleting it never deletes the remote copy.
   */
  imported?: ImportedFrom;
  createdBy: string;
}

export interface ImportedFrom {
  /** The store Secret (the record's namespace) the copy was listed with. */
  secretName: string;
  /** When the record was made from the manifest (RFC 3339). */
  importedAt: string;
}

export type EtcdSnapshotPhase = 'Pending' | 'Running' | 'Ready' | 'Failed' | 'Deleting';

export type EtcdSnapshotStep =
  | 'Discover'
  | 'CheckHealth'
  | 'ResolveCredentials'
  | 'PrepareStorage'
  | 'RunJob'
  | 'AwaitJob'
  | 'Verify'
  | 'Upload'
  | 'Ready'
  | 'Cleanup'
  | 'Failed';

export interface EtcdSnapshotStatus {
  phase?: EtcdSnapshotPhase;
  readyToUse?: boolean;
  /** When etcd's snapshot was taken (RFC 3339). */
  creationTime?: string;
  sizeBytes?: number;
  checksumSha256?: string;
  revision?: number;
  /**
   * The newest revision the driver saw on the live cluster when the save ended (at least
   * `revision`): a restore bumps past it so no client sees a revision reused (issue 12).
   */
  lastRevisionSeen?: number;
  etcdVersion?: string;
  sourceMember?: string;
  backupPath?: string;
  /** A reason of the vocabulary (src/reasons) when phase is Failed, or the blocking condition's. */
  reason?: Reason;
  message?: string;
  observedGeneration?: number;
  // Written by the pipeline reconciler (src/reconcile/etcd-snapshot, docs/pipeline.md): its state
  // lives here and in deterministic object names only, so any replica can resume it.
  /** The pipeline step the record is at, or failed in. */
  step?: EtcdSnapshotStep;
  /** The save Job's name, written BEFORE the Job is created: set means a file may exist. */
  saveJob?: string;
  /**
   * The upload Job's name, written BEFORE it is created and together with the save's results
   * (checksum, size, revision …): set means the save is judged and a remote copy may exist.
   */
  uploadJob?: string;
  /** The remote copy the upload Job reported (absent until it succeeded). */
  remote?: RemoteCopyStatus;
  /** A scheduled verify of the remote copy (`agent verify --remote`): its Job, written before it is created. */
  remoteVerifyJob?: string;
  /** When the remote copy was last verified (RFC 3339), whatever the outcome (condition RemoteCopyVerified). */
  remoteVerifiedAt?: string;
  /** Client URLs the save uses, the preferred source first (rediscovered at Discover). */
  endpoints?: string[];
  /** etcd's database size at CheckHealth: sizes the claim and the agent's free-space check. */
  dbSizeBytes?: number;
  /** etcdutl's TotalKey of the file: its key revisions (overwrites and deletions too, until compacted). */
  totalKeys?: number;
  /** The keys the cluster held at `revision` (the save's count-only range): what a restore must hold. */
  keyCount?: number;
  /** When the save Job was started, and when the record became Ready or Failed (RFC 3339). */
  startedAt?: string;
  finishedAt?: string;
  /** Atomic groups: the record of the group whose failure this record took over. */
  failedWith?: string;
  /** etcd member IDs CheckHealth saw; the save is judged against them when it ends. */
  memberIds?: string[];
  /** uid of a save Job whose result was discarded (the members changed); never judged again. */
  discardedSaveJob?: string;
  conditions?: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    reason?: Reason;
    message?: string;
    lastTransitionTime?: string;
  }[];
}

export interface RemoteCopyStatus {
  /** `s3://<bucket>/<prefix>/<namespace>/<cluster>/<snapshot>/`. */
  location: string;
  /** `s3://…` of the data object. */
  object: string;
  /** SHA-256 (hex) and size of the stored bytes (after compression and encryption). */
  sha256: string;
  sizeBytes: number;
  compression: 'none' | 'zstd' | 'gzip';
  /** Id of the client-side encryption key (never the key). */
  keyId?: string;
}

/** As the API server's JSON has it (timestamps are RFC 3339 strings). */
export interface EtcdSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
  spec: EtcdSnapshotSpec;
  status?: EtcdSnapshotStatus;
}

/** What the informer factory lists and watches (src/informers/resources.ts has it untyped too). */
export const etcdSnapshotResource: ResourceDefinition<EtcdSnapshot> = { ...ETCD_SNAPSHOT, namespaced: true };

// Informer indexes over EtcdSnapshot records; every CSI ID leads to its record through one.
export const INDEX_SNAPSHOT_ID = 'snapshot-id';
export const INDEX_GROUP_SNAPSHOT_ID = 'group-snapshot-id';
export const INDEX_SOURCE_VOLUME_ID = 'source-volume-id';

export const etcdSnapshotIndexers: Record<string, IndexFunc<EtcdSnapshot>> = {
  [INDEX_SNAPSHOT_ID]: (r) => (r.spec?.members ?? []).map((m) => m.snapshotId),
  [INDEX_GROUP_SNAPSHOT_ID]: (r) => (r.spec?.groupSnapshotId ? [r.spec.groupSnapshotId] : []),
  [INDEX_SOURCE_VOLUME_ID]: (r) => [...new Set((r.spec?.members ?? []).map((m) => m.sourceVolumeId))],
};

/** A record whose deletion was asked for (the pipeline still removes its file). */
export function isBeingDeleted(record: EtcdSnapshot): boolean {
  return Boolean(record.metadata?.deletionTimestamp);
}
