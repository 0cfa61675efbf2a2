// The contract between the pipeline (src/reconcile/etcd-snapshot) and the agent it runs in Jobs
// (`etcd-snapshot-driver agent <operation> …`): the command line the reconciler builds, the paths
// it mounts, and the JSON result the agent leaves in its termination message and meta file.
// Both sides import this file, so a change here is a change to both.
import { isReason, type Reason } from '../reasons/reasons.ts';

import type {
  FetchState,
  RemoteCopy,
  RemoteDeleteReport,
  RemoteSweepArguments,
  RemoteSweepReport,
} from './contract-remote.ts';
import { remoteSweepFlags } from './contract-remote.ts';

/** Where the Job mounts the etcd cluster's snapshot claim. */
export const SNAPSHOT_MOUNT_PATH = '/snapshots';
/** Where the Job mounts the credentials Secret (read-only; files named as the Secret's keys). */
export const CREDENTIALS_MOUNT_PATH = '/etc/etcd-snapshot-driver/credentials';
/** The container's termination message (the kubelet reads at most 4096 bytes of it). */
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/** The backup file of a record, relative to the claim's root: `<dir>/snapshot.db`. */
export const SNAPSHOT_FILE_NAME = 'snapshot.db';
/** Beside the backup file: the AgentResult of the save that wrote it. */
export const META_FILE_NAME = 'snapshot.meta.json';

/** Where a restore Job mounts the member's data claim (the data dir's parent is on it). */
export const DATA_MOUNT_PATH = '/var/lib/etcd-member';

export {
  deleteRemoteCommand,
  ENCRYPTION_KEY_FILE_NAME,
  ENCRYPTION_KEY_MOUNT_PATH,
  type FetchState,
  type RemoteArguments,
  type RemoteCopy,
  type RemoteDeleteArguments,
  type RemoteDeleteReport,
  type RemoteSweepArguments,
  type RemoteSweepReport,
  type RemoteVerifyArguments,
  STORE_CONFIG_MOUNT_PATH,
  type UploadArguments,
  uploadCommand,
  verifyRemoteCommand,
} from './contract-remote.ts';

export type AgentOperation = 'save' | 'verify' | 'delete' | 'sweep' | 'restore' | 'upload';

export interface SaveArguments {
  /** Client URLs of the members to try, the preferred source first (with ?tls-server-name= where the certificate names a DNS name). */
  endpoints: string[];
  /** Absolute path of the backup file inside the container (under SNAPSHOT_MOUNT_PATH). */
  file: string;
  snapshotId: string;
  /** Directory of the mounted credentials Secret; absent for clusters without auth. */
  credentialsDir?: string;
  /** `<namespace>/<name>` of that Secret: named in messages (a certificate that did not verify). */
  credentialsSecret?: string;
  /**
   * `<namespace>/<name>:<key>` of the Secret the mounted ca.crt comes from when it is another one
   * (etcd-druid's tlsCASecretRef): named in messages.
   */
  caSecret?: string;
  /** Bytes that must be free before the save starts (RESOURCE_EXHAUSTED otherwise). */
  minFreeBytes?: number;
  /** Seconds to wait for each connection. */
  dialTimeoutSeconds?: number;
}

export interface VerifyArguments {
  file: string;
}

export interface DeleteArguments {
  /** The record's directory (under SNAPSHOT_MOUNT_PATH): everything in it goes, then the directory. */
  dir: string;
}

/**
 * `agent sweep`: the snapshot directories of one claim that no record owns. A snapshot directory
 * is a top-level directory of the claim holding `snapshot.db`, its `.part` or its meta file;
 * anything else (lost+found, an operator's own files) is never reported or touched.
 */
export interface SweepArguments {
  /** The claim's mount (SNAPSHOT_MOUNT_PATH). */
  root: string;
  /** Directory names (relative to root) records own: never reported, never deleted. */
  keep: string[];
  /** Directory names to delete, when unowned and old enough (the controller's confirmed orphans). */
  delete: string[];
  /** Younger directories are neither reported nor deleted (a save may be writing one). */
  minAgeSeconds: number;
  /** The cluster's remote snapshots in a store too (the same minimum age). */
  remote?: RemoteSweepArguments;
}

/**
 * `agent restore`: one member's data dir from a snapshot file (restore-plan.ts computes the
 * values). `mode` restore swaps the restored data in, keeping the old data beside it;
 * rollback puts the old data back; drop-previous removes it after a restore that succeeded.
 */
