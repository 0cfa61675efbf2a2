// The sweep Job: the driver image running `agent sweep` over one snapshot claim, with the same
// restricted pod as the pipeline's Jobs (src/reconcile/etcd-snapshot/job-spec.ts) and no
// credentials. Its name is deterministic per claim, so a crashed sweep is found again; it is
// owned by the claim, so it goes with it.
import { createHash } from 'node:crypto';
import { SNAPSHOT_MOUNT_PATH, sweepCommand, TERMINATION_MESSAGE_PATH } from '../../agent/contract.ts';
import type { Job, PersistentVolumeClaim } from '../../informers/resources.ts';
import { AGENT_UID } from '../etcd-snapshot/job-spec.ts';
import { APP_NAME, LABEL_APP, LABEL_CLUSTER, LABEL_OPERATION, labelValue } from '../etcd-snapshot/names.ts';
import type { RetentionOptions } from './options.ts';

const PREFIX = 'snapshot-sweep-';

/** `snapshot-sweep-<claim>`, hash-shortened past 63 characters. */
export function sweepJobName(claimName: string): string {
  const plain = `${PREFIX}${claimName}`;
  if (plain.length <= 63) return plain;
  const hash = createHash('sha256').update(claimName).digest('hex').slice(0, 10);
  return `${PREFIX}${claimName.slice(0, 63 - PREFIX.length - 11).replace(/-+$/, '')}-${hash}`;
}

export interface SweepJobInput {
  claim: PersistentVolumeClaim;
  clusterName: string;
  keep: string[];
  delete: string[];
}

export function buildSweepJob(options: RetentionOptions, input: SweepJobInput): Job {
  const claimName = input.claim.metadata?.name ?? '';
  const labels: Record<string, string> = { [LABEL_APP]: APP_NAME, [LABEL_OPERATION]: 'sweep' };
  const cluster = labelValue(input.clusterName);
  if (cluster) labels[LABEL_CLUSTER] = cluster;
  const o = options.job;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: sweepJobName(claimName),
      namespace: input.claim.metadata?.namespace ?? '',
      labels,
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          name: claimName,
          uid: input.claim.metadata?.uid ?? '',
        },
      ],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: o.jobActiveDeadlineSeconds,
      ttlSecondsAfterFinished: o.jobTtlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: o.executorServiceAccount,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: AGENT_UID,
            runAsGroup: AGENT_UID,
            fsGroup: AGENT_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'agent',
              image: o.agentImage,
              ...(o.agentCommand?.length ? { command: o.agentCommand } : {}),
              args: sweepCommand({
                root: SNAPSHOT_MOUNT_PATH,
                keep: input.keep,
                delete: input.delete,
                minAgeSeconds: options.orphanFileMinAgeSeconds,
              }),
              resources: o.resources,
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
              volumeMounts: [{ name: 'snapshots', mountPath: SNAPSHOT_MOUNT_PATH }],
            },
          ],
          volumes: [{ name: 'snapshots', persistentVolumeClaim: { claimName } }],
        },
      },
    },
  };
}
