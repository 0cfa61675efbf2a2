// The EtcdRestore record (deploy/crds/etcdrestores.yaml): one request to bring an etcd cluster
// back from a snapshot, in the etcd cluster's namespace. A user (kubectl) or the CSI
// CreateVolume-from-snapshot door writes the spec; the restore reconciler
// (src/reconcile/etcd-restore) writes the status. Like the snapshot pipeline, all of a
// restore's state is in this status and in deterministic names (`snapshot-restore-<restore>-<member>`
// Jobs), so any replica can resume it after a crash or a failover.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ResourceDefinition } from '../informers/resources.ts';
import type { Wire } from '../informers/wire.ts';
import type { CustomResourceType } from '../kube/custom-objects.ts';
import { SNAPSHOT_GROUP, SNAPSHOT_VERSION } from './etcd-snapshot.ts';

export const ETCD_RESTORE: CustomResourceType = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  plural: 'etcdrestores',
  kind: 'EtcdRestore',
};

/** On restores the CSI door created: the CreateVolume request name (the PV name) they answer. */
export const LABEL_RESTORE_VOLUME_NAME = `${SNAPSHOT_GROUP}/restore-volume-name`;
/**
 * The condition a restore carries (status True) while a phase waits, its message saying for what;
 * the reconciler writes it and the CSI door repeats its message in "restore in progress".
 */
export const CONDITION_RESTORE_WAITING = 'Waiting';
/** W3C trace context of the request that created the restore, for the reconciler's spans. */
export { ANNOTATION_TRACEPARENT } from './etcd-snapshot.ts';

/**
 * What to restore from: exactly one field is set (the CRD's CEL rule and the reconciler's
 * Validate both check it). Names are in the restore's own namespace.
 */
export interface EtcdRestoreSource {
  volumeSnapshot?: { name: string };
  /** A group snapshot and which etcd cluster of the group (a group may span clusters). */
  volumeGroupSnapshot?: { name: string; cluster: string };
  /**
   * An EtcdSnapshot record by name. `encryptionKeySecret` decrypts the copy of an imported record
   * (its manifest names a key id, never a Secret); a record that names its own key Secret keeps it.
   */
  etcdSnapshot?: { name: string; encryptionKeySecret?: string };
  /** A remote copy in an object store, by its place in the layout; no record needed. */
  objectStore?: EtcdRestoreObjectStoreSource;
}

/**
 * A copy at `<prefix>/<namespace>/<cluster>/<snapshot>/` of the store the Secret configures
 * (docs/object-store.md). The Secrets are in the restore's namespace, named only (mounted into
 * the fetch Job, never read by the controller).
 */
export interface EtcdRestoreObjectStoreSource {
  /** The store's configuration Secret (endpoint, bucket, prefix, credentials …). */
  secretName: string;
  /** The Secret whose key `key` decrypts an encrypted copy. */
  encryptionKeySecret?: string;
  /** The namespace of the record the copy was made from; default: the restore's. */
  namespace?: string;
  /** The etcd cluster the copy was made of. */
  cluster: string;
  /** The EtcdSnapshot record's name the copy was made from. */
  snapshot: string;
  /** The snapshot claim the copy is fetched into; default `etcd-snapshots-<target cluster>`. */
  claimName?: string;
}

/** Where a restore fetches a remote copy to, before anything else reads it (written before the Job). */
export interface EtcdRestoreFetchStatus {
  /** The fetch Job's name. */
  job: string;
  secretName: string;
  encryptionKeySecret?: string;
  /** The copy's place in the store's layout. */
  namespace: string;
  cluster: string;
  snapshot: string;
  /** The claim and path (inside it) the verified file is written to. */
  claimName: string;
  path: string;
  /** The SHA-256 the file must have (a record's checksum); absent for a copy named by location. */
  expectedSha256?: string;
  /** Set when the Job wrote (or found) the file, verified: what it read from the copy. */
  fetched?: {
    sha256: string;
    sizeBytes: number;
    revision?: number;
    etcdVersion?: string;
    /** `s3://…` of the data object read. */
    object?: string;
  };
}

export interface EtcdRestoreTarget {
  /** The etcd cluster as discovery names it (the StatefulSet), in the restore's namespace. */
  cluster: string;
  /** etcd's data dir inside each member's container; default: the etcd container's --data-dir. */
  dataDir?: string;
  /**
   * Refusal of a cluster another operator manages (etcd-druid's Etcd would fight the scale-down)
   * is lifted only when this names that owner, e.g. `etcd-druid` (docs/restore.md).
   */
  allowManagedBy?: string;
  /** How long a target that does not exist yet (Velero restores claims first) is waited for. */
  waitForTargetSeconds?: number;
}

export interface EtcdRestoreOptions {
  /** `etcdutl --bump-revision` by max(1e9, 1.2 × (last revision seen − snapshot revision)); default true. */
  bumpRevision?: boolean;
  /** `etcdutl --mark-compacted` (needs bumpRevision); default true. */
  markCompacted?: boolean;
  /** `--initial-cluster-token`; default `restore-<uid>`. */
  clusterToken?: string;
  /** Keep each member's old data dir beside the restored one (rollback needs it); default true. */
  keepPreviousData?: boolean;
  /** Pods (in the restore's namespace) deleted after a successful restore so they reconnect. */
  restartPods?: { matchLabels?: Record<string, string> };
  /** Delete the finished restore after this many seconds; unset keeps it. */
  ttlSecondsAfterFinished?: number;
}

