// Metric hooks of the schedule reconciler; src/telemetry/schedule-metrics.ts implements them in
// the driver's registry (etcd_snapshot_schedule_*). `schedule` is `<namespace>/<name>`; a group
// schedule's lane reports each of its clusters.

export type RetentionDeletionState = 'ready' | 'failed';

export interface ScheduleMetrics {
  /** When the cluster's last scheduled snapshot succeeded (seconds); the schedule's start before any. */
  lastSuccess(schedule: string, cluster: string, epochSeconds: number): void;
  /** The schedule's interval around now (seconds): the alert compares the age of a success to it. */
  interval(schedule: string, cluster: string, seconds: number): void;
  runCreated(schedule: string, cluster: string): void;
  /** Slots not run: passed over after an outage, or past startingDeadlineSeconds. */
  runsMissed(schedule: string, cluster: string, count: number): void;
  /** Forbid: slots skipped because the previous run was not finished. */
  runSkipped(schedule: string, cluster: string): void;
  retentionDeleted(schedule: string, cluster: string, state: RetentionDeletionState): void;
  /** Forgets a lane's series (its schedule or cluster is gone). */
  forget(schedule: string, cluster: string): void;
}

export const noopScheduleMetrics: ScheduleMetrics = {
  lastSuccess() {},
  interval() {},
  runCreated() {},
  runsMissed() {},
  runSkipped() {},
  retentionDeleted() {},
  forget() {},
};
