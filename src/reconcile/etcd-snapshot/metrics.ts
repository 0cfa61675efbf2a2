// Metric hooks of the snapshot pipeline. src/telemetry implements them with its prom-client
// registry (seed §15 names); the pipeline calls them and never imports prom-client itself.
import type { MemberCounts } from '../../etcd/errors.ts';
import type { Reason, StorageReason } from '../../reasons/reasons.ts';
import type { ClusterHealthView } from './ports.ts';

export type { MemberCounts };

export interface PipelineMetrics {
  /** A save (create) or file removal (delete) ended; status is `success` or the failure's reason. */
  operationFinished(o: {
    operation: 'create' | 'delete';
    status: 'success' | Reason;
    cluster: string;
    durationSeconds: number;
  }): void;
  /** Size of the snapshot just made. */
  snapshotSize(cluster: string, bytes: number): void;
  /** What the CheckHealth phase saw: every check that judged the cluster, healthy or not. */
  clusterHealth(cluster: string, members: MemberCounts, hasQuorum: boolean): void;
  /** One request to etcd (operation: status, member_list, authenticate, …); ok false when it failed. */
  etcdRequest(cluster: string, operation: string, seconds: number, ok: boolean): void;
  /** Distinct etcd server versions among the members that answered CheckHealth (>1: skew). */
  memberVersions(cluster: string, distinct: number): void;
  /** A save Job ran past its deadline. */
  jobTimeout(cluster: string): void;
  /** The snapshot storage failed (claim creation, disk full, write error). */
  storageError(cluster: string, reason: StorageReason): void;
  /** The snapshot claim's filesystem as the last save left it. */
  storageUsage(namespace: string, claimName: string, usedBytes: number, availableBytes: number): void;
  /** An upload to the object store ended: `success` (with the copy's figures) or the failure's reason. */
  remoteCopy(cluster: string, status: 'success' | Reason, copy?: RemoteCopyFigures): void;
  /** A scheduled verify of a remote copy ended: `success` or the failure's reason. */
  remoteVerify(cluster: string, status: 'success' | Reason): void;
}

/** A successful upload's figures, from the Job's result: the agent's upload time, stored bytes. */
export interface RemoteCopyFigures {
  seconds?: number;
  storedBytes: number;
  compression: 'none' | 'zstd' | 'gzip';
}

/** The counts a successful check returned; a view without them counts every member as up. */
export function memberCountsOf(view: ClusterHealthView): MemberCounts {
  const up = view.reachableCount ?? view.members.length;
  return { up, down: Math.max(0, (view.memberCount ?? up) - up) };
}

export const noopPipelineMetrics: PipelineMetrics = {
  operationFinished() {},
  snapshotSize() {},
  clusterHealth() {},
  etcdRequest() {},
  memberVersions() {},
  jobTimeout() {},
  storageError() {},
  storageUsage() {},
  remoteCopy() {},
  remoteVerify() {},
};

/** Records every call in memory, for tests. */
export class RecordingPipelineMetrics implements PipelineMetrics {
  readonly calls: { name: keyof PipelineMetrics; args: unknown[] }[] = [];
  operationFinished(...args: Parameters<PipelineMetrics['operationFinished']>): void {
    this.calls.push({ name: 'operationFinished', args });
  }
  snapshotSize(...args: Parameters<PipelineMetrics['snapshotSize']>): void {
    this.calls.push({ name: 'snapshotSize', args });
  }
  clusterHealth(...args: Parameters<PipelineMetrics['clusterHealth']>): void {
    this.calls.push({ name: 'clusterHealth', args });
  }
  etcdRequest(...args: Parameters<PipelineMetrics['etcdRequest']>): void {
    this.calls.push({ name: 'etcdRequest', args });
  }
  memberVersions(...args: Parameters<PipelineMetrics['memberVersions']>): void {
    this.calls.push({ name: 'memberVersions', args });
  }
  jobTimeout(...args: Parameters<PipelineMetrics['jobTimeout']>): void {
    this.calls.push({ name: 'jobTimeout', args });
  }
  storageError(...args: Parameters<PipelineMetrics['storageError']>): void {
    this.calls.push({ name: 'storageError', args });
  }
  storageUsage(...args: Parameters<PipelineMetrics['storageUsage']>): void {
    this.calls.push({ name: 'storageUsage', args });
  }
  remoteCopy(...args: Parameters<PipelineMetrics['remoteCopy']>): void {
    this.calls.push({ name: 'remoteCopy', args });
  }
  remoteVerify(...args: Parameters<PipelineMetrics['remoteVerify']>): void {
    this.calls.push({ name: 'remoteVerify', args });
  }
}
