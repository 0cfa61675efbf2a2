// Options of the retention controller (orphaned records, retention-days, the orphan file sweep),
// with defaults and validation: a bad value fails at start naming the option and the value.
import type { PipelineOptions } from '../etcd-snapshot/options.ts';

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
    PipelineOptions,
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

export function resolveRetentionOptions(input: RetentionOptionsInput): RetentionOptions {
  const o: RetentionOptions = { ...DEFAULT_RETENTION_OPTIONS, ...input };
  const bad = (name: string, value: unknown, why: string) =>
    new RangeError(`retention option ${name}=${JSON.stringify(value)}: ${why}`);
  if (!o.driverName.trim()) throw bad('driverName', o.driverName, 'a driver name is required');
  for (const [name, value, min] of [
    ['orphanGraceMs', o.orphanGraceMs, 0],
    ['sweepIntervalMs', o.sweepIntervalMs, 0],
    ['orphanFileMinAgeSeconds', o.orphanFileMinAgeSeconds, 0],
    ['resyncMs', o.resyncMs, 1],
    ['pollIntervalMs', o.pollIntervalMs, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < min) throw bad(name, value, `must be an integer ≥ ${min}`);
  }
  return o;
}
