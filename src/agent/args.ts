// The agent's command line (contract.ts builds it): `agent <operation> --flag=value …`.
// `--flag value` is accepted too. Every problem is a UsageError naming the flag and the value.
import { isAbsolute } from 'node:path';
import { parseEndpoint } from '../etcd/client/endpoint.ts';
import {
  type AgentOperation,
  type DeleteArguments,
  type RemoteDeleteArguments,
  type RemoteVerifyArguments,
  type RestoreArguments,
  type SaveArguments,
  SWEEP_DIR_NAME,
  type SweepArguments,
  TERMINATION_MESSAGE_PATH,
  type UploadArguments,
  type VerifyArguments,
} from './contract.ts';
import { UsageError } from './failure.ts';
import {
  DELETE_REMOTE_FLAGS,
  parseRemoteDeleteFlags,
  parseRemoteVerifyFlags,
  parseUploadFlags,
  UPLOAD_FLAGS,
  VERIFY_REMOTE_FLAGS,
} from './remote-args.ts';
import { parseRestoreFlags, RESTORE_FLAGS, RESTORE_SWITCHES } from './restore-args.ts';

export type AgentCommand =
  | { operation: 'save'; args: SaveArguments; terminationLog: string }
  | { operation: 'verify'; args: VerifyArguments; terminationLog: string }
  | { operation: 'verify-remote'; args: RemoteVerifyArguments; terminationLog: string }
  | { operation: 'upload'; args: UploadArguments; terminationLog: string }
  | { operation: 'delete'; args: DeleteArguments; terminationLog: string }
  | { operation: 'delete-remote'; args: RemoteDeleteArguments; terminationLog: string }
  | { operation: 'sweep'; args: SweepArguments; terminationLog: string }
  | { operation: 'restore'; args: RestoreArguments; terminationLog: string };

const OPERATIONS: readonly AgentOperation[] = ['save', 'verify', 'delete', 'sweep', 'restore', 'upload'];

export function isAgentOperation(op: string | undefined): op is AgentOperation {
  return OPERATIONS.includes(op as AgentOperation);
}

const FLAGS: Record<AgentOperation, readonly string[]> = {
  save: [
    'endpoints',
    'file',
    'snapshot-id',
    'credentials-dir',
    'credentials-secret',
    'ca-secret',
    'min-free-bytes',
    'dial-timeout',
    'termination-log',
  ],
  verify: ['file', 'termination-log', ...VERIFY_REMOTE_FLAGS],
  delete: ['dir', 'termination-log', ...DELETE_REMOTE_FLAGS],
  sweep: [
    'root',
    'keep',
    'delete',
    'min-age-seconds',
    'store-config-dir',
    'namespace',
    'cluster',
    'remote-keep',
    'remote-delete',
    'termination-log',
  ],
  restore: RESTORE_FLAGS,
  upload: UPLOAD_FLAGS,
};

/** Flags that take no value, by operation. */
const SWITCHES: Partial<Record<AgentOperation, ReadonlySet<string>>> = {
  restore: RESTORE_SWITCHES,
  verify: new Set(['remote']),
  delete: new Set(['remote']),
};

