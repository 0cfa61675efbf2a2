// The Job contract's part for off-cluster copies (docs/object-store.md): the mounts, the
// arguments of `agent upload` and `agent verify --remote`, and the remote copy a result reports.
// contract.ts re-exports all of it: the pipeline imports only contract.ts.
import type { Reason } from '../reasons/reasons.ts';

/** Where a Job mounts the object store Secret (read-only; files named as its keys, docs/object-store.md). */
export const STORE_CONFIG_MOUNT_PATH = '/etc/etcd-snapshot-driver/object-store';
/** Where a Job mounts the client-side encryption key Secret; the key is the file ENCRYPTION_KEY_FILE_NAME. */
export const ENCRYPTION_KEY_MOUNT_PATH = '/etc/etcd-snapshot-driver/encryption-key';
export const ENCRYPTION_KEY_FILE_NAME = 'key';

/** Which remote copy: the store (its mounted Secret) and the snapshot's place in it. */
export interface RemoteArguments {
  /** Directory of the mounted object store Secret (STORE_CONFIG_MOUNT_PATH). */
  storeConfigDir: string;
  /** The EtcdSnapshot record's namespace and name, and the etcd cluster's name: the key prefix. */
  namespace: string;
  cluster: string;
  snapshot: string;
  /** The mounted encryption key file; absent: no client-side encryption (upload) or none needed (verify). */
  encryptionKeyFile?: string;
}

/**
 * `agent upload`: the verified backup file (its meta file beside it) into the object store, the
 * manifest written last. Run after `agent save` in the same Job, or on its own.
 */
export interface UploadArguments extends RemoteArguments {
  file: string;
  compression: 'none' | 'zstd' | 'gzip';
  /** zstd 1–19 (default 1), gzip 1–9 (default 6). */
  compressionLevel?: number;
  /** `name=peerURL,…` of the etcd members, recorded in the manifest when known. */
  members?: string;
  /**
   * The CSI identity of the copy, recorded in the manifest so that a cluster importing it can
   * answer CSI calls about it: the request, the group's ID, `snapshotId=sourceVolumeId,…`.
   */
  requestKind?: 'snapshot' | 'group';
  requestName?: string;
  groupSnapshotId?: string;
  volumeSnapshots?: string;
}

/**
 * `agent verify --remote`: the remote copy downloaded and checked against its manifest. With
 * `out` it is a fetch: the plain database is also written there (atomically, after every check
 * passed), or kept when a verified file is already there; a restore reads it from that path.
 */
export interface RemoteVerifyArguments extends RemoteArguments {
  /** Absolute path of the file to write (on a mounted claim). */
  out?: string;
}

/** What a fetch did: downloaded the copy, or found it already there (a re-run). */
export type FetchState = 'downloaded' | 'already-present';

/**
 * `agent delete --remote`: the snapshot's remote objects removed, manifest first (a half-deleted
 * copy never looks complete), then open multipart uploads and every object under its prefix.
 * With `dir`, the record's local directory goes too, after the remote objects.
 */
export interface RemoteDeleteArguments extends Omit<RemoteArguments, 'encryptionKeyFile'> {
  dir?: string;
}

/** What `agent delete --remote` removed (all zero for a copy that was already gone). */
export interface RemoteDeleteReport {
  /** `s3://<bucket>/<prefix>/<namespace>/<cluster>/<snapshot>/`. */
  location: string;
  /** Whether a manifest was there: false means no complete copy existed. */
  manifestFound: boolean;
  /** Objects deleted under the prefix, the manifest included. */
  objectsDeleted: number;
  uploadsAborted: number;
}

/**
 * `agent sweep` over a store too: the snapshot directories under `<prefix>/<namespace>/<cluster>/`
 * no record owns (docs/pipeline.md, "Orphan file sweep"). Names are record names (a remote
 * directory is named by its record, the local one by the record's path).
 */
export interface RemoteSweepArguments {
  storeConfigDir: string;
  namespace: string;
  cluster: string;
  /** The cluster's record names: never reported, never deleted. */
  keep: string[];
  /** Remote snapshots to delete when unowned and old enough (the controller's confirmed orphans). */
  delete: string[];
}

/** What a sweep found in the store; `error` when the store could not be listed (the local sweep still counts). */
export interface RemoteSweepReport {
  /** `s3://<bucket>/<prefix>/<namespace>/<cluster>/`. */
  location: string;
  scanned: number;
  unownedCount: number;
  /** The first unowned snapshot names that fit, oldest first. */
  unowned: string[];
  deleted: string[];
  error?: { reason: Reason; message: string };
}

/** A remote copy as a result reports it. */
export interface RemoteCopy {
  /** `s3://<bucket>/<prefix>/<namespace>/<cluster>/<snapshot>/`. */
  location: string;
  /** `s3://…` of the data object and of the manifest. */
  object: string;
  manifest: string;
  /** SHA-256 (hex) and size of the stored bytes (after compression and encryption). */
  sha256: string;
  sizeBytes: number;
  compression: 'none' | 'zstd' | 'gzip';
  /** The id of the encryption key (never the key); absent when not encrypted client-side. */
  keyId?: string;
}

function remoteFlags(args: RemoteArguments): string[] {
  return [
    `--store-config-dir=${args.storeConfigDir}`,
    `--namespace=${args.namespace}`,
    `--cluster=${args.cluster}`,
    `--snapshot=${args.snapshot}`,
    ...(args.encryptionKeyFile ? [`--encryption-key-file=${args.encryptionKeyFile}`] : []),
  ];
}

export function uploadCommand(args: UploadArguments): string[] {
  return [
    'agent',
    'upload',
    `--file=${args.file}`,
    ...remoteFlags(args),
    `--compression=${args.compression}`,
    ...(args.compressionLevel !== undefined ? [`--compression-level=${args.compressionLevel}`] : []),
    ...(args.members ? [`--members=${args.members}`] : []),
    ...(args.requestKind ? [`--request-kind=${args.requestKind}`] : []),
    ...(args.requestName ? [`--request-name=${args.requestName}`] : []),
    ...(args.groupSnapshotId ? [`--group-snapshot-id=${args.groupSnapshotId}`] : []),
    ...(args.volumeSnapshots ? [`--volume-snapshots=${args.volumeSnapshots}`] : []),
  ];
}

export function verifyRemoteCommand(args: RemoteVerifyArguments): string[] {
  return ['agent', 'verify', '--remote', ...remoteFlags(args), ...(args.out ? [`--out=${args.out}`] : [])];
}

export function deleteRemoteCommand(args: RemoteDeleteArguments): string[] {
  return ['agent', 'delete', '--remote', ...remoteFlags(args), ...(args.dir ? [`--dir=${args.dir}`] : [])];
}

/** The flags `agent sweep` takes for a store (after its own). */
export function remoteSweepFlags(args: RemoteSweepArguments): string[] {
  return [
    `--store-config-dir=${args.storeConfigDir}`,
    `--namespace=${args.namespace}`,
    `--cluster=${args.cluster}`,
    `--remote-keep=${args.keep.join(',')}`,
    `--remote-delete=${args.delete.join(',')}`,
  ];
}
