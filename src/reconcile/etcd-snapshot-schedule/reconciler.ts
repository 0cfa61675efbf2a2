// The schedule reconciler: level-based over EtcdSnapshotSchedules. A key is either the schedule
// (validation, condition, summary, a group schedule's runs) or one cluster of it (that cluster's
// runs and retention); work-keys.ts says how keys map to ownership buckets. This file only picks
// the flow. All state is in status and in the runs' deterministic names; no timers but the
// controller's requeueAfter.
import type { ReconcileContext, ReconcileResult, Reconciler } from '../result.ts';
import { reconcileSchedule } from './check-schedule.ts';
import { reconcileClusterLane } from './cluster-lane.ts';
import { type ScheduleIo, type ScheduleReconcilerDeps, scheduleIo } from './step-io.ts';
import { parseWorkKey, scheduleKey } from './work-keys.ts';

export type { ScheduleReconcilerDeps, ScheduleStores } from './step-io.ts';

export class EtcdSnapshotScheduleReconciler implements Reconciler {
  readonly #io: ScheduleIo;

  constructor(deps: ScheduleReconcilerDeps) {
    this.#io = scheduleIo(deps);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const parsed = parseWorkKey(key);
    if (!parsed) return {};
    const schedule = this.#io.schedule(scheduleKey(parsed.namespace, parsed.schedule));
    if (!schedule || schedule.metadata?.deletionTimestamp) return {};
    if (parsed.kind === 'schedule') return reconcileSchedule(this.#io, schedule, ctx);
    return reconcileClusterLane(this.#io, schedule, parsed.cluster, ctx);
  }
}
