// The sweep Job: `agent sweep` over one snapshot claim (and, for one claim of a cluster whose
// records name a store, the cluster's remote snapshots), on the agent Job template
// (src/reconcile/jobs) with no etcd credentials; the store Secret mounted when it lists a store. Its name is deterministic per claim, so a crashed
// sweep is found again; it is owned by the claim, so it goes with it.
import { SNAPSHOT_MOUNT_PATH, STORE_CONFIG_MOUNT_PATH, sweepCommand } from '../../agent/contract.ts';
import type { Job, PersistentVolumeClaim } from '../../informers/resources.ts';
import { buildAgentJob } from '../jobs/agent-job.ts';
import { boundedName, workloadLabels } from '../jobs/labels.ts';
import { claimMount, secretMount } from '../jobs/mounts.ts';
import type { RetentionOptions } from './options.ts';

/** `snapshot-sweep-<claim>`, hash-shortened past 63 characters. */
export function sweepJobName(claimName: string): string {
  return boundedName('snapshot-sweep-', claimName);
}

export interface SweepJobInput {
  claim: PersistentVolumeClaim;
  clusterName: string;
  keep: string[];
  delete: string[];
  /** The cluster's remote snapshots too, in the store of this Secret (remote-orphans.ts). */
  remote?: { secretName: string; keep: string[]; delete: string[] };
}

export function buildSweepJob(options: RetentionOptions, input: SweepJobInput): Job {
  const claimName = input.claim.metadata?.name ?? '';
  const remote = input.remote;
  return buildAgentJob(options.job, {
    name: sweepJobName(claimName),
    namespace: input.claim.metadata?.namespace ?? '',
    labels: workloadLabels('sweep', input.clusterName),
    // The claim owns its sweeps but does not manage them.
    owner: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: claimName,
      uid: input.claim.metadata?.uid ?? '',
      controller: false,
    },
    args: sweepCommand({
      root: SNAPSHOT_MOUNT_PATH,
      keep: input.keep,
      delete: input.delete,
      minAgeSeconds: options.orphanFileMinAgeSeconds,
      ...(remote
        ? {
            remote: {
              storeConfigDir: STORE_CONFIG_MOUNT_PATH,
              namespace: input.claim.metadata?.namespace ?? '',
              cluster: input.clusterName,
              keep: remote.keep,
              delete: remote.delete,
            },
          }
        : {}),
    }),
    mounts: [
      claimMount('snapshots', claimName, SNAPSHOT_MOUNT_PATH),
      // Optional: a store Secret deleted since must not keep the local sweep from running.
      ...(remote ? [secretMount('object-store', remote.secretName, STORE_CONFIG_MOUNT_PATH, true)] : []),
    ],
    backoffLimit: 0,
  });
}
