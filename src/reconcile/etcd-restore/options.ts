// The restore reconciler's options, with their defaults. The Job settings are the driver's agent
// Job flags (the same as the snapshot pipeline's); the rest bound the waits of a restore.
import type { DiscoveryOptions } from '../../etcd/discovery.ts';
import type { AgentJobOptions } from '../jobs/agent-job.ts';

export interface RestoreOptions {
  job: AgentJobOptions;
  /** Concurrent reconciles (distinct restores). */
  workers: number;
  /** How often a waiting restore looks again when no event is expected to wake it. */
  pollIntervalMs: number;
  /** Deadline of one look at the live cluster (Validate's member list, VerifyResult). */
  probeTimeoutMs: number;
  /** How long the started cluster may take to pass VerifyResult before the restore rolls back. */
  verifyResultTimeoutMs: number;
  /** How long Quiesce waits for the members' pods to go before the restore fails (nothing touched yet). */
  quiesceTimeoutMs: number;
  /** How long a target that does not exist yet is waited for when the restore sets no waitForTargetSeconds. */
  defaultWaitForTargetSeconds: number;
  /** Which discovery methods finding the cluster's endpoints may use; all when unset. */
  discovery?: DiscoveryOptions;
  /**
   * How a snapshot claim that a remote copy is fetched into is made when it does not exist (the
   * pipeline's `--storage-class` and `--snapshot-claim-size`); unset: such a restore fails.
   */
  snapshotClaim?: { defaultStorageClass: string; size?: string };
}

export const DEFAULT_RESTORE_OPTIONS: Omit<RestoreOptions, 'job'> = {
  workers: 2,
  pollIntervalMs: 5_000,
  probeTimeoutMs: 5_000,
  verifyResultTimeoutMs: 300_000,
  quiesceTimeoutMs: 300_000,
  // Velero restores claims before workloads: the StatefulSet may come minutes after the claim.
  defaultWaitForTargetSeconds: 600,
};

export type RestoreOptionsInput = Pick<RestoreOptions, 'job'> & Partial<RestoreOptions>;

export function resolveRestoreOptions(input: RestoreOptionsInput): RestoreOptions {
  return { ...DEFAULT_RESTORE_OPTIONS, ...input };
}
