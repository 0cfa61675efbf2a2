// The pipeline's agent Jobs (seed §6, corrected) on the shared template (src/reconcile/jobs):
// the cluster's snapshot claim and, for a save, its credentials Secret mounted, for an upload the
// store's Secrets, owned by the record so deleting the record deletes its Jobs.

import {
  CREDENTIALS_MOUNT_PATH,
  deleteCommand,
  deleteRemoteCommand,
  ENCRYPTION_KEY_FILE_NAME,
  ENCRYPTION_KEY_MOUNT_PATH,
  SNAPSHOT_MOUNT_PATH,
  STORE_CONFIG_MOUNT_PATH,
  saveCommand,
  type UploadArguments,
  uploadCommand,
  verifyRemoteCommand,
} from '../../agent/contract.ts';
import type { Job } from '../../informers/resources.ts';
import { formatVolumeSnapshots } from '../../objectstore/manifest.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { AgentMount } from '../jobs/agent-job.ts';
import { buildAgentJob } from '../jobs/agent-job.ts';
import { claimMount, credentialsMount, secretMount } from '../jobs/mounts.ts';
import { type JobOperation, jobLabels, jobName } from '../snapshot-records/names.ts';
import type { PipelineOptions } from './options.ts';

export interface SaveJobInput {
  record: EtcdSnapshot;
  endpoints: string[];
  minFreeBytes?: number;
  /** W3C traceparent of the RunJob span, for the agent's spans. */
  traceparent?: string;
}

export function buildSaveJob(options: PipelineOptions, input: SaveJobInput): Job {
  const { record } = input;
  const secret = record.spec.cluster.credentialsSecret;
  const ca = record.spec.cluster.caSecret;
  const args = saveCommand({
    endpoints: input.endpoints,
    file: `${SNAPSHOT_MOUNT_PATH}/${record.spec.storage.path}`,
    snapshotId: record.metadata?.name ?? '',
    // The mounted Secrets, by name, for the agent's messages.
    ...(secret
      ? {
          credentialsDir: CREDENTIALS_MOUNT_PATH,
          credentialsSecret: `${record.spec.cluster.namespace}/${secret}`,
        }
      : {}),
    ...(secret && ca ? { caSecret: `${record.spec.cluster.namespace}/${ca.name}:${ca.key}` } : {}),
    ...(input.minFreeBytes !== undefined ? { minFreeBytes: input.minFreeBytes } : {}),
    dialTimeoutSeconds: 5,
  });
  // The record's timeout bounds the whole save; the option bounds every Job.
  const deadline = Math.min(
    options.jobActiveDeadlineSeconds,
    Math.max(1, record.spec.snapshotTimeoutSeconds),
  );
  const secretMounts =
    secret !== undefined && secret !== ''
      ? [credentialsMount('credentials', secret, ca, CREDENTIALS_MOUNT_PATH)]
      : [];
  return buildJob(options, record, 'save', args, deadline, input.traceparent, secretMounts);
}

/**
 * The upload of a verified save (docs/object-store.md): a Job of its own rather than a second
 * step of the save Job, so that each Job is one step whose result the record keeps — the save's
 * result is in status before the upload starts, and an upload that failed or was lost is judged
 * or run again without saving again. The record must name a store (spec.objectStore).
 */
export function buildUploadJob(options: PipelineOptions, record: EtcdSnapshot, traceparent?: string): Job {
  const store = record.spec.objectStore;
  if (!store) throw new Error(`record ${record.metadata?.name} names no object store`);
  const args = uploadCommand({
    file: `${SNAPSHOT_MOUNT_PATH}/${record.spec.storage.path}`,
    storeConfigDir: STORE_CONFIG_MOUNT_PATH,
    namespace: record.metadata?.namespace ?? '',
    cluster: record.spec.cluster.name,
    snapshot: record.metadata?.name ?? '',
    compression: store.compression,
    ...(store.compressionLevel !== undefined ? { compressionLevel: store.compressionLevel } : {}),
    ...(store.encryptionKeySecret
      ? { encryptionKeyFile: `${ENCRYPTION_KEY_MOUNT_PATH}/${ENCRYPTION_KEY_FILE_NAME}` }
      : {}),
    ...csiIdentity(record),
  });
  const mounts = [secretMount('object-store', store.secretName, STORE_CONFIG_MOUNT_PATH)];
  if (store.encryptionKeySecret)
    mounts.push(secretMount('encryption-key', store.encryptionKeySecret, ENCRYPTION_KEY_MOUNT_PATH));
  return buildJob(options, record, 'upload', args, options.jobActiveDeadlineSeconds, traceparent, mounts);
}

/**
 * What the manifest records so that another cluster can import the copy and answer CSI calls by
 * its IDs (docs/object-store.md, "Disaster recovery"). Members whose IDs cannot be written as
 * the flag's `id=volume` pairs leave the list out (an import then refuses the copy, never guesses).
 */
