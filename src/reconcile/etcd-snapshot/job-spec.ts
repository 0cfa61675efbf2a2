// The pipeline's agent Jobs (seed §6, corrected) on the shared template (src/reconcile/jobs):
// the cluster's snapshot claim and, for a save, its credentials Secret mounted, owned by the
// record so deleting the record deletes its Jobs.

import {
  CREDENTIALS_MOUNT_PATH,
  deleteCommand,
  SNAPSHOT_MOUNT_PATH,
  saveCommand,
} from '../../agent/contract.ts';
import type { Job } from '../../informers/resources.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { buildAgentJob } from '../jobs/agent-job.ts';
import { claimMount, credentialsMount } from '../jobs/mounts.ts';
import { type JobOperation, jobLabels, jobName, snapshotDir } from '../snapshot-records/names.ts';
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
  return buildJob(options, record, 'save', args, deadline, input.traceparent);
}

export function buildDeleteJob(options: PipelineOptions, record: EtcdSnapshot, traceparent?: string): Job {
  const args = deleteCommand({ dir: `${SNAPSHOT_MOUNT_PATH}/${snapshotDir(record.spec.storage.path)}` });
  return buildJob(options, record, 'delete', args, options.jobActiveDeadlineSeconds, traceparent);
}

function buildJob(
  options: PipelineOptions,
  record: EtcdSnapshot,
  operation: JobOperation,
  args: string[],
  activeDeadlineSeconds: number,
  traceparent: string | undefined,
): Job {
  const name = record.metadata?.name ?? '';
  const secret = record.spec.cluster.credentialsSecret;
  const snapshots = claimMount('snapshots', record.spec.storage.claimName, SNAPSHOT_MOUNT_PATH);
  // Only the save talks to etcd; the delete needs the claim alone.
  const mountSecret = operation === 'save' && secret !== undefined && secret !== '';
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
    mounts: mountSecret
      ? [
          snapshots,
          credentialsMount('credentials', secret, record.spec.cluster.caSecret, CREDENTIALS_MOUNT_PATH),
        ]
      : [snapshots],
    activeDeadlineSeconds,
    ...(traceparent ? { traceparent } : {}),
  });
}
