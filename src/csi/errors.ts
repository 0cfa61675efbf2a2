// Typed errors of the CSI server and the one table that maps them to gRPC status codes.
//
// Handlers and the modules they call throw CsiError with a reason of the vocabulary; the server
// turns every thrown value into a gRPC status at one place (toGrpcStatus). A reason's message
// is built by our own code from request fields and object names only, so it never carries a
// secret; anything that is not a CsiError becomes INTERNAL with a generic message, its cause
// logged by the server. docs/csi.md holds the same table for operators (a test keeps them equal).
import { status } from '@grpc/grpc-js';
import { apiErrorKind, apiStatusCode, apiStatusReason } from '../kube/api-errors.ts';
import { isReason, REASONS, type Reason } from '../reasons/reasons.ts';
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
  /** When the driver answers with this reason (the docs table's text, from src/reasons). */
  when: string;
}

// The one gRPC mapping of the reason vocabulary (src/reasons/reasons.ts), grouped as in
// docs/csi.md. Keyed by Reason: a reason without a code, or a code for a name outside the
// vocabulary, fails tsc. The pipeline writes the same names into a record's status.reason and
// Create/Get answer with the code.
const GRPC_CODES = {
  // --- request validation ---
  MALFORMED_REQUEST: 'INVALID_ARGUMENT',
  INVALID_UTF8: 'INVALID_ARGUMENT',
  FIELD_TOO_LARGE: 'INVALID_ARGUMENT',
  MISSING_NAME: 'INVALID_ARGUMENT',
  NAME_TOO_LONG: 'INVALID_ARGUMENT',
  MISSING_VOLUME_ID: 'INVALID_ARGUMENT',
  MISSING_SNAPSHOT_ID: 'INVALID_ARGUMENT',
  MISSING_GROUP_SNAPSHOT_ID: 'INVALID_ARGUMENT',
  MISSING_SOURCE_VOLUMES: 'INVALID_ARGUMENT',
  MISSING_TARGET_PATH: 'INVALID_ARGUMENT',
  TOO_MANY_VOLUMES: 'INVALID_ARGUMENT',
  DUPLICATE_SOURCE_VOLUME: 'INVALID_ARGUMENT',
  MISSING_VOLUME_CAPABILITIES: 'INVALID_ARGUMENT',
  INVALID_VOLUME_CAPABILITY: 'INVALID_ARGUMENT',
  INVALID_CAPACITY_RANGE: 'INVALID_ARGUMENT',
  UNKNOWN_PARAMETER: 'INVALID_ARGUMENT',
  INVALID_PARAMETER: 'INVALID_ARGUMENT',
  PARAMETERS_TOO_LARGE: 'INVALID_ARGUMENT',
  VOLUME_CONTENT_SOURCE_UNSUPPORTED: 'INVALID_ARGUMENT',
  MALFORMED_VOLUME_ID: 'INVALID_ARGUMENT',
  INVALID_MAX_ENTRIES: 'INVALID_ARGUMENT',
  INVALID_STARTING_TOKEN: 'ABORTED',
  SNAPSHOT_IDS_MISMATCH: 'INVALID_ARGUMENT',
  // --- lookups ---
  VOLUME_NOT_FOUND: 'NOT_FOUND',
  CONTENT_SOURCE_NOT_FOUND: 'NOT_FOUND',
  CLAIM_NOT_FOUND: 'NOT_FOUND',
  GROUP_SNAPSHOT_NOT_FOUND: 'NOT_FOUND',
  ETCD_CLUSTER_NOT_FOUND: 'NOT_FOUND',
  PVC_NOT_BOUND: 'FAILED_PRECONDITION',
  // --- idempotency and concurrency ---
  VOLUME_ALREADY_EXISTS: 'ALREADY_EXISTS',
  SNAPSHOT_ALREADY_EXISTS: 'ALREADY_EXISTS',
  GROUP_SNAPSHOT_ALREADY_EXISTS: 'ALREADY_EXISTS',
  SNAPSHOT_DELETION_IN_PROGRESS: 'ABORTED',
  CONCURRENT_UPDATE: 'ABORTED',
  // --- terminal reasons the pipeline writes into a record's status (seed §13) ---
  ETCD_ENDPOINTS_UNREACHABLE: 'FAILED_PRECONDITION',
  ETCD_QUORUM_LOST: 'FAILED_PRECONDITION',
  ETCD_NO_LEADER: 'UNAVAILABLE',
  AUTH_CERT_INVALID: 'FAILED_PRECONDITION',
  AUTH_CERT_NOT_FOUND: 'FAILED_PRECONDITION',
  AUTH_PERMISSION_DENIED: 'FAILED_PRECONDITION',
  AUTH_BASIC_INVALID: 'FAILED_PRECONDITION',
  STORAGE_PVC_NOT_FOUND: 'FAILED_PRECONDITION',
  STORAGE_QUOTA_EXCEEDED: 'RESOURCE_EXHAUSTED',
  STORAGE_WRITE_FAILED: 'INTERNAL',
  JOB_CREATION_FAILED: 'INTERNAL',
  JOB_TIMEOUT: 'DEADLINE_EXCEEDED',
  JOB_IMAGE_PULL_FAILED: 'INTERNAL',
  JOB_POD_EVICTED: 'INTERNAL',
  CHECKSUM_MISMATCH: 'INTERNAL',
  SNAPSHOT_STATUS_FAILED: 'INTERNAL',
  SNAPSHOT_INCOMPLETE: 'INTERNAL',
  SNAPSHOT_CREATION_IN_PROGRESS: 'ABORTED',
  CLUSTER_MODIFICATION_IN_PROGRESS: 'ABORTED',
  SNAPSHOT_FAILED: 'INTERNAL',
  // --- the agent's restore of one member's data dir ---
  RESTORE_FAILED: 'INTERNAL',
  RESTORE_DATA_DIR_MISSING: 'FAILED_PRECONDITION',
  RESTORE_DATA_DIR_IS_MOUNT: 'FAILED_PRECONDITION',
  RESTORE_NOT_FINISHED: 'FAILED_PRECONDITION',
  RESTORE_PREVIOUS_DATA_DROPPED: 'FAILED_PRECONDITION',
  RESTORE_STATE_INCONSISTENT: 'INTERNAL',
  // --- restore --- (the EtcdRestore engine)
  RESTORE_INVALID_SPEC: 'INVALID_ARGUMENT',
  RESTORE_SNAPSHOT_NOT_FOUND: 'NOT_FOUND',
  RESTORE_SNAPSHOT_NOT_READY: 'FAILED_PRECONDITION',
  RESTORE_TARGET_NOT_FOUND: 'FAILED_PRECONDITION',
  RESTORE_TARGET_MANAGED: 'FAILED_PRECONDITION',
  RESTORE_MEMBERSHIP_UNRESOLVABLE: 'FAILED_PRECONDITION',
  RESTORE_DATA_CLAIM_MISSING: 'FAILED_PRECONDITION',
  RESTORE_DATA_CLAIM_TOO_SMALL: 'RESOURCE_EXHAUSTED',
  RESTORE_ETCD_VERSION_TOO_OLD: 'FAILED_PRECONDITION',
  RESTORE_QUIESCE_TIMEOUT: 'DEADLINE_EXCEEDED',
  RESTORE_VERIFICATION_FAILED: 'INTERNAL',
  // --- object store ---
  OBJECT_STORE_CONFIG_INVALID: 'FAILED_PRECONDITION',
  OBJECT_STORE_KEY_INVALID: 'FAILED_PRECONDITION',
  OBJECT_STORE_UNREACHABLE: 'UNAVAILABLE',
  OBJECT_STORE_AUTH_FAILED: 'FAILED_PRECONDITION',
  OBJECT_STORE_BUCKET_NOT_FOUND: 'FAILED_PRECONDITION',
  OBJECT_STORE_NOT_FOUND: 'NOT_FOUND',
  OBJECT_STORE_REQUEST_FAILED: 'INTERNAL',
  OBJECT_STORE_COPY_CONFLICT: 'FAILED_PRECONDITION',
  // --- restore door (CreateVolume from a snapshot) ---
  RESTORE_TARGET_UNKNOWN: 'FAILED_PRECONDITION',
  VOLUME_SOURCE_NOT_READY: 'FAILED_PRECONDITION',
  VOLUME_RESTORE_IN_PROGRESS: 'ABORTED',
  VOLUME_RESTORE_FAILED: 'INTERNAL',
  // --- schedules ---
  SCHEDULE_INVALID: 'INVALID_ARGUMENT',
  SCHEDULE_CLASS_NOT_FOUND: 'NOT_FOUND',
  SCHEDULE_NO_TARGETS: 'NOT_FOUND',
  SCHEDULE_RUN_FAILED: 'INTERNAL',
  // --- the driver's own Kubernetes API calls and its state ---
  KUBE_FORBIDDEN: 'PERMISSION_DENIED',
  KUBE_UNAVAILABLE: 'UNAVAILABLE',
  KUBE_REJECTED: 'INTERNAL',
  NOT_READY: 'UNAVAILABLE',
  // --- the call itself ---
  CANCELLED: 'CANCELLED',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  UNIMPLEMENTED: 'UNIMPLEMENTED',
  INTERNAL: 'INTERNAL',
} as const satisfies Record<Reason, GrpcCodeName>;

/** Every reason with its gRPC code and its "when" (docs/csi.md's error table, row for row). */
export const ERROR_CATALOG: Readonly<Record<Reason, CatalogEntry>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(REASONS) as Reason[]).map((reason) => [
      reason,
      Object.freeze({ code: GRPC_CODES[reason], when: REASONS[reason] }),
    ]),
  ) as Record<Reason, CatalogEntry>,
);

/** The CSI layer's name for the vocabulary, kept for its callers. */
export type ErrorReason = Reason;

export const isErrorReason = isReason;

export class CsiError extends Error {
  override name = 'CsiError';
  readonly reason: Reason;

  constructor(reason: Reason, message: string, options?: { cause?: unknown }) {
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
  reason: Reason;
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
