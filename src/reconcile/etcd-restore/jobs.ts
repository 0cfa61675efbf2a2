// The agent Jobs of a restore, on the one agent Job template (../jobs/agent-job.ts): the fetch of
// a remote copy (when the source has no local file), the file's verify, one restore per member, and per member a rollback or a drop of the kept data. Names
// are deterministic (found again after any crash) and written to status before the Job exists.
import {
  DATA_MOUNT_PATH,
  ENCRYPTION_KEY_FILE_NAME,
  ENCRYPTION_KEY_MOUNT_PATH,
  type RestoreArguments,
  restoreCommand,
  restoreJobName,
  SNAPSHOT_MOUNT_PATH,
  STORE_CONFIG_MOUNT_PATH,
  verifyCommand,
  verifyRemoteCommand,
} from '../../agent/contract.ts';
import type { Job } from '../../informers/resources.ts';
import {
  ETCD_RESTORE,
  type EtcdRestore,
  type EtcdRestoreFetchStatus,
  type EtcdRestoreMemberStatus,
} from '../../records/etcd-restore.ts';
import { SNAPSHOT_GROUP } from '../../records/etcd-snapshot.ts';
import { type AgentMount, buildAgentJob } from '../jobs/agent-job.ts';
import { boundedName, labelValue, workloadLabels } from '../jobs/labels.ts';
import { claimMount, secretMount } from '../jobs/mounts.ts';
import type { RestoreOptions } from './options.ts';
import { restoreTraceparent } from './tracing.ts';

/** The restore a Job works for (its pods carry it too, through the template). */
export const LABEL_RESTORE = `${SNAPSHOT_GROUP}/restore`;

export type RestoreJobKind = 'fetch' | 'verify' | 'restore' | 'rollback' | 'drop';

export function verifyJobName(restoreName: string): string {
  return boundedName('snapshot-restore-verify-', restoreName);
}

export function fetchJobName(restoreName: string): string {
  return boundedName('snapshot-restore-fetch-', restoreName);
}

/** Member Jobs: `snapshot-restore-<restore>-<member>`; a member name (a pod name) never ends in -rollback/-drop. */
export function memberJobName(
  kind: 'restore' | 'rollback' | 'drop',
  restoreName: string,
  member: string,
): string {
  return restoreJobName(restoreName, kind === 'restore' ? member : `${member}-${kind}`);
}

function labels(restore: EtcdRestore, kind: RestoreJobKind): Record<string, string> {
  const out = workloadLabels(`restore-${kind}`, restore.spec.target.cluster);
  const name = restore.metadata?.name ?? '';
  out[LABEL_RESTORE] = labelValue(name) ?? boundedName('', name);
  return out;
}

function build(
  options: RestoreOptions,
  restore: EtcdRestore,
  kind: RestoreJobKind,
  name: string,
  args: string[],
  mounts: AgentMount[],
): Job {
  const traceparent = restoreTraceparent(restore);
  return buildAgentJob(options.job, {
    name,
    namespace: restore.metadata?.namespace ?? '',
    labels: labels(restore, kind),
    owner: {
      apiVersion: `${ETCD_RESTORE.group}/${ETCD_RESTORE.version}`,
      kind: ETCD_RESTORE.kind,
      name: restore.metadata?.name ?? '',
      uid: restore.metadata?.uid ?? '',
      controller: true,
    },
    args,
    mounts,
    ...(traceparent ? { traceparent } : {}),
  });
}

const snapshotMount = (claim: string) => ({
  ...claimMount('snapshots', claim, SNAPSHOT_MOUNT_PATH),
  readOnly: true,
});
const dataMount = (claim: string) => claimMount('data', claim, DATA_MOUNT_PATH);

function snapshotFile(restore: EtcdRestore): { claim: string; file: string } {
  const s = restore.status?.snapshot;
  return { claim: s?.claimName ?? '', file: `${SNAPSHOT_MOUNT_PATH}/${s?.path ?? ''}` };
}

export function buildVerifyJob(options: RestoreOptions, restore: EtcdRestore): Job {
  const { claim, file } = snapshotFile(restore);
  return build(
    options,
    restore,
    'verify',
    verifyJobName(restore.metadata?.name ?? ''),
    verifyCommand({ file }),
    [snapshotMount(claim)],
  );
}

/**
 * `agent verify --remote --out`: the copy downloaded, decrypted, decompressed and checked (both
 * SHA-256s, etcd's trailer) into the snapshot claim, mounted writable; the store Secret and the
 * key Secret mounted read-only. A re-run finds the verified file and downloads nothing.
 */
export function buildFetchJob(
  options: RestoreOptions,
  restore: EtcdRestore,
  fetch: EtcdRestoreFetchStatus,
): Job {
  const mounts: AgentMount[] = [
    claimMount('snapshots', fetch.claimName, SNAPSHOT_MOUNT_PATH),
    secretMount('object-store', fetch.secretName, STORE_CONFIG_MOUNT_PATH),
  ];
  if (fetch.encryptionKeySecret)
    mounts.push(secretMount('encryption-key', fetch.encryptionKeySecret, ENCRYPTION_KEY_MOUNT_PATH));
  const args = verifyRemoteCommand({
    storeConfigDir: STORE_CONFIG_MOUNT_PATH,
    namespace: fetch.namespace,
    cluster: fetch.cluster,
    snapshot: fetch.snapshot,
    ...(fetch.encryptionKeySecret
      ? { encryptionKeyFile: `${ENCRYPTION_KEY_MOUNT_PATH}/${ENCRYPTION_KEY_FILE_NAME}` }
      : {}),
    out: `${SNAPSHOT_MOUNT_PATH}/${fetch.path}`,
  });
  return build(options, restore, 'fetch', fetch.job, args, mounts);
}

export function buildMemberJob(
  options: RestoreOptions,
  restore: EtcdRestore,
  kind: 'restore' | 'rollback' | 'drop',
  member: EtcdRestoreMemberStatus,
): Job {
  const s = restore.status ?? {};
  const common = { dataDir: s.jobDataDir ?? '', uid: restore.metadata?.uid ?? '' };
  const name = memberJobName(kind, restore.metadata?.name ?? '', member.name);
  if (kind !== 'restore') {
    const args: RestoreArguments = { mode: kind === 'rollback' ? 'rollback' : 'drop-previous', ...common };
    return build(options, restore, kind, name, restoreCommand(args), [dataMount(member.dataClaim)]);
  }
  const { claim, file } = snapshotFile(restore);
  const members = s.members ?? [];
  const args: RestoreArguments = {
    mode: 'restore',
    file,
    sha256: s.snapshot?.checksumSha256 ?? '',
    ...common,
    name: member.name,
    initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    initialClusterToken: s.clusterToken ?? '',
    initialAdvertisePeerUrls: member.peerUrl,
    bumpRevision: s.revisionBump ?? 0,
  };
  return build(options, restore, 'restore', name, restoreCommand(args), [
    dataMount(member.dataClaim),
    snapshotMount(claim),
  ]);
}

/** Whether the Job is this restore's own (not one of an earlier restore of the same name). */
export function ownedByRestore(job: Job, restore: EtcdRestore): boolean {
  const uid = restore.metadata?.uid;
  return (job.metadata?.ownerReferences ?? []).some(
    (o) => o.kind === ETCD_RESTORE.kind && (!uid || o.uid === uid),
  );
}
