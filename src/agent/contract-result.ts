// The Job contract's result: the JSON the agent leaves in its termination message (and, for a
// save, the meta file), the exit codes that tell the cause when that message is lost, and the
// parser the reconcilers read it with. contract.ts re-exports all of it.
import { isReason, type Reason } from '../reasons/reasons.ts';
import type { FetchState, RemoteCopy, RemoteDeleteReport } from './contract-remote.ts';
import type { RestoreReport } from './contract-restore.ts';
import type { SweepReport } from './contract-sweep.ts';

export type AgentOperation = 'save' | 'verify' | 'delete' | 'sweep' | 'restore' | 'upload';

/** What the agent reports: the termination message and (for save) the meta file beside the backup. */
export interface AgentResult {
  operation: AgentOperation;
  ok: boolean;
  /** Set when ok is false: a reason of the vocabulary (src/reasons) and what happened. */
  error?: { reason: Reason; message: string };
  snapshotId?: string;
  file?: string;
  /** etcd's revision at the snapshot (from the file's consistent index). */
  revision?: number;
  /** etcd's own hash of the database (what `etcdutl snapshot status` prints as hash). */
  etcdHash?: number;
  /** SHA-256 of the whole file, hex. */
  sha256?: string;
  sizeBytes?: number;
  /** etcdutl's TotalKey: the key revisions the file holds (overwrites and deletions too, until compacted). */
  totalKeys?: number;
  /** `save`: the keys the cluster held at `revision` (a count-only range); a restore expects as many. */
  keyCount?: number;
  etcdVersion?: string;
  /** The member the stream came from (its client URL). */
  member?: string;
  /** When etcd's snapshot was taken (RFC 3339). */
  createdAt?: string;
  durationSeconds?: number;
  bytesPerSecond?: number;
  /** The snapshot claim's filesystem after the save (statfs): feeds the PVC usage gauges. */
  storage?: { usedBytes: number; availableBytes: number };
  /** `sweep` only. */
  sweep?: SweepReport;
  /** `restore` only. */
  restore?: RestoreReport;
  /** `upload` and `verify --remote`: the remote copy written or checked. */
  remote?: RemoteCopy;
  /** `verify --remote --out`: whether the file was downloaded or already there, verified. */
  fetched?: FetchState;
  /** `delete --remote`: what was removed from the store. */
  remoteDelete?: RemoteDeleteReport;
}

/**
 * Exit codes: a failed Job's pod tells the cause even when its termination message is lost.
 * Each maps to a catalog reason the pipeline records.
 */
export const AGENT_EXIT_CODES = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  AUTH_FAILED: 10,
  UNREACHABLE: 11,
  QUORUM_LOST: 12,
  DISK_FULL: 13,
  CORRUPT_STREAM: 14,
  NOT_FOUND: 15,
  RESTORE_FAILED: 16,
  OBJECT_STORE_FAILED: 17,
} as const;

export type AgentExitCode = (typeof AGENT_EXIT_CODES)[keyof typeof AGENT_EXIT_CODES];

/** The catalog reason for an exit code, when the termination message does not give one. */
export const REASON_BY_EXIT_CODE: Readonly<Record<number, Reason>> = {
  [AGENT_EXIT_CODES.AUTH_FAILED]: 'AUTH_PERMISSION_DENIED',
  [AGENT_EXIT_CODES.UNREACHABLE]: 'ETCD_ENDPOINTS_UNREACHABLE',
  [AGENT_EXIT_CODES.QUORUM_LOST]: 'ETCD_QUORUM_LOST',
  [AGENT_EXIT_CODES.DISK_FULL]: 'STORAGE_QUOTA_EXCEEDED',
  [AGENT_EXIT_CODES.CORRUPT_STREAM]: 'SNAPSHOT_INCOMPLETE',
  [AGENT_EXIT_CODES.NOT_FOUND]: 'SNAPSHOT_STATUS_FAILED',
  [AGENT_EXIT_CODES.RESTORE_FAILED]: 'RESTORE_FAILED',
  [AGENT_EXIT_CODES.OBJECT_STORE_FAILED]: 'OBJECT_STORE_REQUEST_FAILED',
};

/** Parses a termination message; undefined when it is not an AgentResult (a log tail, say). */
export function parseAgentResult(message: string | undefined): AgentResult | undefined {
  if (!message) return undefined;
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return undefined;
    const r = value as Partial<AgentResult>;
    if (typeof r.ok !== 'boolean' || typeof r.operation !== 'string') return undefined;
    return withKnownReason(r as AgentResult);
  } catch {
    return undefined;
  }
}

// An agent of another version may name a reason this driver does not know: the record gets the
// catalog's catch-all and keeps the agent's word in the message. An error without a reason is
// dropped, so the exit code's reason applies.
function withKnownReason(result: AgentResult): AgentResult {
  const error = result.error as { reason?: unknown; message?: unknown } | undefined;
  if (error === undefined) return result;
  if (typeof error.reason !== 'string') {
    const { error: _dropped, ...rest } = result;
    return rest;
  }
  if (isReason(error.reason)) return result;
  const said = typeof error.message === 'string' ? error.message : '';
  return { ...result, error: { reason: 'SNAPSHOT_FAILED', message: `${error.reason}: ${said}` } };
}
