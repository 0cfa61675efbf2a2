// The contract between the pipeline (src/reconcile/etcd-snapshot) and the agent it runs in Jobs
// (`etcd-snapshot-driver agent <operation> …`): the command line the reconciler builds, the paths
// it mounts, and the JSON result the agent leaves in its termination message and meta file.
// Both sides import this file, so a change here is a change to both.
// The sweep, restore and result parts live in contract-*.ts files beside it and are re-exported
// here: the pipeline imports only this file.

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
export {
  type RestoreArguments,
  type RestoreReport,
  type RestoreState,
  restoreCommand,
} from './contract-restore.ts';
export {
  AGENT_EXIT_CODES,
  type AgentExitCode,
  type AgentOperation,
  type AgentResult,
  parseAgentResult,
  REASON_BY_EXIT_CODE,
} from './contract-result.ts';
export {
  SWEEP_DIR_NAME,
  SWEEP_MAX_NAMES,
  type SweepArguments,
  type SweepReport,
  sweepCommand,
} from './contract-sweep.ts';

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

export {
  defaultClusterToken,
  initialCluster,
  type RestoreMember,
  restoreJobName,
  restorePaths,
  revisionBump,
} from './restore-plan.ts';