export const AGENT_USAGE = `usage:
  etcd-snapshot-driver agent save --endpoints=URL[,URL…] --file=PATH --snapshot-id=ID
                                  [--credentials-dir=DIR [--credentials-secret=NAMESPACE/NAME]
                                                         [--ca-secret=NAMESPACE/NAME:KEY]]
                                  [--min-free-bytes=N] [--dial-timeout=SECONDS]
  etcd-snapshot-driver agent verify --file=PATH
  etcd-snapshot-driver agent verify --remote --store-config-dir=DIR --namespace=NS --cluster=NAME
                                    --snapshot=NAME [--encryption-key-file=PATH] [--out=PATH]
  etcd-snapshot-driver agent upload --file=PATH --store-config-dir=DIR --namespace=NS --cluster=NAME
                                    --snapshot=NAME [--encryption-key-file=PATH]
                                    [--compression=none|zstd|gzip [--compression-level=N]]
                                    [--members=NAME=PEER_URL,…]
  etcd-snapshot-driver agent delete --dir=PATH
  etcd-snapshot-driver agent delete --remote --store-config-dir=DIR --namespace=NS --cluster=NAME
                                    --snapshot=NAME [--dir=PATH]
  etcd-snapshot-driver agent sweep --root=PATH [--keep=DIR,…] [--delete=DIR,…] [--min-age-seconds=N]
      [--store-config-dir=DIR --namespace=NS --cluster=NAME [--remote-keep=NAME,…] [--remote-delete=NAME,…]]
  etcd-snapshot-driver agent restore --file=PATH --sha256=HEX --data-dir=PATH --uid=UID --name=MEMBER
                                     --initial-cluster=NAME=URL,… --initial-cluster-token=TOKEN
                                     --initial-advertise-peer-urls=URL --bump-revision=N
  etcd-snapshot-driver agent restore --rollback --data-dir=PATH --uid=UID
  etcd-snapshot-driver agent restore --drop-previous --data-dir=PATH --uid=UID
  every operation: [--termination-log=PATH] (default ${TERMINATION_MESSAGE_PATH})
`;

