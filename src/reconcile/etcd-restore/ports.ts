// What the restore reconciler needs of the world besides its informer caches: the API calls
// (kube-api.ts implements them over KubeClient) and a look at the live etcd cluster
// (live-cluster.ts implements it with src/etcd's client). Unit tests give in-memory fakes.
import type { EtcdCredentials, SecretLike } from '../../etcd/credentials.ts';
import type { Job, PersistentVolumeClaim, Pod } from '../../informers/resources.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';

export interface KubeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** A snapshot object of the external-snapshotter, as far as the source resolution reads it. */
export interface SnapshotObject {
  metadata?: { name?: string; namespace?: string; uid?: string };
  status?: {
    boundVolumeSnapshotContentName?: string;
    boundVolumeGroupSnapshotContentName?: string;
    readyToUse?: boolean;
  };
}

export interface RestoreApi {
  /** VolumeSnapshot (snapshot.storage.k8s.io/v1) or undefined. */
  getVolumeSnapshot(
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<SnapshotObject | undefined>;
  /** VolumeGroupSnapshot (groupsnapshot.storage.k8s.io, the served version) or undefined. */
  getVolumeGroupSnapshot(
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<SnapshotObject | undefined>;
  /** A cluster-scoped content's snapshot handle (`status.snapshotHandle` / `volumeGroupSnapshotHandle`). */
  getContentHandle(kind: 'single' | 'group', name: string, signal: AbortSignal): Promise<string | undefined>;
  getSecret(namespace: string, name: string, signal: AbortSignal): Promise<SecretLike | undefined>;
  /**
   * The namespace's EtcdSnapshot records as the API server has them now. Asked only when the
   * cache has no record for a source: a record made a moment ago (imported from the store, say)
   * may not have reached a lagging cache, and "not found" fails the restore for good.
   */
  listSnapshotRecords(namespace: string, signal: AbortSignal): Promise<EtcdSnapshot[]>;
  /** Sets the StatefulSet's replicas through its scale subresource. */
  scaleStatefulSet(namespace: string, name: string, replicas: number, signal: AbortSignal): Promise<void>;
  /** Pods of the StatefulSet's members as the API server has them now (never the lagging cache). */
  getPod(namespace: string, name: string, signal: AbortSignal): Promise<Pod | undefined>;
  /** Pods matching the labels, deleted (the restart of consumers). Returns their names. */
  deletePods(namespace: string, matchLabels: Record<string, string>, signal: AbortSignal): Promise<string[]>;
  /** Creates the Job; resolves when one of that name exists already (the caller checks its owner). */
  createJob(job: Job, signal: AbortSignal): Promise<void>;
  /** Creates the snapshot claim a remote copy is fetched into; resolves when it exists already. */
  createClaim(claim: PersistentVolumeClaim, signal: AbortSignal): Promise<void>;
  getJob(namespace: string, name: string, signal: AbortSignal): Promise<Job | undefined>;
  listJobPods(namespace: string, jobName: string, signal: AbortSignal): Promise<Pod[]>;
  /** The last lines of a pod's log; '' when it cannot be read. */
  podLogTail(namespace: string, pod: string, lines: number, signal: AbortSignal): Promise<string>;
  /** Replaces the restore's status; 409 when its resourceVersion is stale. */
  putStatus(restore: EtcdRestore, signal: AbortSignal): Promise<EtcdRestore>;
  /** Labels the restore for Velero to skip (one merge patch of metadata.labels); the restore as written. */
  excludeFromVelero(restore: EtcdRestore, signal: AbortSignal): Promise<EtcdRestore>;
  /** Deletes the restore (its TTL after finishing passed). */
  deleteRestore(restore: EtcdRestore, signal: AbortSignal): Promise<void>;
  /** Records a core/v1 Event about the restore; failures are logged, never thrown. */
  recordEvent(restore: EtcdRestore, event: KubeEvent, signal: AbortSignal): Promise<void>;
}

/** A member as etcd's MemberList tells it. */
export interface LiveMember {
  id: string;
  name: string;
  peerUrls: string[];
}

/** What the live cluster says: its members, and (when they answer) leader, revision and keys. */
export interface LiveClusterView {
  members: LiveMember[];
  /** Members that answered Status. */
  answering: number;
  /** Distinct leaders the answering members name ("0" = none). */
  leaders: string[];
  /** The newest revision (0 when the cluster has no leader to ask). */
  revision: number;
  /** Live keys at `countAtRevision`, as each answering member's own store has them (serializable reads). */
  keyCounts?: { member: string; count: number }[];
  /** Server version of the answering members (the lowest). */
  version?: string;
}

/**
 * Reads the cluster through the given endpoints; throws when no endpoint answers (a cluster
 * that is down). `countAtRevision` asks for the key count at that revision.
 */
export type LiveClusterProbe = (
  endpoints: string[],
  credentials: EtcdCredentials,
  options: { signal: AbortSignal; timeoutMs: number; countAtRevision?: number },
) => Promise<LiveClusterView>;

/** src/etcd/credentials.ts's credentialsFromSecret. */
export type CredentialsParser = (secret: SecretLike) => EtcdCredentials;
