// The agent Jobs (seed §6, corrected): the driver image in agent mode, the cluster's snapshot
// claim and credentials Secret mounted, a pod that passes PodSecurity `restricted`, owned by the
// record so deleting the record deletes its Jobs.

import type { V1Volume } from '@kubernetes/client-node';
import {
  CREDENTIALS_MOUNT_PATH,
  deleteCommand,
  SNAPSHOT_MOUNT_PATH,
  saveCommand,
  TERMINATION_MESSAGE_PATH,
} from '../../agent/contract.ts';
import { CA_KEY, TLS_CERT_KEY, TLS_KEY_KEY } from '../../etcd/credentials.ts';
import type { Job } from '../../informers/resources.ts';
import type { Wire } from '../../informers/wire.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { jobTracingEnv } from '../../telemetry/agent-telemetry.ts';
import { type JobOperation, jobLabels, jobName, snapshotDir } from './names.ts';
import type { PipelineOptions } from './options.ts';

/** The nonroot user of distroless images (the driver image's USER). */
export const AGENT_UID = 65532;
const CONTAINER = 'agent';

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
  const labels = jobLabels(operation, name, record.spec.cluster.name);
  const secret = record.spec.cluster.credentialsSecret;
  // Only the save talks to etcd; the delete needs the claim alone.
  const mountSecret = operation === 'save' && secret !== undefined && secret !== '';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(operation, name),
      namespace: record.metadata?.namespace ?? '',
      labels,
      ownerReferences: [
        {
          apiVersion: `${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`,
          kind: ETCD_SNAPSHOT.kind,
          name,
          uid: record.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      backoffLimit: options.jobBackoffLimit,
      activeDeadlineSeconds,
      ttlSecondsAfterFinished: options.jobTtlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: options.executorServiceAccount,
          // The agent never calls the Kubernetes API.
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: AGENT_UID,
            runAsGroup: AGENT_UID,
            // Makes the snapshot claim (and the Secret's files) group-accessible to the agent.
            fsGroup: AGENT_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER,
              image: options.agentImage,
              ...(options.agentCommand?.length ? { command: options.agentCommand } : {}),
              args,
              env: agentEnv(options, traceparent),
              resources: options.resources,
              terminationMessagePath: TERMINATION_MESSAGE_PATH,
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: AGENT_UID,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'snapshots', mountPath: SNAPSHOT_MOUNT_PATH },
                ...(mountSecret
                  ? [{ name: 'credentials', mountPath: CREDENTIALS_MOUNT_PATH, readOnly: true }]
                  : []),
              ],
            },
          ],
          volumes: [
            { name: 'snapshots', persistentVolumeClaim: { claimName: record.spec.storage.claimName } },
            ...(mountSecret ? [credentialsVolume(secret, record.spec.cluster.caSecret)] : []),
          ],
        },
      },
    },
  };
}

/**
 * The credentials Secret as files; with a CA Secret (etcd-druid's tlsCASecretRef) a projected
 * volume: the key pair from the one, the CA as ca.crt from the other, in one directory.
 */
function credentialsVolume(secret: string, ca: { name: string; key: string } | undefined): Wire<V1Volume> {
  if (!ca) return { name: 'credentials', secret: { secretName: secret, defaultMode: 0o440 } };
  return {
    name: 'credentials',
    projected: {
      defaultMode: 0o440,
      sources: [
        {
          secret: {
            name: secret,
            items: [
              { key: TLS_CERT_KEY, path: TLS_CERT_KEY },
              { key: TLS_KEY_KEY, path: TLS_KEY_KEY },
            ],
          },
        },
        { secret: { name: ca.name, items: [{ key: ca.key, path: CA_KEY }] } },
      ],
    },
  };
}

/** TRACEPARENT, plus where to export (options.agentTracing) so the agent's spans join the trace. */
function agentEnv(
  options: PipelineOptions,
  traceparent: string | undefined,
): { name: string; value: string }[] {
  if (!traceparent) return [];
  if (options.agentTracing === undefined) return [{ name: 'TRACEPARENT', value: traceparent }];
  return jobTracingEnv({ traceparent }, options.agentTracing);
}
