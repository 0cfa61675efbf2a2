// The schedule reconciler's options, with their defaults.

export interface ScheduleOptions {
  /** The CSI driver name: a source claim's PV must be this driver's. */
  driverName: string;
  /** Accept 6-field (seconds) cron expressions. For tests only (--schedule-seconds-for-tests). */
  allowSeconds: boolean;
  /** At most this many retention deletions per lane per reconcile (the rest wait for the next). */
  retentionBatchSize: number;
  /** How soon a lane with deferred deletions looks again. */
  retentionBatchPauseMs: number;
  workers: number;
}

export type ScheduleOptionsInput = Pick<ScheduleOptions, 'driverName'> & Partial<ScheduleOptions>;

export const DEFAULT_SCHEDULE_OPTIONS = {
  allowSeconds: false,
  retentionBatchSize: 10,
  retentionBatchPauseMs: 1_000,
  workers: 2,
} as const;

export function resolveScheduleOptions(input: ScheduleOptionsInput): ScheduleOptions {
  const options = { ...DEFAULT_SCHEDULE_OPTIONS, ...input };
  if (!Number.isInteger(options.retentionBatchSize) || options.retentionBatchSize < 1)
    throw new RangeError(`retentionBatchSize must be a positive integer, got ${options.retentionBatchSize}`);
  return options;
}
