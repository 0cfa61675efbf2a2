// What the schedule flows share: the caches, the API, the options, the metrics and the clock, and
// the one way they write a schedule's status (a merge patch through a read-your-writes overlay,
// so the next reconcile sees this replica's last write even before the informer does).
import { objectKey, type ReadonlyStore } from '../../informers/store-types.ts';
import type { EtcdSnapshotSchedule } from '../../records/etcd-snapshot-schedule.ts';
import { type ReadYourWritesStore, readYourWrites } from '../../records/read-your-writes.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { ReconcileContext } from '../result.ts';
import type { ScheduleMetrics } from './metrics.ts';
import type { ScheduleOptions } from './options.ts';
import type { ScheduleApi, ScheduleEvent } from './ports.ts';
import type { RunObject } from './run-objects.ts';
import type { TargetStores } from './targets.ts';

export interface ScheduleStores extends TargetStores {
  schedules: ReadonlyStore<EtcdSnapshotSchedule>;
  /** Only objects labelled with a schedule (the informer's label selector). */
  volumeSnapshots: ReadonlyStore<RunObject>;
  /** Absent when the group snapshot API is not served. */
  volumeGroupSnapshots?: ReadonlyStore<RunObject>;
}

export interface ScheduleReconcilerDeps {
  stores: ScheduleStores;
  api: ScheduleApi;
  options: ScheduleOptions;
  metrics: ScheduleMetrics;
  logger: Logger;
  now?: () => Date;
}

export interface ScheduleIo {
  stores: ScheduleStores;
  api: ScheduleApi;
  options: ScheduleOptions;
  metrics: ScheduleMetrics;
  now(): Date;
  /** The schedule as the cache holds it, or this replica's later write of it. */
  schedule(key: string): EtcdSnapshotSchedule | undefined;
  patchStatus(
    schedule: EtcdSnapshotSchedule,
    status: Record<string, unknown>,
    ctx: ReconcileContext,
  ): Promise<void>;
  event(schedule: EtcdSnapshotSchedule, event: ScheduleEvent, ctx: ReconcileContext): Promise<void>;
}

export function scheduleIo(deps: ScheduleReconcilerDeps): ScheduleIo {
  const now = deps.now ?? (() => new Date());
  const cache = deps.stores.schedules;
  const written: ReadYourWritesStore<EtcdSnapshotSchedule> = readYourWrites(
    cache,
    {},
    { now: () => now().getTime() },
  );
  return {
    stores: deps.stores,
    api: deps.api,
    options: deps.options,
    metrics: deps.metrics,
    now,
    schedule: (key) => (cache.get(key) ? written.get(key) : undefined),
    async patchStatus(schedule, status, ctx) {
      ctx.assertOwner();
      written.wrote(await deps.api.patchStatus(schedule, status, ctx.signal));
    },
    async event(schedule, event, ctx) {
      ctx.assertOwner();
      await deps.api.recordEvent(schedule, event, ctx.signal);
    },
  };
}

/** `<namespace>/<name>`: the `schedule` label of the metrics. */
export function scheduleId(schedule: EtcdSnapshotSchedule): string {
  return objectKey(schedule);
}
