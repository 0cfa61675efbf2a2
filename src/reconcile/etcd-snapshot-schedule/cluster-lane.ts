// A cluster lane's flow (key `<ns>/<schedule>@<cluster>`, owned with the cluster's bucket): only
// while the schedule is Valid at its generation, of kind VolumeSnapshot, and the cluster still one
// of its targets; otherwise nothing (the schedule-level flow reports why). A cluster the schedule
// key has not yet given an entry (its firstSeenTime) waits: its lane would not know since when
// slots are owed. The schedule key's write wakes it; the requeue is the fallback.
// A cluster no longer a target has its entry removed here, by its owner, judged by the same
// claim cache that decides its runs — not by the schedule key's replica, whose cache may not yet
// hold the claim that made the cluster a target (it would delete an entry the owner just wrote).
import type { EtcdSnapshotSchedule } from '../../records/etcd-snapshot-schedule.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { clusterLane } from './lanes.ts';
import { reconcileLane } from './run-lane.ts';
import { isValidNow } from './schedule-status.ts';
import { type ScheduleIo, scheduleId } from './step-io.ts';
import { scheduleTargets } from './targets.ts';
import { checkSpec } from './validate-spec.ts';

/** How soon a cluster lane without its status entry looks again. */
export const AWAIT_ENTRY_MS = 5_000;

export async function reconcileClusterLane(
  io: ScheduleIo,
  schedule: EtcdSnapshotSchedule,
  cluster: string,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  if (!isValidNow(schedule)) return {};
  const check = checkSpec(schedule.spec, io.options);
  if (!check.ok || check.spec.kind !== 'VolumeSnapshot') return {};
  const target = scheduleTargets(schedule, io.stores, io.options.driverName).find(
    (t) => t.cluster === cluster,
  );
  if (!target) {
    if (schedule.status?.clusters?.[cluster] === undefined) return {};
    await io.patchStatus(schedule, { clusters: { [cluster]: null } }, ctx);
    io.metrics.forget(scheduleId(schedule), cluster);
    return {};
  }
  if (schedule.status?.clusters?.[cluster] === undefined) return { requeueAfter: AWAIT_ENTRY_MS };
  return reconcileLane(io, clusterLane(io, schedule, check.spec, target), ctx);
}
