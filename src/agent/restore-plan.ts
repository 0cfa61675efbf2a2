// The pure part of a restore (issue 12): what every member's `agent restore` is told, derived
// from the restore's identity and the cluster's membership. No I/O: the coming EtcdRestore
// reconciler computes the same values through contract.ts, the agent checks its argv with them.
import { createHash } from 'node:crypto';

/** A member of the cluster being restored: etcd's name and the peer URL it advertises. */
export interface RestoreMember {
  name: string;
  peerUrl: string;
}

/** The smallest bump (issue 12): far beyond any revision a client could have seen being reused. */
export const MIN_REVISION_BUMP = 1_000_000_000;

/** Thrown for membership, names or revisions that cannot make a restore; messages name the value. */
export class RestorePlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestorePlanError';
  }
}

const shown = (value: string) => JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);

/**
 * How far `etcdutl snapshot restore --bump-revision` moves the revision:
 * max(1e9, ceil(1.2 × (lastRevisionSeen − snapshotRevision))). Watchers and informer caches
 * (a Kubernetes apiserver on this etcd) must never see a revision they already saw reused.
 */
export function revisionBump(lastRevisionSeen: number, snapshotRevision: number): number {
  for (const [name, value] of [
    ['lastRevisionSeen', lastRevisionSeen],
    ['snapshotRevision', snapshotRevision],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RestorePlanError(`${name}=${value} is not a non-negative whole revision`);
  }
  const behind = Math.max(0, lastRevisionSeen - snapshotRevision);
  // ceil(1.2 × n) as ceil(6n / 5) in integers: no floating-point rounding to reason about.
  return Math.max(MIN_REVISION_BUMP, Math.floor((behind * 6 + 4) / 5));
}

/** The default `--initial-cluster-token` of a restore: a new cluster ID, so no old peer joins it. */
export function defaultClusterToken(restoreUid: string): string {
  return `restore-${restoreUid}`;
}

/** etcd joins `name=url` pairs with `,` and `=`: a name holding either would break the list. */
const MEMBER_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

/** An http(s) peer URL with an explicit host and port, nothing after the port. */
export function checkPeerUrl(url: string, what: string): string {
  const m = /^(https?):\/\/([^/?#@\s]+):(\d{1,5})$/.exec(url);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535)
    throw new RestorePlanError(`${what} ${shown(url)} is not a peer URL like https://host:2380`);
  return url;
}

/** `--initial-cluster`: `name=peerURL,…` in the order given; names unique, URLs valid. */
export function initialCluster(members: readonly RestoreMember[]): string {
  if (members.length === 0) throw new RestorePlanError('the restore names no member');
  const names = new Set<string>();
  const urls = new Set<string>();
  for (const m of members) {
    if (!MEMBER_NAME.test(m.name))
      throw new RestorePlanError(`member name ${shown(m.name)} is not a valid name`);
    if (names.has(m.name)) throw new RestorePlanError(`member name ${shown(m.name)} is listed twice`);
    checkPeerUrl(m.peerUrl, `peer URL of member ${m.name}:`);
    if (urls.has(m.peerUrl)) throw new RestorePlanError(`peer URL ${shown(m.peerUrl)} is listed twice`);
    names.add(m.name);
    urls.add(m.peerUrl);
  }
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
}

/** The inverse of initialCluster, with the same checks (the agent reads its argv with it). */
export function parseInitialCluster(value: string): RestoreMember[] {
  const members = value.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new RestorePlanError(`initial cluster entry ${shown(pair)} is not name=peerURL`);
    return { name: pair.slice(0, eq), peerUrl: pair.slice(eq + 1) };
  });
  initialCluster(members);
  return members;
}

const MAX_NAME = 63;

/** `snapshot-restore-<restore>-<member>`, hash-shortened past 63 characters (as names.ts does). */
export function restoreJobName(restoreName: string, memberName: string): string {
  const plain = `snapshot-restore-${restoreName}-${memberName}`;
  if (plain.length <= MAX_NAME) return plain;
  // The pair, not the joined text, is hashed: "a-b"+"c" and "a"+"b-c" get different names.
  const hash = createHash('sha256').update(`${restoreName}/${memberName}`).digest('hex').slice(0, 10);
  const room = MAX_NAME - 'snapshot-restore-'.length - hash.length - 1;
  const head = `${restoreName}-${memberName}`.slice(0, room).replace(/[-.]+$/, '');
  return `snapshot-restore-${head}-${hash}`;
}

/** What a restore keeps beside the member's data dir, all on the same filesystem (renames). */
export interface RestorePaths {
  dataDir: string;
  /** etcdutl writes here; its rename to `staging` marks a complete restore. */
  stagingPart: string;
  /** The restored data, complete, waiting to be swapped in. */
  staging: string;
  /** The data dir the restore replaced, kept for a rollback. */
  previous: string;
  /** A rollback moves the restored data here before putting `previous` back, then removes it. */
  discarded: string;
  /** The restore's journal: written before the swap, so a re-run knows which side is which. */
  journal: string;
}

export function restorePaths(dataDir: string, restoreUid: string): RestorePaths {
  const base = dataDir.replace(/\/+$/, '');
  return {
    dataDir: base,
    stagingPart: `${base}.restore-${restoreUid}.part`,
    staging: `${base}.restore-${restoreUid}`,
    previous: `${base}.pre-restore-${restoreUid}`,
    discarded: `${base}.rolled-back-${restoreUid}`,
    journal: `${base}.restore-${restoreUid}.json`,
  };
}
