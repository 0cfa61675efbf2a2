// Typed errors of the etcd side of the driver. `reason` is a name of the reason vocabulary
// (src/reasons), so the pipeline writes it into a record's status as it is, and reads it off the
// error by its type. Messages are built from endpoints, member names and gRPC status text only:
// never from credentials.
import type { Reason, ReasonSubset } from '../reasons/reasons.ts';

/** The reasons an etcd call or the snapshot stream fails with. */
export type EtcdErrorReason = ReasonSubset<
  | 'ETCD_ENDPOINTS_UNREACHABLE'
  | 'ETCD_QUORUM_LOST'
  | 'ETCD_NO_LEADER'
  | 'AUTH_CERT_INVALID'
  | 'AUTH_CERT_NOT_FOUND'
  | 'AUTH_PERMISSION_DENIED'
  | 'AUTH_BASIC_INVALID'
  | 'SNAPSHOT_INCOMPLETE'
  | 'CHECKSUM_MISMATCH'
  | 'SNAPSHOT_STATUS_FAILED'
  | 'STORAGE_QUOTA_EXCEEDED'
  | 'STORAGE_WRITE_FAILED'
  | 'SNAPSHOT_FAILED'
  | 'DEADLINE_EXCEEDED'
>;

export class EtcdError extends Error {
  readonly reason: EtcdErrorReason;
  /** The endpoint the error came from, when one did. */
  readonly endpoint: string | undefined;
  /** The gRPC status code, when the error is a gRPC status. */
  readonly grpcCode: number | undefined;

  constructor(
    reason: EtcdErrorReason,
    message: string,
    options: { endpoint?: string; grpcCode?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EtcdError';
    this.reason = reason;
    this.endpoint = options.endpoint;
    this.grpcCode = options.grpcCode;
  }
}

/** Reasons that say the credentials are wrong: retrying another member will not help. */
export const AUTH_REASONS: ReadonlySet<Reason> = new Set<EtcdErrorReason>([
  'AUTH_CERT_INVALID',
  'AUTH_CERT_NOT_FOUND',
  'AUTH_PERMISSION_DENIED',
  'AUTH_BASIC_INVALID',
]);

export function isAuthError(err: unknown): err is EtcdError {
  return err instanceof EtcdError && AUTH_REASONS.has(err.reason);
}

/** Voting members of an etcd cluster as a health check counted them (learners are not counted). */
export interface MemberCounts {
  up: number;
  down: number;
}

/**
 * The health check judged the cluster itself unable to serve a snapshot (no quorum, no leader,
 * no member answers) and says what it counted, so the health gauges can read 0 quorum too.
 * Credential failures are plain EtcdErrors: they say nothing of the cluster's health.
 */
export class ClusterUnhealthyError extends EtcdError {
  readonly members: MemberCounts;

  constructor(
    reason: 'ETCD_QUORUM_LOST' | 'ETCD_NO_LEADER' | 'ETCD_ENDPOINTS_UNREACHABLE',
    message: string,
    members: MemberCounts,
  ) {
    super(reason, message);
    this.name = 'ClusterUnhealthyError';
    this.members = members;
  }
}

/**
 * The health check's deadline passed while enough members to make a quorum held the call open
 * without answering: the members are up, the cluster is slow (a loaded machine, a paused
 * process). Not a ClusterUnhealthyError: nothing says the quorum is lost, so the health gauges
 * keep their last value, and the pipeline waits (docs/pipeline.md, CheckHealth).
 */
export class ClusterSlowError extends EtcdError {
  /** Members that took the call, answered or not. */
  readonly connected: number;

  constructor(message: string, counts: { connected: number }) {
    super('DEADLINE_EXCEEDED', message);
    this.name = 'ClusterSlowError';
    this.connected = counts.connected;
  }
}
