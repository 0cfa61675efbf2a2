// The two kinds of lane a valid schedule has (run-lane.ts moves either one step): a cluster's
// VolumeSnapshots, written into status.clusters[cluster] by the cluster's owner, and a group
// schedule's VolumeGroupSnapshots, written into status.group by the schedule's owner. A lane
// whose writer is the schedule's only writer of runs (one named cluster, or the group) also
// carries the summary fields (Last Success, Next) in the same patch: one write, not two.
import type { EtcdSnapshotSchedule, ScheduleLaneStatus } from '../../records/etcd-snapshot-schedule.ts';
import type { RunPlan } from './next-run.ts';
import type { Lane } from './run-lane.ts';
import { LABEL_SCHEDULE, LABEL_SCHEDULE_CLUSTER, nameLabel, runObjectName } from './run-names.ts';
import { groupSnapshotRun, laneRuns, type RunObject, volumeSnapshotRun } from './run-objects.ts';
import type { ScheduleIo } from './step-io.ts';
import type { ClusterTarget } from './targets.ts';
import type { ValidSpec } from './validate-spec.ts';

/** Informer index of run objects: `<ns>/<schedule label>/<cluster label or ''>`. */
export const INDEX_SCHEDULE_LANE = 'schedule-lane';

export function scheduleLaneIndexer(obj: RunObject): string[] {
  const labels = obj.metadata?.labels ?? {};
  const schedule = labels[LABEL_SCHEDULE];
  if (!schedule) return [];
  return [`${obj.metadata?.namespace ?? ''}/${schedule}/${labels[LABEL_SCHEDULE_CLUSTER] ?? ''}`];
}

function laneIndexKey(schedule: EtcdSnapshotSchedule, cluster: string | undefined): string {
  const ns = schedule.metadata?.namespace ?? '';
  return `${ns}/${nameLabel(schedule.metadata?.name ?? '')}/${cluster === undefined ? '' : nameLabel(cluster)}`;
}

/** The summary fields a lane writes when it is the schedule's only lane. */
export function summaryOf(next: ScheduleLaneStatus, plan: RunPlan): Record<string, unknown> {
  return {
    lastScheduleTime: next.lastScheduleTime ?? null,
    lastSuccessfulTime: next.lastSuccessfulTime ?? null,
    nextScheduleTime: plan.next?.toISOString() ?? null,
    activeRuns: next.active ? 1 : 0,
    lastFailure: next.lastFailure ?? null,
  };
}

export function clusterLane(
  io: ScheduleIo,
  schedule: EtcdSnapshotSchedule,
  spec: ValidSpec,
  target: ClusterTarget,
): Lane {
  const name = schedule.metadata?.name ?? '';
  const { cluster } = target;
  const single = schedule.spec.target.cluster !== undefined;
  return {
    schedule,
    spec,
    kind: 'VolumeSnapshot',
    clusters: [cluster],
    label: `cluster ${cluster}`,
    stored: schedule.status?.clusters?.[cluster] ?? {},
    // Not the index's answer as it is: runs being deleted (retention would pick them again every
    // pass while finalizers hold them) and objects without a slot are not runs of the lane.
    runs: laneRuns(
      io.stores.volumeSnapshots.byIndex(INDEX_SCHEDULE_LANE, laneIndexKey(schedule, cluster)),
      schedule,
      cluster,
    ),
    nameFor: (slot) => runObjectName(name, cluster, slot),
    build: (runName, slot) => volumeSnapshotRun(schedule, cluster, target.claim, runName, slot),
    write: (patch, next, plan, ctx) =>
      io.patchStatus(
        schedule,
        { clusters: { [cluster]: patch }, ...(single ? summaryOf(next, plan) : {}) },
        ctx,
      ),
  };
}

export function groupLane(
  io: ScheduleIo,
  schedule: EtcdSnapshotSchedule,
  spec: ValidSpec,
  targets: readonly ClusterTarget[],
): Lane {
  const name = schedule.metadata?.name ?? '';
  const clusters = targets.map((t) => t.cluster);
  return {
    schedule,
    spec,
    kind: 'VolumeGroupSnapshot',
    clusters,
    label: 'the group',
    stored: schedule.status?.group ?? {},
    runs: laneRuns(
      io.stores.volumeGroupSnapshots?.byIndex(INDEX_SCHEDULE_LANE, laneIndexKey(schedule, undefined)) ?? [],
      schedule,
      undefined,
    ),
    nameFor: (slot) => runObjectName(name, undefined, slot),
    build: (runName, slot) => groupSnapshotRun(schedule, runName, slot),
    write: (patch, next, plan, ctx) => {
      // Each cluster's last success is the group's: status.clusters stays per cluster for both kinds.
      const perCluster = Object.fromEntries(
        clusters.map((c) => [c, { lastSuccessfulTime: next.lastSuccessfulTime ?? null }]),
      );
      return io.patchStatus(schedule, { group: patch, clusters: perCluster, ...summaryOf(next, plan) }, ctx);
    },
  };
}
