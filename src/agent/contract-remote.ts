// The Job contract's part for off-cluster copies (docs/object-store.md): the mounts, the
// arguments of `agent upload` and `agent verify --remote`, and the remote copy a result reports.
// contract.ts re-exports all of it: the pipeline imports only contract.ts.

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
}

/** `agent verify --remote`: the remote copy downloaded and checked against its manifest. */
export type RemoteVerifyArguments = RemoteArguments;

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
  ];
}

export function verifyRemoteCommand(args: RemoteVerifyArguments): string[] {
  return ['agent', 'verify', '--remote', ...remoteFlags(args)];
}

export function deleteRemoteCommand(args: RemoteDeleteArguments): string[] {
  return ['agent', 'delete', '--remote', ...remoteFlags(args), ...(args.dir ? [`--dir=${args.dir}`] : [])];
}