/** argv after `agent`. */
export function parseAgentArgs(argv: readonly string[]): AgentCommand {
  const [op, ...rest] = argv;
  if (!isAgentOperation(op)) {
    throw new UsageError(
      `unknown agent operation "${(op ?? '').slice(0, 100)}" (want save, verify, upload, delete, sweep or restore)`,
    );
  }
  const known = FLAGS[op];
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m?.[1]) throw new UsageError(`unexpected argument "${arg}" for agent ${op}`);
    const name = m[1];
    if (!known.includes(name)) throw new UsageError(`unknown flag --${name} for agent ${op}`);
    let value = m[2];
    if (value === undefined && SWITCHES[op]?.has(name)) value = 'true';
    if (value === undefined) {
      value = rest[++i];
      if (value === undefined) throw new UsageError(`flag --${name} needs a value`);
    }
    if (flags.has(name)) throw new UsageError(`flag --${name} is given twice`);
    flags.set(name, value);
  }
  const terminationLog = flags.get('termination-log') ?? TERMINATION_MESSAGE_PATH;
  const required = (name: string) => {
    const v = flags.get(name);
    if (v === undefined || v === '') throw new UsageError(`flag --${name} is required for agent ${op}`);
    return v;
  };
  const absolute = (name: string) => {
    const v = required(name);
    if (!isAbsolute(v)) throw new UsageError(`--${name}="${v}" must be an absolute path`);
    return v;
  };

  if (op === 'restore') return { operation: op, args: parseRestoreFlags(flags), terminationLog };
  if (op === 'upload') return { operation: op, args: parseUploadFlags(flags), terminationLog };
  if (op === 'verify' && flags.has('remote')) {
    if (flags.get('remote') !== 'true') throw new UsageError('--remote takes no value');
    return { operation: 'verify-remote', args: parseRemoteVerifyFlags(flags), terminationLog };
  }
  if (op === 'verify') {
    const extra = VERIFY_REMOTE_FLAGS.find((f) => flags.has(f));
    if (extra) throw new UsageError(`--${extra} needs --remote`);
    return { operation: op, args: { file: absolute('file') }, terminationLog };
  }
  if (op === 'delete' && flags.has('remote')) {
    if (flags.get('remote') !== 'true') throw new UsageError('--remote takes no value');
    return { operation: 'delete-remote', args: parseRemoteDeleteFlags(flags), terminationLog };
  }
  if (op === 'delete') {
    const extra = DELETE_REMOTE_FLAGS.find((f) => flags.has(f));
    if (extra) throw new UsageError(`--${extra} needs --remote`);
    return { operation: op, args: { dir: absolute('dir') }, terminationLog };
  }
  if (op === 'sweep') {
    // Bare names only: a path (`../x`, `a/b`) could reach outside the claim or into a snapshot.
    const names = (name: string) => {
      const raw = flags.get(name) ?? '';
      const list = raw.split(',').filter((n) => n !== '');
      for (const n of list) {
        if (!SWEEP_DIR_NAME.test(n) || n === '.' || n === '..')
          throw new UsageError(`--${name}: "${n}" is not a snapshot directory name`);
      }
      return list;
    };
    const age = flags.get('min-age-seconds') ?? '600';
    if (!/^\d+$/.test(age) || !Number.isSafeInteger(Number(age)))
      throw new UsageError(`--min-age-seconds="${age}" is not a non-negative whole number of seconds`);
    const args: SweepArguments = {
      root: absolute('root'),
      keep: names('keep'),
      delete: names('delete'),
      minAgeSeconds: Number(age),
    };
    if (flags.has('store-config-dir')) {
      const required = (name: string) => {
        const v = flags.get(name);
        if (!v) throw new UsageError(`flag --${name} is required for agent sweep with --store-config-dir`);
        return v;
      };
      args.remote = {
        storeConfigDir: absolute('store-config-dir'),
        namespace: required('namespace'),
        cluster: required('cluster'),
        keep: names('remote-keep'),
        delete: names('remote-delete'),
      };
    } else {
      const extra = ['namespace', 'cluster', 'remote-keep', 'remote-delete'].find((f) => flags.has(f));
      if (extra) throw new UsageError(`--${extra} needs --store-config-dir`);
    }
    return { operation: op, args, terminationLog };
  }

  const endpoints = required('endpoints')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0)
    throw new UsageError(`--endpoints="${flags.get('endpoints')}" names no endpoint`);
  for (const e of endpoints) {
    try {
      parseEndpoint(e);
    } catch {
      throw new UsageError(
        `--endpoints: "${e.slice(0, 300)}" is not an etcd client URL like https://10.0.0.1:2379[?tls-server-name=NAME]`,
      );
    }
  }
  const args: SaveArguments = { endpoints, file: absolute('file'), snapshotId: required('snapshot-id') };
  const credentialsDir = flags.get('credentials-dir');
  if (credentialsDir !== undefined) {
    if (!isAbsolute(credentialsDir)) {
      throw new UsageError(`--credentials-dir="${credentialsDir}" must be an absolute path`);
    }
    args.credentialsDir = credentialsDir;
  }
  const credentialsSecret = flags.get('credentials-secret');
  if (credentialsSecret !== undefined) {
    if (!/^[a-z0-9][a-z0-9.-]{0,252}\/[a-z0-9][a-z0-9.-]{0,252}$/.test(credentialsSecret)) {
      throw new UsageError(`--credentials-secret="${credentialsSecret.slice(0, 300)}" is not NAMESPACE/NAME`);
    }
    args.credentialsSecret = credentialsSecret;
  }
  const caSecret = flags.get('ca-secret');
  if (caSecret !== undefined) {
    if (!/^[a-z0-9][a-z0-9.-]{0,252}\/[a-z0-9][a-z0-9.-]{0,252}:[-._a-zA-Z0-9]{1,253}$/.test(caSecret)) {
      throw new UsageError(`--ca-secret="${caSecret.slice(0, 300)}" is not NAMESPACE/NAME:KEY`);
    }
    args.caSecret = caSecret;
  }
  const minFree = flags.get('min-free-bytes');
  if (minFree !== undefined) {
    if (!/^\d+$/.test(minFree) || !Number.isSafeInteger(Number(minFree))) {
      throw new UsageError(`--min-free-bytes="${minFree}" is not a non-negative whole number of bytes`);
    }
    args.minFreeBytes = Number(minFree);
  }
  const dial = flags.get('dial-timeout');
  if (dial !== undefined) {
    const seconds = Number(dial.replace(/s$/, ''));
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
      throw new UsageError(`--dial-timeout="${dial}" is not a number of seconds in (0, 3600]`);
    }
    args.dialTimeoutSeconds = seconds;
  }
  return { operation: 'save', args, terminationLog };
}
