// What the reconciler needs of the world besides its informer caches, as interfaces: the API
// calls it makes (kube-api.ts implements them over KubeClient) and etcd's health check
// (src/etcd/health.ts). Unit tests give in-memory fakes; the e2e gives the real ones.

import type { EtcdCallObserver } from '../../etcd/client/call-observer.ts';
import type { EtcdCredentials, SecretLike } from '../../etcd/credentials.ts';
import type { PersistentVolumeClaim } from '../../informers/resources.ts';
import type { KubeEvent } from '../../kube/event-recorder.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { JobApi } from '../jobs/job-api.ts';

export type { KubeEvent } from '../../kube/event-recorder.ts';

/** The Job calls (src/reconcile/jobs/job-api.ts) and the pipeline's own. */
export interface PipelineApi extends JobApi {
  /** The Secret, or undefined when it does not exist. */
  getSecret(namespace: string, name: string, signal: AbortSignal): Promise<SecretLike | undefined>;
  /** Creates the claim; resolves (without error) when one of that name exists already. */
  createClaim(claim: PersistentVolumeClaim, signal: AbortSignal): Promise<void>;
  /** Replaces the record's status; 409 when its resourceVersion is stale. Returns the new record. */
  putStatus(record: EtcdSnapshot, signal: AbortSignal): Promise<EtcdSnapshot>;
  /** Removes a finalizer, guarded by the record's resourceVersion (409 when stale). */
  removeFinalizer(record: EtcdSnapshot, finalizer: string, signal: AbortSignal): Promise<void>;
  /** Records a core/v1 Event about the record (aggregated: src/kube/event-recorder.ts); failures are logged, never thrown. */
  recordEvent(record: EtcdSnapshot, event: KubeEvent, signal: AbortSignal): Promise<void>;
}

/** What CheckHealth reads (src/etcd/health.ts's ClusterHealth has at least these). */
export interface ClusterHealthView {
  members: readonly unknown[];
  hasQuorum: boolean;
  /** Voting members, and how many of them answered (default: every member, all answering). */
  memberCount?: number;
  reachableCount?: number;
  /** Client URL of the member to stream the snapshot from (a healthy follower, preferably). */
  source?: string;
  dbSizeBytes?: number;
  etcdVersion?: string;
}

/**
 * src/etcd/health.ts's checkClusterHealth; throws an EtcdError (its reason from the vocabulary)
 * on failure, a ClusterUnhealthyError (with the member counts) when the cluster itself is unhealthy.
 */
export type HealthChecker = (
  endpoints: string[],
  credentials: EtcdCredentials,
  options: { signal: AbortSignal; timeoutMs: number; onCall?: EtcdCallObserver },
) => Promise<ClusterHealthView>;

/** src/etcd/credentials.ts's credentialsFromSecret. */
export type CredentialsParser = (secret: SecretLike) => EtcdCredentials;
