// `agent restore …`'s flags (args.ts reads the command line): every value is checked here, with
// the plan's own rules for the membership, so a bad Job spec fails before anything is touched.
import { isAbsolute } from 'node:path';
import type { RestoreArguments } from './contract.ts';
import { UsageError } from './failure.ts';
import { checkPeerUrl, parseInitialCluster, RestorePlanError } from './restore-plan.ts';

export const RESTORE_FLAGS = [
  'file',
  'sha256',
  'data-dir',
  'uid',
  'name',
  'initial-cluster',
  'initial-cluster-token',
  'initial-advertise-peer-urls',
  'bump-revision',
  'rollback',
  'drop-previous',
  'termination-log',
] as const;

/** Flags that take no value (`--rollback`; `--rollback=true` works too). */
export const RESTORE_SWITCHES = new Set(['rollback', 'drop-previous']);

const UID = /^[a-z0-9]([-a-z0-9]{0,62}[a-z0-9])?$/;
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

const shown = (v: string) => JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);

export function parseRestoreFlags(flags: ReadonlyMap<string, string>): RestoreArguments {
  const required = (name: string) => {
    const v = flags.get(name);
    if (v === undefined || v === '') throw new UsageError(`flag --${name} is required for agent restore`);
    return v;
  };
  const absolute = (name: string) => {
    const v = required(name);
    if (!isAbsolute(v) || v.replace(/\/+$/, '') === '')
      throw new UsageError(`--${name}=${shown(v)} must be an absolute path below /`);
    return v;
  };
  const switchOn = (name: string) => {
    const v = flags.get(name);
    if (v === undefined || v === 'false') return false;
    if (v === 'true') return true;
    throw new UsageError(`--${name}=${shown(v)}: want no value, true or false`);
  };
  const rollback = switchOn('rollback');
  const dropPrevious = switchOn('drop-previous');
  if (rollback && dropPrevious) throw new UsageError('--rollback and --drop-previous exclude each other');

  const dataDir = absolute('data-dir');
  const uid = required('uid');
  if (!UID.test(uid)) throw new UsageError(`--uid=${shown(uid)} is not a lowercase UID like 0d3c…-…`);
  if (rollback || dropPrevious) {
    const extra = [...flags.keys()].find(
      (f) => !['data-dir', 'uid', 'rollback', 'drop-previous', 'termination-log'].includes(f),
    );
    if (extra)
      throw new UsageError(`--${extra} has no meaning with --${rollback ? 'rollback' : 'drop-previous'}`);
    return rollback ? { mode: 'rollback', dataDir, uid } : { mode: 'drop-previous', dataDir, uid };
  }

  const sha256 = required('sha256');
  if (!/^[0-9a-f]{64}$/.test(sha256))
    throw new UsageError(`--sha256=${shown(sha256)} is not 64 lowercase hex digits`);
  const name = required('name');
  const cluster = required('initial-cluster');
  const peerUrl = required('initial-advertise-peer-urls');
  let members: { name: string; peerUrl: string }[];
  try {
    members = parseInitialCluster(cluster);
    checkPeerUrl(peerUrl, '--initial-advertise-peer-urls:');
  } catch (err) {
    if (err instanceof RestorePlanError) throw new UsageError(`--initial-cluster: ${err.message}`);
    throw err;
  }
  const self = members.find((m) => m.name === name);
  if (!self)
    throw new UsageError(`--name=${shown(name)} is not a member of --initial-cluster=${shown(cluster)}`);
  if (self.peerUrl !== peerUrl)
    throw new UsageError(
      `--initial-advertise-peer-urls=${shown(peerUrl)} differs from ${shown(self.peerUrl)}, member ${name}'s URL in --initial-cluster`,
    );
  const token = required('initial-cluster-token');
  if (!TOKEN.test(token)) throw new UsageError(`--initial-cluster-token=${shown(token)} is not a token`);
  const bump = required('bump-revision');
  if (!/^\d+$/.test(bump) || !Number.isSafeInteger(Number(bump)))
    throw new UsageError(`--bump-revision=${shown(bump)} is not a non-negative whole number`);
  return {
    mode: 'restore',
    file: absolute('file'),
    sha256,
    dataDir,
    uid,
    name,
    initialCluster: cluster,
    initialClusterToken: token,
    initialAdvertisePeerUrls: peerUrl,
    bumpRevision: Number(bump),
  };
}