function csiIdentity(record: EtcdSnapshot): Partial<UploadArguments> {
  const volumeSnapshots = formatVolumeSnapshots(
    record.spec.members.map((m) => ({ snapshotId: m.snapshotId, sourceVolumeId: m.sourceVolumeId })),
  );
  const name = record.spec.requestName;
  return {
    ...(name !== '' && name.length <= 256 ? { requestKind: record.spec.requestKind, requestName: name } : {}),
    ...(record.spec.groupSnapshotId ? { groupSnapshotId: record.spec.groupSnapshotId } : {}),
    ...(volumeSnapshots ? { volumeSnapshots } : {}),
  };
}

/**
 * A scheduled check of a Ready record's remote copy (remote-verify.ts): `agent verify --remote`
 * with the store Secret and, for an encrypted copy, the key Secret mounted (the claim is mounted
 * as in every pipeline Job, and not read).
 */
export function buildVerifyJob(options: PipelineOptions, record: EtcdSnapshot): Job {
  const store = record.spec.objectStore;
  if (!store) throw new Error(`record ${record.metadata?.name} names no object store`);
  const args = verifyRemoteCommand({
    storeConfigDir: STORE_CONFIG_MOUNT_PATH,
    namespace: record.metadata?.namespace ?? '',
    cluster: record.spec.cluster.name,
    snapshot: record.metadata?.name ?? '',
    ...(store.encryptionKeySecret
      ? { encryptionKeyFile: `${ENCRYPTION_KEY_MOUNT_PATH}/${ENCRYPTION_KEY_FILE_NAME}` }
      : {}),
  });
  const mounts = [secretMount('object-store', store.secretName, STORE_CONFIG_MOUNT_PATH)];
  if (store.encryptionKeySecret)
    mounts.push(secretMount('encryption-key', store.encryptionKeySecret, ENCRYPTION_KEY_MOUNT_PATH));
  return buildJob(options, record, 'verify', args, options.jobActiveDeadlineSeconds, undefined, mounts);
}

/** A record whose copy went (or was going) to a store: its upload started, or it names a copy. */
export function remoteCopyMayExist(record: EtcdSnapshot): boolean {
  // An imported record's copy belongs to the cluster that made it (docs/object-store.md,
  // "Disaster recovery"): deleting the record here never deletes it.
  if (record.spec.imported) return false;
  return record.spec.objectStore !== undefined && (!!record.status?.uploadJob || !!record.status?.remote);
}

/**
 * The removal of a record's files: its own directory on the claim (`dir`, absent when the path is
 * not a directory of its own) and, when a remote copy may exist, that copy. Both in ONE Job
 * (`agent delete --remote --dir`) rather than a Job per place: the agent removes the remote
 * objects first and the directory only after them, so one result says "both gone" and a failed
 * run leaves the local copy for the retry; two Jobs would need two judged results and an order
 * kept in status for the same guarantee. The Job mounts the store Secret, never the key (deleting
 * decrypts nothing).
 */
export function buildDeleteJob(
  options: PipelineOptions,
  record: EtcdSnapshot,
  dir: string | undefined,
  traceparent?: string,
): Job {
  const local = dir !== undefined ? `${SNAPSHOT_MOUNT_PATH}/${dir}` : undefined;
  const store = record.spec.objectStore;
  if (store && remoteCopyMayExist(record)) {
    const args = deleteRemoteCommand({
      storeConfigDir: STORE_CONFIG_MOUNT_PATH,
      namespace: record.metadata?.namespace ?? '',
      cluster: record.spec.cluster.name,
      snapshot: record.metadata?.name ?? '',
      ...(local !== undefined ? { dir: local } : {}),
    });
    const mounts = [secretMount('object-store', store.secretName, STORE_CONFIG_MOUNT_PATH)];
    return buildJob(options, record, 'delete', args, options.jobActiveDeadlineSeconds, traceparent, mounts);
  }
  if (local === undefined) throw new Error(`record ${record.metadata?.name} has nothing to delete`);
  const args = deleteCommand({ dir: local });
  return buildJob(options, record, 'delete', args, options.jobActiveDeadlineSeconds, traceparent, []);
}

function buildJob(
  options: PipelineOptions,
  record: EtcdSnapshot,
  operation: JobOperation,
  args: string[],
  activeDeadlineSeconds: number,
  traceparent: string | undefined,
  // Only the save talks to etcd; the upload and a delete of a remote copy to the store.
  secretMounts: AgentMount[],
): Job {
  const name = record.metadata?.name ?? '';
  const snapshots = claimMount('snapshots', record.spec.storage.claimName, SNAPSHOT_MOUNT_PATH);
  return buildAgentJob(options, {
    name: jobName(operation, name),
    namespace: record.metadata?.namespace ?? '',
    labels: jobLabels(operation, name, record.spec.cluster.name),
    owner: {
      apiVersion: `${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`,
      kind: ETCD_SNAPSHOT.kind,
      name,
      uid: record.metadata?.uid ?? '',
      controller: true,
    },
    args,
    mounts: [snapshots, ...secretMounts],
    activeDeadlineSeconds,
    ...(traceparent ? { traceparent } : {}),
  });
}
