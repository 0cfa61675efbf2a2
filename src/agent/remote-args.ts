// The flags of `agent upload`, `agent verify --remote` and `agent delete --remote` (args.ts reads the command line): paths
// absolute, names Kubernetes object names, compression and level checked, so a bad Job spec fails
// before the store is contacted.
import { isAbsolute } from 'node:path';
import { compressionLevel, isCompression } from '../objectstore/codec.ts';
import { checkLocation, LocationError } from '../objectstore/layout.ts';
import { isCsiId, ManifestError, parseMembers, parseVolumeSnapshots } from '../objectstore/manifest.ts';
import type {
  RemoteArguments,
  RemoteDeleteArguments,
  RemoteVerifyArguments,
  UploadArguments,
} from './contract.ts';
import { UsageError } from './failure.ts';

const REMOTE_FLAGS = ['store-config-dir', 'namespace', 'cluster', 'snapshot', 'encryption-key-file'] as const;
export const UPLOAD_FLAGS = [
  'file',
  ...REMOTE_FLAGS,
  'compression',
  'compression-level',
  'members',
  'request-kind',
  'request-name',
  'group-snapshot-id',
  'volume-snapshots',
  'termination-log',
] as const;
/** `verify` takes these besides its own; `--remote` selects them. */
export const VERIFY_REMOTE_FLAGS = ['remote', ...REMOTE_FLAGS, 'out'] as const;
/** `delete` takes these besides its own `--dir` (no key: deleting reads nothing encrypted). */
export const DELETE_REMOTE_FLAGS = [
  'remote',
  'store-config-dir',
  'namespace',
  'cluster',
  'snapshot',
] as const;

const shown = (v: string) => JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);

function remoteArguments(flags: ReadonlyMap<string, string>, op: string): RemoteArguments {
  const required = (name: string) => {
    const v = flags.get(name);
    if (v === undefined || v === '') throw new UsageError(`flag --${name} is required for agent ${op}`);
    return v;
  };
  const absolute = (name: string, v: string) => {
    if (!isAbsolute(v)) throw new UsageError(`--${name}=${shown(v)} must be an absolute path`);
    return v;
  };
  const location = {
    namespace: required('namespace'),
    cluster: required('cluster'),
    snapshot: required('snapshot'),
  };
  try {
    checkLocation(location);
  } catch (err) {
    if (err instanceof LocationError) throw new UsageError(`--${err.message}`);
    throw err;
  }
  const args: RemoteArguments = {
    storeConfigDir: absolute('store-config-dir', required('store-config-dir')),
    ...location,
  };
  const keyFile = flags.get('encryption-key-file');
  if (keyFile !== undefined) args.encryptionKeyFile = absolute('encryption-key-file', keyFile);
  return args;
}

export function parseUploadFlags(flags: ReadonlyMap<string, string>): UploadArguments {
  const file = flags.get('file');
  if (file === undefined || file === '') throw new UsageError('flag --file is required for agent upload');
  if (!isAbsolute(file)) throw new UsageError(`--file=${shown(file)} must be an absolute path`);
  const compression = flags.get('compression') ?? 'none';
  if (!isCompression(compression)) {
    throw new UsageError(`--compression=${shown(compression)} is not one of none, zstd, gzip`);
  }
  const levelText = flags.get('compression-level');
  const level =
    levelText === undefined ? undefined : /^\d{1,3}$/.test(levelText) ? Number(levelText) : Number.NaN;
  try {
    compressionLevel(compression, level);
  } catch (err) {
    throw new UsageError(`--compression-level=${shown(levelText ?? '')}: ${(err as Error).message}`);
  }
  const args: UploadArguments = { file, ...remoteArguments(flags, 'upload'), compression };
  if (level !== undefined) args.compressionLevel = level;
  const members = flags.get('members');
  if (members !== undefined && members !== '') {
    try {
      parseMembers(members);
    } catch (err) {
      if (err instanceof ManifestError) throw new UsageError(`--members: ${err.message}`);
      throw err;
    }
    args.members = members;
  }
  return withCsiIdentity(flags, args);
}

/** The CSI identity flags, each checked as the manifest's parser will check it. */
function withCsiIdentity(flags: ReadonlyMap<string, string>, args: UploadArguments): UploadArguments {
  const kind = flags.get('request-kind');
  const name = flags.get('request-name');
  const group = flags.get('group-snapshot-id');
  const volumes = flags.get('volume-snapshots');
  if ((kind === undefined) !== (name === undefined))
    throw new UsageError('--request-kind and --request-name go together');
  if (kind !== undefined && name !== undefined) {
    if (kind !== 'snapshot' && kind !== 'group')
      throw new UsageError(`--request-kind=${shown(kind)} is not snapshot or group`);
    if (name === '' || name.length > 256)
      throw new UsageError(`--request-name=${shown(name)} is empty or too long`);
    args.requestKind = kind;
    args.requestName = name;
  }
  if (group !== undefined) {
    if (!isCsiId(group))
      throw new UsageError(`--group-snapshot-id=${shown(group)} is not a CSI group snapshot ID`);
    args.groupSnapshotId = group;
  }
  if (volumes !== undefined && volumes !== '') {
    try {
      parseVolumeSnapshots(volumes);
    } catch (err) {
      if (err instanceof ManifestError) throw new UsageError(err.message);
      throw err;
    }
    args.volumeSnapshots = volumes;
  }
  return args;
}

export function parseRemoteVerifyFlags(flags: ReadonlyMap<string, string>): RemoteVerifyArguments {
  if (flags.has('file')) throw new UsageError('agent verify takes --file or --remote, not both');
  const args: RemoteVerifyArguments = remoteArguments(flags, 'verify --remote');
  const out = flags.get('out');
  if (out === undefined) return args;
  if (!isAbsolute(out)) throw new UsageError(`--out=${shown(out)} must be an absolute path`);
  return { ...args, out };
}

export function parseRemoteDeleteFlags(flags: ReadonlyMap<string, string>): RemoteDeleteArguments {
  const { encryptionKeyFile: _none, ...args }: RemoteArguments = remoteArguments(flags, 'delete --remote');
  const dir = flags.get('dir');
  if (dir === undefined) return args;
  if (!isAbsolute(dir)) throw new UsageError(`--dir=${shown(dir)} must be an absolute path`);
  return { ...args, dir };
}