export type RestoreArguments =
  | {
      mode: 'restore';
      /** The snapshot file (on the snapshot claim). */
      file: string;
      /** SHA-256 the record holds for the file, hex: checked before anything is touched. */
      sha256: string;
      /** The member's data dir (etcd's --data-dir), on the data claim. */
      dataDir: string;
      /** The restore's UID: names the staging, kept and journal paths beside the data dir. */
      uid: string;
      /** This member's etcd name. */
      name: string;
      /** `name=peerURL,…` of every member. */
      initialCluster: string;
      initialClusterToken: string;
      /** This member's peer URL, as in initialCluster. */
      initialAdvertisePeerUrls: string;
      /** `--bump-revision`; `--mark-compacted` goes with any bump above 0 (etcdutl requires it). */
      bumpRevision: number;
    }
  | { mode: 'rollback'; dataDir: string; uid: string }
  | { mode: 'drop-previous'; dataDir: string; uid: string };

/** What a restore run found and did. */
export type RestoreState =
  | 'restored'
  | 'already-restored'
  | 'rolled-back'
  | 'nothing-to-roll-back'
  | 'previous-dropped'
  /** The run failed (the error says why); what is on disk is whatever a re-run resumes from. */
  | 'failed';

export interface RestoreReport {
  state: RestoreState;
  dataDir: string;
  /** Where the old data dir is kept (while it is). */
  previousDir?: string;
  member?: string;
  bumpRevision?: number;
}

/** How many unowned names a sweep result lists: with the rest of the result it stays far below 4096 bytes. */
export const SWEEP_MAX_NAMES = 40;

export interface SweepReport {
  /** Snapshot directories found (owned or not). */
  scanned: number;
  /** Unowned snapshot directories old enough, in total. */
  unownedCount: number;
  /** The first SWEEP_MAX_NAMES of them, oldest first: the next sweep sees the rest. */
  unowned: string[];
  /** Directories this run removed. */
  deleted: string[];
  /** With SweepArguments.remote. */
  remote?: RemoteSweepReport;
}

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

/** The container args after the image's entrypoint (`etcd-snapshot-driver`). */
export function saveCommand(args: SaveArguments): string[] {
  return [
    'agent',
    'save',
    `--endpoints=${args.endpoints.join(',')}`,
    `--file=${args.file}`,
    `--snapshot-id=${args.snapshotId}`,
    ...(args.credentialsDir ? [`--credentials-dir=${args.credentialsDir}`] : []),
    ...(args.credentialsDir && args.credentialsSecret
      ? [`--credentials-secret=${args.credentialsSecret}`]
      : []),
    ...(args.credentialsDir && args.caSecret ? [`--ca-secret=${args.caSecret}`] : []),
    ...(args.minFreeBytes !== undefined ? [`--min-free-bytes=${args.minFreeBytes}`] : []),
    ...(args.dialTimeoutSeconds !== undefined ? [`--dial-timeout=${args.dialTimeoutSeconds}`] : []),
  ];
}

export function verifyCommand(args: VerifyArguments): string[] {
  return ['agent', 'verify', `--file=${args.file}`];
}

export function deleteCommand(args: DeleteArguments): string[] {
  return ['agent', 'delete', `--dir=${args.dir}`];
}

/** A directory name a sweep may take (what src/csi/snapshot-records.ts makes: prefix + record name). */
export const SWEEP_DIR_NAME = /^[A-Za-z0-9._-]+$/;

export function sweepCommand(args: SweepArguments): string[] {
  return [
    'agent',
    'sweep',
    `--root=${args.root}`,
    `--keep=${args.keep.join(',')}`,
    `--delete=${args.delete.join(',')}`,
    `--min-age-seconds=${args.minAgeSeconds}`,
    ...(args.remote ? remoteSweepFlags(args.remote) : []),
  ];
}

export function restoreCommand(args: RestoreArguments): string[] {
  const common = [`--data-dir=${args.dataDir}`, `--uid=${args.uid}`];
  if (args.mode === 'rollback') return ['agent', 'restore', '--rollback', ...common];
  if (args.mode === 'drop-previous') return ['agent', 'restore', '--drop-previous', ...common];
  return [
    'agent',
    'restore',
    `--file=${args.file}`,
    `--sha256=${args.sha256}`,
    ...common,
    `--name=${args.name}`,
    `--initial-cluster=${args.initialCluster}`,
    `--initial-cluster-token=${args.initialClusterToken}`,
    `--initial-advertise-peer-urls=${args.initialAdvertisePeerUrls}`,
    `--bump-revision=${args.bumpRevision}`,
  ];
}

export {
  defaultClusterToken,
  initialCluster,
  type RestoreMember,
  restoreJobName,
  restorePaths,
  revisionBump,
} from './restore-plan.ts';

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
