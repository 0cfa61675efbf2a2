// The schedule-level status: the Valid condition (with an Event when it changes), the number of
// clusters, and — for a fleet schedule, whose clusters' owners each write only their own entry —
// the summary, refreshed once per slot (status.clusters holds each cluster's exact state).
// A cluster newly selected gets an entry with its firstSeenTime, from which its lane owes slots
// (not from the schedule's creation: a cluster labelled later is not late for the slots before
// it). Entries of clusters no longer selected are removed by each cluster's owner
// (cluster-lane.ts); a group's here (the schedule key writes the group's entries).
import type {
  EtcdSnapshotSchedule,
  ScheduleCondition,
  ScheduleLaneStatus,
} from '../../records/etcd-snapshot-schedule.ts';
import { CONDITION_VALID } from '../../records/etcd-snapshot-schedule.ts';
import type { ReconcileContext } from '../result.ts';
import type { StepFailure } from '../step.ts';
import { type ScheduleIo, scheduleId } from './step-io.ts';
import type { ClusterTarget } from './targets.ts';
import type { ValidSpec } from './validate-spec.ts';

function validCondition(schedule: EtcdSnapshotSchedule): ScheduleCondition | undefined {
  return schedule.status?.conditions?.find((c) => c.type === CONDITION_VALID);
}

/** Whether the spec at its current generation was found valid (lanes act only then). */
export function isValidNow(schedule: EtcdSnapshotSchedule): boolean {
  const c = validCondition(schedule);
  return c?.status === 'True' && c.observedGeneration === schedule.metadata?.generation;
}

function condition(
  schedule: EtcdSnapshotSchedule,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: Date,
) {
  const old = validCondition(schedule);
  const next: ScheduleCondition = {
    type: CONDITION_VALID,
    status,
    reason,
    message: message.slice(0, 1024),
    observedGeneration: schedule.metadata?.generation ?? 0,
    lastTransitionTime:
      old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now.toISOString(),
  };
  const changed =
    !old ||
    old.status !== status ||
    old.reason !== reason ||
    old.message !== next.message ||
    old.observedGeneration !== next.observedGeneration;
  const others = (schedule.status?.conditions ?? []).filter((c) => c.type !== CONDITION_VALID);
  return { changed, conditions: [...others, next] };
}

/** Valid=False with the failure's reason and message, and a Warning Event, once per change. */
export async function markInvalid(
  io: ScheduleIo,
  schedule: EtcdSnapshotSchedule,
  failure: StepFailure,
  ctx: ReconcileContext,
): Promise<void> {
  const { changed, conditions } = condition(schedule, 'False', failure.reason, failure.message, io.now());
  if (!changed) return;
  await io.patchStatus(schedule, { observedGeneration: schedule.metadata?.generation ?? 0, conditions }, ctx);
  await io.event(schedule, { type: 'Warning', reason: failure.reason, message: failure.message }, ctx);
  ctx.log.warn(
    { reason: failure.reason, message: failure.message },
    'schedule spec is not valid; nothing is created or deleted',
  );
}

const newest = (values: (string | undefined)[]) =>
  values
    .filter((v): v is string => v !== undefined)
    .sort()
    .at(-1);

function fleetSummary(
  io: ScheduleIo,
  schedule: EtcdSnapshotSchedule,
  spec: ValidSpec,
  targets: readonly ClusterTarget[],
) {
  const lanes: ScheduleLaneStatus[] = targets.map((t) => schedule.status?.clusters?.[t.cluster] ?? {});
  const successes = lanes.map((l) => l.lastSuccessfulTime);
  const failures = lanes.flatMap((l) => (l.lastFailure ? [l.lastFailure] : []));
  return {
    nextScheduleTime: spec.cron.slotAfter(io.now())?.toISOString() ?? null,
    lastScheduleTime: newest(lanes.map((l) => l.lastScheduleTime)) ?? null,
    // The oldest of the clusters' last successes: how fresh the worst cluster is.
    lastSuccessfulTime: successes.every((s) => s !== undefined) ? ([...successes].sort()[0] ?? null) : null,
    activeRuns: lanes.filter((l) => l.active).length,
    lastFailure: failures.sort((a, b) => a.time.localeCompare(b.time)).at(-1) ?? null,
  };
}

/** Valid=True, clusterCount, new clusters' entries (a group's stale ones removed), a fleet's summary once per slot. */
export async function markValid(
  io: ScheduleIo,
  schedule: EtcdSnapshotSchedule,
  spec: ValidSpec,
  targets: readonly ClusterTarget[],
  ctx: ReconcileContext,
): Promise<void> {
  const message = `${targets.length} cluster(s): ${targets
    .map((t) => t.cluster)
    .slice(0, 20)
    .join(', ')}`;
  const { changed, conditions } = condition(schedule, 'True', 'Valid', message, io.now());
  const status = schedule.status ?? {};
  const patch: Record<string, unknown> = {};
  if (changed) Object.assign(patch, { observedGeneration: schedule.metadata?.generation ?? 0, conditions });
  if (status.clusterCount !== targets.length) patch.clusterCount = targets.length;
  const selected = new Set(targets.map((t) => t.cluster));
  const stale =
    spec.kind === 'VolumeGroupSnapshot'
      ? Object.keys(status.clusters ?? {}).filter((c) => !selected.has(c))
      : [];
  // The first look ever at the schedule: its clusters were there from its creation (slots since
  // then are owed, as CronJob owes them). Later: from now.
  const firstLook = (status.conditions ?? []).length === 0;
  const seen = firstLook
    ? (schedule.metadata?.creationTimestamp ?? io.now().toISOString())
    : io.now().toISOString();
  // (A group's lane is one, since the schedule's creation: its clusters need no entry for it.)
  const joined =
    spec.kind === 'VolumeSnapshot' ? [...selected].filter((c) => status.clusters?.[c] === undefined) : [];
  const entries: Record<string, unknown> = Object.fromEntries(stale.map((c) => [c, null]));
  for (const c of joined) entries[c] = { firstSeenTime: seen };
  if (stale.length + joined.length > 0) patch.clusters = entries;
  const fleet = spec.kind === 'VolumeSnapshot' && schedule.spec.target.selector !== undefined;
  if (fleet) {
    const summary = fleetSummary(io, schedule, spec, targets);
    if (changed || summary.nextScheduleTime !== (status.nextScheduleTime ?? null))
      Object.assign(patch, summary);
  }
  for (const c of stale) io.metrics.forget(scheduleId(schedule), c);
  if (Object.keys(patch).length > 0) await io.patchStatus(schedule, patch, ctx);
}
