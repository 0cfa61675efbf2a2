// One lane of a valid schedule — a cluster's VolumeSnapshots, or a group schedule's
// VolumeGroupSnapshots — moved one step: Observe → Schedule → Retain → Record → Prune.
//
//   Observe   the lane's runs from the cache (labelled with the schedule; hand-made ones never are)
//   Schedule  planRun (next-run.ts): create the due slot's object (deterministic name: a second
//             create of a slot is AlreadyExists), or skip it (Forbid), or count it missed
//   Retain    selectForDeletion (retention-select.ts): a bounded batch of the lane's runs
//   Record    one merge patch of the lane's status when only status can keep the change, and
//             always before a deletion (so a deleted run's slot stays decided)
//   Emit      the metrics and Events of what Schedule decided, only now: a failed write is
//             retried by deciding the slot again, which must not count or announce it twice
//   Prune     delete that batch (the upstream path removes contents, records and files)
// Level-based: nothing is remembered between reconciles but status and the objects; the result's
// requeueAfter (the next slot, or soon when deletions wait) is the only timer.
import type { EtcdSnapshotSchedule, ScheduleLaneStatus } from '../../records/etcd-snapshot-schedule.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { type Phase, proceed, runPhases } from '../step.ts';
import { lanePatch, mustWrite, observeLane, sameLane } from './lane-status.ts';
import { planRun, type RunPlan } from './next-run.ts';
import type { RunKind } from './ports.ts';
import { pruneRuns, RETRY_DELETE_MS } from './prune-runs.ts';
import { selectForDeletion } from './retention-select.ts';
import { type RunObject, retentionCandidates, runState } from './run-objects.ts';
import { type ScheduleIo, scheduleId } from './step-io.ts';
import type { ValidSpec } from './validate-spec.ts';

export interface Lane {
  schedule: EtcdSnapshotSchedule;
  spec: ValidSpec;
  kind: RunKind;
  /** What metrics and messages call the lane's clusters (a group: every target). */
  clusters: readonly string[];
  /** "cluster main" / "the group": for messages. */
  label: string;
  stored: ScheduleLaneStatus;
  runs: RunObject[];
  nameFor(slot: Date): string;
  build(name: string, slot: Date): RunObject;
  /** Writes the lane's status (and whatever the owner of the lane also writes with it). */
  write(
    patch: Record<string, unknown>,
    next: ScheduleLaneStatus,
    plan: RunPlan,
    ctx: ReconcileContext,
  ): Promise<void>;
}

type LanePhase = 'Observe' | 'Schedule' | 'Retain' | 'Record' | 'Emit' | 'Prune';

const iso = (d: Date) => d.toISOString();

/** The schedule's interval around now (for the freshness alert): next slot − the one before. */
export function intervalSeconds(spec: ValidSpec, now: Date): number | undefined {
  const prev = spec.cron.slotAtOrBefore(now);
  const next = spec.cron.slotAfter(now);
  return prev && next ? (next.getTime() - prev.getTime()) / 1000 : undefined;
}