export interface EtcdRestoreSpec {
  source: EtcdRestoreSource;
  target: EtcdRestoreTarget;
  options?: EtcdRestoreOptions;
}

export type EtcdRestorePhase =
  | 'Pending'
  | 'Validating'
  | 'FetchingRemote'
  | 'VerifyingFile'
  | 'Quiescing'
  | 'Restoring'
  | 'Starting'
  | 'VerifyingResult'
  | 'Completed'
  | 'RollingBack'
  | 'RolledBack'
  | 'Failed';

/** One member of the restored cluster: what its Job was told and how far it got. */
export interface EtcdRestoreMemberStatus {
  /** etcd member name (the pod name for a StatefulSet member). */
  name: string;
  peerUrl: string;
  /** The member's data claim in the restore's namespace. */
  dataClaim: string;
  /** The restore Job's name, written BEFORE the Job is created. */
  job?: string;
  /** The rollback or drop-previous Job's name, written before it is created too. */
  rollbackJob?: string;
  dropJob?: string;
  state?: 'Pending' | 'Restored' | 'RolledBack' | 'PreviousDropped';
}

export interface EtcdRestoreStatus {
  phase?: EtcdRestorePhase;
  observedGeneration?: number;
  /** The snapshot record the source resolved to, and what Validate read from it. */
  snapshot?: {
    record: string;
    revision?: number;
    checksumSha256?: string;
    sizeBytes?: number;
    /** The record's keyCount: the keys the cluster held at the snapshot's revision. */
    keyCount?: number;
    etcdVersion?: string;
    /** The claim and path of the backup file. */
    claimName?: string;
    path?: string;
  };
  /** `<namespace>/<name>` of the target cluster: the key its bucket and turn are taken by. */
  clusterKey?: string;
  /** The StatefulSet the target runs as (Quiesce and Start scale it). */
  statefulSet?: string;
  /** The StatefulSet's replicas before Quiesce scaled it to 0: Start scales back to this. */
  recordedReplicas?: number;
  /** Where the members came from: the live MemberList (cross-checked) or the StatefulSet alone. */
  membersFrom?: 'member-list' | 'statefulset';
  /** etcd's data dir as the restore Jobs see it (the data claim mounted at DATA_MOUNT_PATH). */
  jobDataDir?: string;
  /** A remote copy fetched into a claim first (a remote-only record, or source.objectStore). */
  fetch?: EtcdRestoreFetchStatus;
  /** The agent `verify` Job that re-read the file before anything destructive. */
  verifyJob?: string;
  /** When the current phase began (RFC 3339): its span and its timeout start here. */
  phaseStartedAt?: string;
  /** Consumer pods deleted after a successful restore (restartPods), once. */
  restartedPods?: string[];
  members?: EtcdRestoreMemberStatus[];
  revisionBump?: number;
  clusterToken?: string;
  /** Set once any member's data was swapped: from here a failure rolls back. */
  swapStarted?: boolean;
  /**
   * RollingBack: set once every member's rollback Job succeeded, before the StatefulSet is scaled
   * back up; a rollback resumed after it only scales up and ends (never stops the cluster again).
   */
  previousDataBack?: boolean;
  /** What VerifyResult saw. */
  result?: { revision?: number; totalKeys?: number; leader?: string };
  /** A catalog reason (src/csi/errors.ts) when phase is Failed or RolledBack. */
  reason?: string;
  message?: string;
  /** The phase a failure happened in. */
  failedPhase?: EtcdRestorePhase;
  startedAt?: string;
  finishedAt?: string;
  conditions?: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
  }[];
}

export interface EtcdRestore {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
  spec: EtcdRestoreSpec;
  status?: EtcdRestoreStatus;
}

export const etcdRestoreResource: ResourceDefinition<EtcdRestore> = { ...ETCD_RESTORE, namespaced: true };

/** A restore that ended (nothing more will happen to the cluster for it). */
export function restoreFinished(restore: EtcdRestore): boolean {
  const phase = restore.status?.phase;
  return phase === 'Completed' || phase === 'Failed' || phase === 'RolledBack';
}

/** `<namespace>/<target cluster>`: the key of the etcd cluster a restore acts on (its bucket, its turn). */
export function restoreClusterKey(restore: EtcdRestore): string {
  return `${restore.metadata?.namespace ?? ''}/${restore.spec?.target?.cluster ?? ''}`;
}

/** Restores by restoreClusterKey: what one-operation-per-cluster looks up. */
export const INDEX_RESTORE_CLUSTER = 'restore-cluster-key';

export const etcdRestoreIndexers = {
  [INDEX_RESTORE_CLUSTER]: (r: EtcdRestore): string[] =>
    r.spec?.target?.cluster ? [restoreClusterKey(r)] : [],
};
