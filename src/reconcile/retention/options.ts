// Options of the retention controller (orphaned records, retention-days, the orphan file sweep)
// with their defaults. Their ranges are checked once, where they are read (src/config).
import type { AgentJobOptions } from '../jobs/agent-job.ts';

export interface RetentionOptions {
  /** Only records with this spec.driverName are judged (another driver's records are not ours). */
  driverName: string;
  /**
   * A Ready/Failed record is judged only this long after it finished and after it was created:
   * a content that is being created (or a cache that lags) is never taken for a gone one.
   */
  orphanGraceMs: number;
  /**
   * What to do with a record whose content is gone without its deletion policy ever being seen
   * (a restart since, or a content this process never watched): false → report only.
   */
  deleteUnknownOrphanRecords: boolean;
  /** How often each cluster's snapshot claim is swept for unowned directories; 0 disables. */
  sweepIntervalMs: number;
  /** Remove a directory reported unowned by one sweep and still unowned at the next. */
  deleteOrphanFiles: boolean;
  /** Directories younger than this are never reported or removed (a save may be writing one). */
  orphanFileMinAgeSeconds: number;
  /** How often a cluster's records are judged again without an event (expiry is a matter of time). */
  resyncMs: number;
  /** Re-check interval while a sweep Job runs. */
  pollIntervalMs: number;
  /** The sweep Job's image, account, deadline, TTL and resources: the pipeline's. */
  job: Pick<
    AgentJobOptions,
    | 'agentImage'
    | 'agentCommand'
    | 'executorServiceAccount'
    | 'jobActiveDeadlineSeconds'
    | 'jobTtlSecondsAfterFinished'
    | 'resources'
  >;
}

export type RetentionOptionsInput = Pick<RetentionOptions, 'driverName' | 'job'> & Partial<RetentionOptions>;

export const DEFAULT_RETENTION_OPTIONS = {
  orphanGraceMs: 120_000,
  deleteUnknownOrphanRecords: false,
  sweepIntervalMs: 3_600_000,
  deleteOrphanFiles: false,
  orphanFileMinAgeSeconds: 600,
  resyncMs: 300_000,
  pollIntervalMs: 5_000,
} as const;

/** The defaults under the given options. Values are not checked again: src/config did that. */
export function resolveRetentionOptions(input: RetentionOptionsInput): RetentionOptions {
  return { ...DEFAULT_RETENTION_OPTIONS, ...input };
}