export async function reconcileLane(
  io: ScheduleIo,
  lane: Lane,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const { schedule } = lane;
  const id = scheduleId(schedule);
  const now = io.now();
  // A cluster owes slots from when the schedule first had it (schedule-status.ts), else (a
  // group, or an entry written before firstSeenTime existed) from the schedule's creation.
  const since = new Date(
    lane.stored.firstSeenTime ?? schedule.metadata?.creationTimestamp ?? now.toISOString(),
  );
  let next: ScheduleLaneStatus = lane.stored;
  let plan!: RunPlan;
  let toDelete: string[] = [];
  let deferred = 0;
  let decidedWithoutObject = false;
  let deleteFailed = false;
  /** Metrics and Events of the decision, emitted once Record has kept it (phase Emit). */
  const effects: (() => Promise<void> | void)[] = [];
  const warn = (reason: string, message: string) =>
    effects.push(() => io.event(schedule, { type: 'Warning', reason, message }, ctx));

  const phases: Phase<LanePhase>[] = [
    {
      name: 'Observe',
      run: async () => {
        next = observeLane(lane.stored, lane.runs).status;
        return proceed;
      },
    },
    {
      name: 'Schedule',
      run: async () => {
        plan = planRun({
          schedule: lane.spec.cron,
          now,
          since,
          ...(next.lastDecidedSlot ? { lastDecidedSlot: new Date(next.lastDecidedSlot) } : {}),
          ...(schedule.spec.startingDeadlineSeconds
            ? { startingDeadlineSeconds: schedule.spec.startingDeadlineSeconds }
            : {}),
          suspend: schedule.spec.suspend === true,
          previousRunFinished: next.active === undefined,
        });
        const { action, missedBefore } = plan;
        if (action.kind === 'idle') return proceed;
        next = { ...next, lastDecidedSlot: iso(action.slot) };
        // A run's object records its slot; a slot decided without one only status can keep.
        decidedWithoutObject = action.kind !== 'run';
        const missed = missedBefore + (action.kind === 'late' ? 1 : 0);
        if (missed > 0) {
          next.missedRuns = (next.missedRuns ?? 0) + missed;
          effects.push(() => {
            for (const c of lane.clusters) io.metrics.runsMissed(id, c, missed);
          });
        }
        if (action.kind === 'run') {
          const name = lane.nameFor(action.slot);
          ctx.assertOwner();
          if (await io.api.createRun(lane.build(name, action.slot), ctx.signal)) {
            // Counted at once: the object is its own record, and a retry's create of the same
            // name is AlreadyExists (false), so a failed status write cannot count it twice.
            for (const c of lane.clusters) io.metrics.runCreated(id, c);
            ctx.log.info(
              { run: name, slot: iso(action.slot), missed: missedBefore },
              'scheduled run created',
            );
          }
          next = { ...next, lastScheduleTime: iso(action.slot), active: name };
          if (missedBefore > 0)
            warn(
              'MissedRuns',
              `${lane.label}: ${missedBefore} slot(s) before ${iso(action.slot)} were missed; made up one run, ${name}`,
            );
        } else if (action.kind === 'skip') {
          next.skippedRuns = (next.skippedRuns ?? 0) + 1;
          effects.push(() => {
            for (const c of lane.clusters) io.metrics.runSkipped(id, c);
          });
          warn(
            'SkippedRun',
            `${lane.label}: slot ${iso(action.slot)} skipped: run ${next.active} is not finished (concurrencyPolicy Forbid)`,
          );
        } else if (action.kind === 'late') {
          warn(
            'MissedRun',
            `${lane.label}: slot ${iso(action.slot)} is more than startingDeadlineSeconds ${schedule.spec.startingDeadlineSeconds} old; not run`,
          );
        }
        return proceed;
      },
    },
    {
      name: 'Retain',
      run: async () => {
        const candidates = retentionCandidates(lane.runs.filter((r) => runState(r) !== 'pending'));
        const selection = selectForDeletion(
          candidates,
          lane.spec.retention,
          now,
          io.options.retentionBatchSize,
        );
        toDelete = selection.delete;
        deferred = selection.deferred;
        return proceed;
      },
    },
    {
      name: 'Record',
      run: async () => {
        const needed = mustWrite(lane.stored, next) || decidedWithoutObject;
        if (needed || (toDelete.length > 0 && !sameLane(lane.stored, next)))
          await lane.write(lanePatch(lane.stored, next), next, plan, ctx);
        return proceed;
      },
    },
    {
      name: 'Emit',
      run: async () => {
        for (const effect of effects) await effect();
        return proceed;
      },
    },
    {
      // Last: Record has made every deleted run's slot decided in status.
      name: 'Prune',
      run: async () => {
        deleteFailed = !(await pruneRuns(io, lane, toDelete, deferred, ctx));
        return proceed;
      },
    },
  ];
  await runPhases(phases);

  const interval = intervalSeconds(lane.spec, now);
  const success = next.lastSuccessfulTime ? new Date(next.lastSuccessfulTime) : since;
  for (const c of lane.clusters) {
    io.metrics.lastSuccess(id, c, success.getTime() / 1000);
    if (interval !== undefined) io.metrics.interval(id, c, interval);
  }
  if (deferred > 0) return { requeueAfter: io.options.retentionBatchPauseMs };
  if (deleteFailed) return { requeueAfter: Math.min(plan.requeueAfterMs, RETRY_DELETE_MS) };
  return { requeueAfter: plan.requeueAfterMs };
}
