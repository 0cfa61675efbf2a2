// The reason vocabulary: every name the driver uses to say why something failed or waits, in
// one leaf module that records, etcd, agent, reconcile, csi and telemetry all import (it imports
// nothing). A reason travels unchanged from where it is decided (an EtcdError, an AgentFailure, a
// phase's fail(reason, …)) into a record's status.reason and conditions, a Warning Event, a metric
// label and a CSI answer. The names of the seed's error catalog (§13) are kept.
//
// Adding a reason: its name and one-line "when" here; its gRPC code in src/csi/errors.ts (tsc
// fails until it has one); its row in docs/csi.md's error table and a scenario in
// test/unit/csi/error-table.test.ts and test/integration/csi/csi.test.ts (they fail until both
// exist). docs/architecture.md, "The reason vocabulary", says the rest.

/** Reason → when the driver uses it (the "when" column of docs/csi.md's error table). */
export const REASONS = {
  // --- request validation ---
  MALFORMED_REQUEST: 'the request bytes are not a well-formed protobuf message of the method’s type',
  INVALID_UTF8: 'a string field is not valid UTF-8',
  FIELD_TOO_LARGE: 'a request field exceeds its size limit (the Limits table of docs/csi.md)',
  MISSING_NAME: 'name is empty',
  NAME_TOO_LONG: 'name is longer than 128 bytes',
  MISSING_VOLUME_ID: 'volume_id / source_volume_id is empty',
  MISSING_SNAPSHOT_ID: 'snapshot_id is empty',
  MISSING_GROUP_SNAPSHOT_ID: 'group_snapshot_id is empty',
  MISSING_SOURCE_VOLUMES: 'source_volume_ids is empty',
  MISSING_TARGET_PATH: 'NodeUnpublishVolume target_path is empty',
  TOO_MANY_VOLUMES: 'more than 64 source volumes in one group',
  DUPLICATE_SOURCE_VOLUME: 'a source volume is listed twice',
  MISSING_VOLUME_CAPABILITIES: 'volume_capabilities is empty',
  INVALID_VOLUME_CAPABILITY: 'a capability has no access type (mount/block) or no known access mode',
  INVALID_CAPACITY_RANGE: 'capacity_range has a negative value or limit_bytes < required_bytes',
  UNKNOWN_PARAMETER:
    'parameters has a key outside the schema (csi.storage.k8s.io/* keys are accepted and ignored)',
  INVALID_PARAMETER: 'a parameter value breaks the schema (type, range 60–3600 / 1–3650, name syntax)',
  PARAMETERS_TOO_LARGE: 'parameters exceed 32 entries or 4 KiB',
  VOLUME_CONTENT_SOURCE_UNSUPPORTED:
    'CreateVolume from another volume (a clone) that exists: not supported; restore from a snapshot',
  MALFORMED_VOLUME_ID: 'a volume ID is not <namespace>/<name> (CreateSnapshot, CreateVolumeGroupSnapshot)',
  INVALID_MAX_ENTRIES: 'ListSnapshots max_entries is negative',
  INVALID_STARTING_TOKEN: 'ListSnapshots starting_token was not issued by this driver',
  SNAPSHOT_IDS_MISMATCH: 'Get/DeleteVolumeGroupSnapshot snapshot_ids name a snapshot outside the group',
  // --- lookups ---
  VOLUME_NOT_FOUND:
    'a well-formed volume ID names no volume record and no claim; ValidateVolumeCapabilities also for a malformed ID',
  CONTENT_SOURCE_NOT_FOUND:
    'CreateVolume’s volume_content_source names a snapshot or volume that does not exist',
  CLAIM_NOT_FOUND: 'CreateVolume names a claim (csi.storage.k8s.io/pvc/*) that is not in the cache',
  GROUP_SNAPSHOT_NOT_FOUND: 'GetVolumeGroupSnapshot of an unknown ID',
  ETCD_CLUSTER_NOT_FOUND:
    'no etcd cluster is named or none is discoverable (annotations, druid Etcd, pods, StatefulSets)',
  PVC_NOT_BOUND: 'a source volume’s claim is not Bound',
  // --- idempotency and concurrency ---
  VOLUME_ALREADY_EXISTS: 'CreateVolume name exists with another capacity, cluster or parameters',
  SNAPSHOT_ALREADY_EXISTS: 'CreateSnapshot name exists with another source volume or parameters',
  GROUP_SNAPSHOT_ALREADY_EXISTS:
    'CreateVolumeGroupSnapshot name exists with other source volumes or parameters',
  SNAPSHOT_DELETION_IN_PROGRESS: 'Create of a snapshot or group whose record is being deleted',
  CONCURRENT_UPDATE: 'a record changed under a write (409); retry',
  // --- terminal reasons the pipeline writes into a record's status (seed §13) ---
  ETCD_ENDPOINTS_UNREACHABLE: 'no etcd endpoint answered',
  ETCD_QUORUM_LOST: 'fewer than a quorum of members answer',
  ETCD_NO_LEADER: 'the etcd cluster has no leader',
  AUTH_CERT_INVALID: 'client certificate expired or invalid',
  AUTH_CERT_NOT_FOUND: 'the credentials Secret does not exist',
  AUTH_PERMISSION_DENIED: 'the etcd credentials lack permission',
  AUTH_BASIC_INVALID: 'etcd user/password rejected',
  STORAGE_PVC_NOT_FOUND: 'the snapshot storage claim is missing',
  STORAGE_QUOTA_EXCEEDED: 'the snapshot storage is full',
  STORAGE_WRITE_FAILED: 'the snapshot file could not be written',
  JOB_CREATION_FAILED: 'the snapshot Job could not be created',
  JOB_TIMEOUT: 'the snapshot Job exceeded its deadline',
  JOB_IMAGE_PULL_FAILED: 'the Job image could not be pulled',
  JOB_POD_EVICTED: 'the Job pod was evicted',
  CHECKSUM_MISMATCH: 'the snapshot file failed its integrity check',
  SNAPSHOT_STATUS_FAILED: 'snapshot verification failed',
  SNAPSHOT_INCOMPLETE: 'the snapshot file is truncated',
  SNAPSHOT_CREATION_IN_PROGRESS: 'another save of the cluster holds it',
  CLUSTER_MODIFICATION_IN_PROGRESS: 'etcd membership is changing',
  SNAPSHOT_FAILED: 'a record failed without a catalogued reason',
  // --- the agent's restore of one member's data dir (docs/agent.md, "Restore") ---
  RESTORE_FAILED: 'etcdutl snapshot restore failed, or etcdutl is not on PATH',
  RESTORE_DATA_DIR_MISSING:
    'the parent of the member’s data dir is not a directory (its data claim is not mounted)',
  RESTORE_DATA_DIR_IS_MOUNT:
    'the member’s data dir is a mount point of its own (the swap renames inside one filesystem)',
  RESTORE_NOT_FINISHED: 'a drop of the previous data without a finished restore of this uid',
  RESTORE_PREVIOUS_DATA_DROPPED: 'a rollback after the data it would put back was dropped',
  RESTORE_STATE_INCONSISTENT:
    'the data dir and the paths beside it are in a state no run leaves; nothing is touched',
  // --- object store (docs/object-store.md) ---
  OBJECT_STORE_CONFIG_INVALID:
    'the object store Secret is missing or a key of it is invalid (the message names the key)',
  OBJECT_STORE_KEY_INVALID:
    'the client-side encryption key is malformed, missing or not the key a copy was encrypted with',
  OBJECT_STORE_UNREACHABLE: 'the object store endpoint did not answer',
  OBJECT_STORE_AUTH_FAILED: 'the object store refused the credentials (403, a bad signature or key)',
  OBJECT_STORE_BUCKET_NOT_FOUND: 'the object store has no such bucket',
  OBJECT_STORE_NOT_FOUND: 'a remote copy’s manifest or data object does not exist',
  OBJECT_STORE_REQUEST_FAILED:
    'the object store refused or failed a request otherwise (its S3 error code in the message)',
  OBJECT_STORE_COPY_CONFLICT:
    'a remote copy of the snapshot already exists with other bytes (or an unreadable manifest); it is not overwritten',
  // --- restore --- (an EtcdRestore's status.reason, written by the restore engine, docs/restore.md)
  RESTORE_INVALID_SPEC:
    'an EtcdRestore spec the CRD admits but the engine cannot do (source count, markCompacted without a bump)',
  RESTORE_SNAPSHOT_NOT_FOUND:
    'the restore source names no VolumeSnapshot, group or EtcdSnapshot, or no record of this driver holds it',
  RESTORE_SNAPSHOT_NOT_READY:
    'the restore source is not bound, not Ready, being deleted, or has no checksum or revision',
  RESTORE_TARGET_NOT_FOUND: 'the target StatefulSet does not exist (after waitForTargetSeconds) or went away',
  RESTORE_TARGET_MANAGED:
    'another operator (etcd-druid’s Etcd, a controller owner) manages the target and allowManagedBy does not name it',
  RESTORE_MEMBERSHIP_UNRESOLVABLE:
    'the members cannot be known: the live member list and the StatefulSet disagree, no etcd container, 0 replicas',
  RESTORE_DATA_CLAIM_MISSING: 'a member’s data claim does not exist, or no claim template holds the data dir',
  RESTORE_DATA_CLAIM_TOO_SMALL: 'a member’s data claim holds less than 2 × the snapshot’s database',
  RESTORE_ETCD_VERSION_TOO_OLD: 'the snapshot was taken by a newer etcd minor version than the target runs',
  RESTORE_QUIESCE_TIMEOUT:
    'the members’ pods did not go after the scale to 0 (nothing was restored; the StatefulSet is scaled back)',
  RESTORE_VERIFICATION_FAILED:
    'the restored cluster failed VerifyResult (members, leader, revision, key counts) and was rolled back',
  // --- restore door (CreateVolume from a snapshot, docs/restore.md) ---
  RESTORE_TARGET_UNKNOWN:
    'CreateVolume from a snapshot for no claim, a claim outside the snapshot’s namespace (a data-mover backup PVC) or one without etcd.io/cluster; nothing is restored',
  VOLUME_SOURCE_NOT_READY:
    'CreateVolume from a snapshot whose record is not Ready with a checksum; nothing is restored',
  VOLUME_RESTORE_IN_PROGRESS:
    'CreateVolume from a snapshot while its EtcdRestore has not completed (csi-provisioner retries)',
  VOLUME_RESTORE_FAILED:
    'the EtcdRestore of a CreateVolume ended Failed or RolledBack with a reason this catalog does not know, or whose code csi-provisioner retries as in progress (ABORTED, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED); another known reason answers its own code',
  // --- schedules ---
  // An EtcdSnapshotSchedule's Valid condition and lastFailure (docs/schedules.md).
  SCHEDULE_INVALID:
    'a schedule’s cron expression, time zone, target or retention is invalid (or keeps nothing)',
  SCHEDULE_CLASS_NOT_FOUND: 'a schedule’s snapshot class does not exist',
  SCHEDULE_NO_TARGETS: 'a schedule’s target matches no Bound source claim of the driver in its namespace',
  SCHEDULE_RUN_FAILED: 'a scheduled snapshot failed without a catalogued reason in its error',
  // --- the driver's own Kubernetes API calls and its state ---
  KUBE_FORBIDDEN: 'the API server refused the driver (RBAC, 401/403)',
  KUBE_UNAVAILABLE: 'the API server is unreachable, overloaded (429) or failing (5xx)',
  KUBE_REJECTED: 'the API server rejected a record the driver wrote (400/422)',
  NOT_READY: 'the informer caches have not synced yet',
  // --- the call itself ---
  CANCELLED: 'the client cancelled the call',
  DEADLINE_EXCEEDED:
    'the call’s deadline passed before an answer; for a snapshot record, its etcd members took the health check’s calls but answered too slowly until snapshotTimeoutSeconds ran out',
  UNIMPLEMENTED: 'any CSI method the driver does not serve',
  INTERNAL: 'anything unexpected; the cause is logged, not returned',
} as const;

export type Reason = keyof typeof REASONS;

export function isReason(value: string): value is Reason {
  return Object.hasOwn(REASONS, value);
}

/** A named part of the vocabulary: a name outside it fails tsc. */
export type ReasonSubset<T extends Reason> = T;

/** The snapshot storage failed: the `error_type` values of etcd_snapshot_storage_errors_total. */
export const STORAGE_REASONS = [
  'STORAGE_PVC_NOT_FOUND',
  'STORAGE_QUOTA_EXCEEDED',
  'STORAGE_WRITE_FAILED',
] as const satisfies readonly Reason[];

export type StorageReason = (typeof STORAGE_REASONS)[number];
