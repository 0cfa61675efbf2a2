// The schedule reconciler's metrics in the driver's registry. It fits the ScheduleMetrics hooks
// of src/reconcile/etcd-snapshot-schedule/metrics.ts structurally (telemetry imports nothing of
// src/). `schedule` is `<namespace>/<name>`; (schedule, cluster) pairs beyond the limit share one
// overflow series, so a huge fleet cannot blow up the registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import { BoundedLabel } from './bounded-label.ts';

/** Distinct (schedule, cluster) series before the rest share the overflow one. */
const LANE_LIMIT = 1000;

type Labels = 'schedule' | 'cluster';

export class PromScheduleMetrics {
  readonly #lastSuccess: Gauge<Labels>;
  readonly #interval: Gauge<Labels>;
  readonly #created: Counter<Labels>;
  readonly #missed: Counter<Labels>;
  readonly #skipped: Counter<Labels>;
  readonly #deleted: Counter<Labels | 'state'>;
  readonly #lane = new BoundedLabel(LANE_LIMIT);

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames: Labels[] = ['schedule', 'cluster'];
    this.#lastSuccess = new Gauge({
      name: 'etcd_snapshot_schedule_last_success_timestamp_seconds',
      help: "When the cluster's last scheduled snapshot was taken (Unix seconds); the schedule's creation until its first success",
      labelNames,
      registers,
    });
    this.#interval = new Gauge({
      name: 'etcd_snapshot_schedule_interval_seconds',
      help: "The schedule's interval around now (next slot minus the previous one), for the freshness alert",
      labelNames,
      registers,
    });
    this.#created = new Counter({
      name: 'etcd_snapshot_schedule_runs_total',
      help: 'Scheduled runs created (one VolumeSnapshot per cluster, or one VolumeGroupSnapshot counted for each of its clusters)',
      labelNames,
      registers,
    });
    this.#missed = new Counter({
      name: 'etcd_snapshot_schedule_missed_runs_total',
      help: 'Slots not run: passed over after an outage (one is made up) or older than startingDeadlineSeconds',
      labelNames,
      registers,
    });
    this.#skipped = new Counter({
      name: 'etcd_snapshot_schedule_skipped_runs_total',
      help: 'Slots skipped by concurrencyPolicy Forbid: the previous run of the cluster was not finished',
      labelNames,
      registers,
    });
    this.#deleted = new Counter({
      name: 'etcd_snapshot_schedule_retention_deletions_total',
      help: "Runs deleted by a schedule's retention, by the run's state (ready, failed)",
      labelNames: ['schedule', 'cluster', 'state'],
      registers,
    });
  }

  #labels(schedule: string, cluster: string): Record<Labels, string> {
    const lane = this.#lane.map(`${schedule}\u0000${cluster}`);
    if (lane !== `${schedule}\u0000${cluster}`) return { schedule: lane, cluster: lane };
    return { schedule, cluster };
  }

  lastSuccess(schedule: string, cluster: string, epochSeconds: number): void {
    this.#lastSuccess.set(this.#labels(schedule, cluster), epochSeconds);
  }

  interval(schedule: string, cluster: string, seconds: number): void {
    this.#interval.set(this.#labels(schedule, cluster), seconds);
  }

  runCreated(schedule: string, cluster: string): void {
    this.#created.inc(this.#labels(schedule, cluster));
  }

  runsMissed(schedule: string, cluster: string, count: number): void {
    this.#missed.inc(this.#labels(schedule, cluster), count);
  }

  runSkipped(schedule: string, cluster: string): void {
    this.#skipped.inc(this.#labels(schedule, cluster));
  }

  retentionDeleted(schedule: string, cluster: string, state: string): void {
    this.#deleted.inc({ ...this.#labels(schedule, cluster), state });
  }

  forget(schedule: string, cluster: string): void {
    const labels = this.#labels(schedule, cluster);
    this.#lastSuccess.remove(labels);
    this.#interval.remove(labels);
  }
}
