// Typed errors of the CSI server and the one table that maps them to gRPC status codes.
//
// Handlers and the modules they call throw CsiError with a reason from ERROR_CATALOG; the server
// turns every thrown value into a gRPC status at one place (toGrpcStatus). A reason's message
// is built by our own code from request fields and object names only, so it never carries a
// secret; anything that is not a CsiError becomes INTERNAL with a generic message, its cause
// logged by the server. docs/csi.md holds the same table for operators (a test keeps them equal).
import { status } from '@grpc/grpc-js';
import { apiErrorKind, apiStatusCode, apiStatusReason } from '../kube/api-errors.ts';
import { RecordConflict } from '../records/record-writer.ts';
import { MAX_STATUS_DETAILS_BYTES, truncateUtf8 } from './limits.ts';

export type GrpcCodeName =
  | 'CANCELLED'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE';

export interface CatalogEntry {
  code: GrpcCodeName;
  /** When the driver answers with this reason (the docs table's text). */
  when: string;
}

// Grouped as in docs/csi.md. Reasons from the seed's error catalog (§13) keep its names: the
// pipeline writes them into a record's status.reason and Create/Get answer with the same code.
export const ERROR_CATALOG = {
  // --- request validation ---
  MALFORMED_REQUEST: {
    code: 'INVALID_ARGUMENT',
    when: 'the request bytes are not a well-formed protobuf message of the method’s type',
  },
  INVALID_UTF8: { code: 'INVALID_ARGUMENT', when: 'a string field is not valid UTF-8' },
  FIELD_TOO_LARGE: {
    code: 'INVALID_ARGUMENT',
    when: 'a request field exceeds its size limit (the Limits table of docs/csi.md)',
  },
  MISSING_NAME: { code: 'INVALID_ARGUMENT', when: 'name is empty' },
  NAME_TOO_LONG: { code: 'INVALID_ARGUMENT', when: 'name is longer than 128 bytes' },
  MISSING_VOLUME_ID: { code: 'INVALID_ARGUMENT', when: 'volume_id / source_volume_id is empty' },
  MISSING_SNAPSHOT_ID: { code: 'INVALID_ARGUMENT', when: 'snapshot_id is empty' },
  MISSING_GROUP_SNAPSHOT_ID: { code: 'INVALID_ARGUMENT', when: 'group_snapshot_id is empty' },
  MISSING_SOURCE_VOLUMES: { code: 'INVALID_ARGUMENT', when: 'source_volume_ids is empty' },
  MISSING_TARGET_PATH: { code: 'INVALID_ARGUMENT', when: 'NodeUnpublishVolume target_path is empty' },
  TOO_MANY_VOLUMES: { code: 'INVALID_ARGUMENT', when: 'more than 64 source volumes in one group' },
  DUPLICATE_SOURCE_VOLUME: { code: 'INVALID_ARGUMENT', when: 'a source volume is listed twice' },
  MISSING_VOLUME_CAPABILITIES: { code: 'INVALID_ARGUMENT', when: 'volume_capabilities is empty' },
  INVALID_VOLUME_CAPABILITY: {
    code: 'INVALID_ARGUMENT',
    when: 'a capability has no access type (mount/block) or no known access mode',
  },
  INVALID_CAPACITY_RANGE: {
    code: 'INVALID_ARGUMENT',
    when: 'capacity_range has a negative value or limit_bytes < required_bytes',
  },
  UNKNOWN_PARAMETER: {
    code: 'INVALID_ARGUMENT',
    when: 'parameters has a key outside the schema (csi.storage.k8s.io/* keys are accepted and ignored)',
  },
  INVALID_PARAMETER: {
    code: 'INVALID_ARGUMENT',
    when: 'a parameter value breaks the schema (type, range 60–3600 / 1–3650, name syntax)',
  },
  PARAMETERS_TOO_LARGE: { code: 'INVALID_ARGUMENT', when: 'parameters exceed 32 entries or 4 KiB' },
  VOLUME_CONTENT_SOURCE_UNSUPPORTED: {
    code: 'INVALID_ARGUMENT',
    when: 'CreateVolume has a volume_content_source that exists (restore is not supported yet)',
  },
  MALFORMED_VOLUME_ID: {
    code: 'INVALID_ARGUMENT',
    when: 'a volume ID is not <namespace>/<name> (CreateSnapshot, CreateVolumeGroupSnapshot)',
  },
  INVALID_MAX_ENTRIES: { code: 'INVALID_ARGUMENT', when: 'ListSnapshots max_entries is negative' },
  INVALID_STARTING_TOKEN: {
    code: 'ABORTED',
    when: 'ListSnapshots starting_token was not issued by this driver',
  },
  SNAPSHOT_IDS_MISMATCH: {
    code: 'INVALID_ARGUMENT',
    when: 'Get/DeleteVolumeGroupSnapshot snapshot_ids name a snapshot outside the group',
  },
  // --- lookups ---
  VOLUME_NOT_FOUND: {
    code: 'NOT_FOUND',
    when: 'a well-formed volume ID names no volume record and no claim; ValidateVolumeCapabilities also for a malformed ID',
  },
  CONTENT_SOURCE_NOT_FOUND: {
    code: 'NOT_FOUND',
    when: 'CreateVolume’s volume_content_source names a snapshot or volume that does not exist',
  },
  CLAIM_NOT_FOUND: {
    code: 'NOT_FOUND',
    when: 'CreateVolume names a claim (csi.storage.k8s.io/pvc/*) that is not in the cache',
  },
  GROUP_SNAPSHOT_NOT_FOUND: { code: 'NOT_FOUND', when: 'GetVolumeGroupSnapshot of an unknown ID' },
  ETCD_CLUSTER_NOT_FOUND: {
    code: 'NOT_FOUND',
    when: 'no etcd cluster is named or none is discoverable (annotations, druid Etcd, pods, StatefulSets)',
  },
  PVC_NOT_BOUND: { code: 'FAILED_PRECONDITION', when: 'a source volume’s claim is not Bound' },
  // --- idempotency and concurrency ---
  VOLUME_ALREADY_EXISTS: {
    code: 'ALREADY_EXISTS',
    when: 'CreateVolume name exists with another capacity, cluster or parameters',
  },
  SNAPSHOT_ALREADY_EXISTS: {
    code: 'ALREADY_EXISTS',
    when: 'CreateSnapshot name exists with another source volume or parameters',
  },
  GROUP_SNAPSHOT_ALREADY_EXISTS: {
    code: 'ALREADY_EXISTS',
    when: 'CreateVolumeGroupSnapshot name exists with other source volumes or parameters',
  },
  SNAPSHOT_DELETION_IN_PROGRESS: {
    code: 'ABORTED',
    when: 'Create of a snapshot or group whose record is being deleted',
  },
  CONCURRENT_UPDATE: { code: 'ABORTED', when: 'a record changed under a write (409); retry' },
  // --- terminal reasons the pipeline writes into a record's status (seed §13) ---
  ETCD_ENDPOINTS_UNREACHABLE: { code: 'FAILED_PRECONDITION', when: 'no etcd endpoint answered' },
  ETCD_QUORUM_LOST: { code: 'FAILED_PRECONDITION', when: 'fewer than a quorum of members answer' },
  ETCD_NO_LEADER: { code: 'UNAVAILABLE', when: 'the etcd cluster has no leader' },
  AUTH_CERT_INVALID: { code: 'FAILED_PRECONDITION', when: 'client certificate expired or invalid' },
  AUTH_CERT_NOT_FOUND: { code: 'FAILED_PRECONDITION', when: 'the credentials Secret does not exist' },
  AUTH_PERMISSION_DENIED: { code: 'FAILED_PRECONDITION', when: 'the etcd credentials lack permission' },
  AUTH_BASIC_INVALID: { code: 'FAILED_PRECONDITION', when: 'etcd user/password rejected' },
  STORAGE_PVC_NOT_FOUND: { code: 'FAILED_PRECONDITION', when: 'the snapshot storage claim is missing' },
  STORAGE_QUOTA_EXCEEDED: { code: 'RESOURCE_EXHAUSTED', when: 'the snapshot storage is full' },
  STORAGE_WRITE_FAILED: { code: 'INTERNAL', when: 'the snapshot file could not be written' },
  JOB_CREATION_FAILED: { code: 'INTERNAL', when: 'the snapshot Job could not be created' },
  JOB_TIMEOUT: { code: 'DEADLINE_EXCEEDED', when: 'the snapshot Job exceeded its deadline' },
  JOB_IMAGE_PULL_FAILED: { code: 'INTERNAL', when: 'the Job image could not be pulled' },
  JOB_POD_EVICTED: { code: 'INTERNAL', when: 'the Job pod was evicted' },
  CHECKSUM_MISMATCH: { code: 'INTERNAL', when: 'the snapshot file failed its integrity check' },
  SNAPSHOT_STATUS_FAILED: { code: 'INTERNAL', when: 'snapshot verification failed' },
  SNAPSHOT_INCOMPLETE: { code: 'INTERNAL', when: 'the snapshot file is truncated' },
  SNAPSHOT_CREATION_IN_PROGRESS: { code: 'ABORTED', when: 'another save of the cluster holds it' },
  CLUSTER_MODIFICATION_IN_PROGRESS: { code: 'ABORTED', when: 'etcd membership is changing' },
  SNAPSHOT_FAILED: { code: 'INTERNAL', when: 'a record failed without a catalogued reason' },
  // --- the driver's own Kubernetes API calls and its state ---
  KUBE_FORBIDDEN: { code: 'PERMISSION_DENIED', when: 'the API server refused the driver (RBAC, 401/403)' },
  KUBE_UNAVAILABLE: {
    code: 'UNAVAILABLE',
    when: 'the API server is unreachable, overloaded (429) or failing (5xx)',
  },
  KUBE_REJECTED: { code: 'INTERNAL', when: 'the API server rejected a record the driver wrote (400/422)' },
  NOT_READY: { code: 'UNAVAILABLE', when: 'the informer caches have not synced yet' },
  // --- schedules ---
  // Reasons of an EtcdSnapshotSchedule's Valid condition and lastFailure (docs/schedules.md),
  // written by the schedule reconciler; no CSI call answers with them (SCHEDULE_REASONS).
  SCHEDULE_INVALID: {
    code: 'INVALID_ARGUMENT',
    when: 'a schedule’s cron expression, time zone, target or retention is invalid (or keeps nothing)',
  },
  SCHEDULE_CLASS_NOT_FOUND: { code: 'NOT_FOUND', when: 'a schedule’s snapshot class does not exist' },
  SCHEDULE_NO_TARGETS: {
    code: 'NOT_FOUND',
    when: 'a schedule’s target matches no Bound source claim of the driver in its namespace',
  },
  SCHEDULE_RUN_FAILED: {
    code: 'INTERNAL',
    when: 'a scheduled snapshot failed without a catalogued reason in its error',
  },
  // --- the call itself ---
  CANCELLED: { code: 'CANCELLED', when: 'the client cancelled the call' },
  DEADLINE_EXCEEDED: { code: 'DEADLINE_EXCEEDED', when: 'the call’s deadline passed before an answer' },
  UNIMPLEMENTED: { code: 'UNIMPLEMENTED', when: 'any CSI method the driver does not serve' },
  INTERNAL: { code: 'INTERNAL', when: 'anything unexpected; the cause is logged, not returned' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorReason = keyof typeof ERROR_CATALOG;

/** Reasons only a schedule's status carries (its condition, its last failure): never a CSI answer. */
export const SCHEDULE_REASONS = [
  'SCHEDULE_INVALID',
  'SCHEDULE_CLASS_NOT_FOUND',
  'SCHEDULE_NO_TARGETS',
  'SCHEDULE_RUN_FAILED',
] as const satisfies readonly ErrorReason[];

export type ScheduleReason = (typeof SCHEDULE_REASONS)[number];

/** Whether a CSI call can answer with the reason (schedule reasons are status-only). */
export function isAnsweredReason(reason: ErrorReason): reason is Exclude<ErrorReason, ScheduleReason> {
  return !(SCHEDULE_REASONS as readonly string[]).includes(reason);
}

export function isErrorReason(value: string): value is ErrorReason {
  return Object.hasOwn(ERROR_CATALOG, value);
}

export class CsiError extends Error {
  override name = 'CsiError';
  readonly reason: ErrorReason;

  constructor(reason: ErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }

  get code(): GrpcCodeName {
    return ERROR_CATALOG[this.reason].code;
  }
}

export interface GrpcStatus {
  code: status;
  details: string;
  reason: ErrorReason;
}

/**
 * The one place where anything thrown by a handler becomes a gRPC status. The details are cut to
 * MAX_STATUS_DETAILS_BYTES: they travel as the grpc-message header, and one larger than HTTP/2's
 * header limits resets the stream (the client sees a protocol error instead of the answer).
 */
export function toGrpcStatus(err: unknown): GrpcStatus {
  const known = err instanceof CsiError ? err : fromApiError(err, 'Kubernetes API call');
  const details = `${known.reason}: ${known.message}`;
  return {
    code: status[ERROR_CATALOG[known.reason].code],
    details:
      Buffer.byteLength(details) <= MAX_STATUS_DETAILS_BYTES
        ? details
        : `${truncateUtf8(details, MAX_STATUS_DETAILS_BYTES - 3)}…`,
    reason: known.reason,
  };
}

/**
 * A failed Kubernetes API call of the driver as a CsiError; `what` says which call, e.g.
 * "create EtcdSnapshot ns/name". Only the HTTP code and the Status reason are kept: the body
 * may echo object data.
 */
export function fromApiError(err: unknown, what: string): CsiError {
  if (err instanceof CsiError) return err;
  if (err instanceof RecordConflict)
    return new CsiError('CONCURRENT_UPDATE', `${what}: ${err.message}`, { cause: err });
  const kind = apiErrorKind(err);
  const code = apiStatusCode(err);
  const detail = `${what}: Kubernetes API ${code === undefined ? 'unreachable' : `answered ${code}`}${
    apiStatusReason(err) ? ` (${apiStatusReason(err)})` : ''
  }`;
  switch (kind) {
    case 'unauthorized':
    case 'forbidden':
      return new CsiError('KUBE_FORBIDDEN', detail, { cause: err });
    case 'conflict':
    case 'already-exists':
      return new CsiError('CONCURRENT_UPDATE', detail, { cause: err });
    case 'too-many-requests':
    case 'server-error':
    case 'network':
      return new CsiError('KUBE_UNAVAILABLE', detail, { cause: err });
    case 'invalid':
    case 'not-found':
      return new CsiError('KUBE_REJECTED', detail, { cause: err });
    default:
      return new CsiError('INTERNAL', 'internal error; see the driver log', { cause: err });
  }
}
