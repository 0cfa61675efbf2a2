// The schedule-level flow (key `<ns>/<name>`): CheckSpec → CheckClass → SelectTargets, then the
// Valid condition and summary (schedule-status.ts), and for a VolumeGroupSnapshot schedule its
// group lane. A failing check writes Valid=False with an Event naming the field and the value;
// lanes act only while Valid=True at the current generation, so nothing is created or deleted
// for a bad spec. A spec error waits for the spec to change; a missing class or target (things
// outside the spec) is looked for again after RECHECK_MS.
import { objectKey } from '../../informers/store-types.ts';
import type { EtcdSnapshotSchedule } from '../../records/etcd-snapshot-schedule.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { fail, type Phase, proceed, runPhases } from '../step.ts';
import { groupLane } from './lanes.ts';
import { MAX_WAIT_MS } from './next-run.ts';
import { reconcileLane } from './run-lane.ts';
import { markInvalid, markValid } from './schedule-status.ts';
import type { ScheduleIo } from './step-io.ts';
import { type ClusterTarget, scheduleTargets } from './targets.ts';
import { checkSpec, REASON_CLASS_NOT_FOUND, REASON_NO_TARGETS, type ValidSpec } from './validate-spec.ts';

export const RECHECK_MS = 30_000;

type SchedulePhase = 'CheckSpec' | 'CheckClass' | 'SelectTargets';

const quote = (v: unknown) => JSON.stringify(v)?.slice(0, 200) ?? String(v);

export async function reconcileSchedule(
  io: ScheduleIo,
  schedule: EtcdSnapshotSchedule,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  let spec!: ValidSpec;
  let targets: ClusterTarget[] = [];
  const namespace = schedule.metadata?.namespace ?? '';
  const phases: Phase<SchedulePhase>[] = [
    {
      name: 'CheckSpec',
      run: async () => {
        const check = checkSpec(schedule.spec, io.options);
        if (!check.ok) return fail(check.reason, check.message);
        spec = check.spec;
        return proceed;
      },
    },
    {
      name: 'CheckClass',
      run: async () => {
        const className = schedule.spec.snapshot.className;
        if (await io.api.classExists(spec.kind, className, ctx.signal)) return proceed;
        return fail(
          REASON_CLASS_NOT_FOUND,
          `spec.snapshot.className: ${quote(className)} names no ${spec.kind}Class`,
        );
      },
    },
    {
      name: 'SelectTargets',
      run: async () => {
        targets = scheduleTargets(schedule, io.stores, io.options.driverName);
        if (targets.length > 0) return proceed;
        const { cluster, selector } = schedule.spec.target;
        const what =
          cluster !== undefined
            ? `spec.target.cluster: ${quote(cluster)}`
            : `spec.target.selector: ${quote(selector)}`;
        return fail(
          REASON_NO_TARGETS,
          `${what} matches no Bound source claim of driver ${io.options.driverName} in namespace ${namespace}`,
        );
      },
    },
  ];
  const outcome = await runPhases(phases);
  if ('phase' in outcome && outcome.result.kind === 'fail') {
    await markInvalid(io, schedule, outcome.result, ctx);
    return outcome.phase === 'CheckSpec' ? {} : { requeueAfter: RECHECK_MS };
  }
  await markValid(io, schedule, spec, targets, ctx);
  if (spec.kind === 'VolumeGroupSnapshot') {
    const current = io.schedule(objectKey(schedule)) ?? schedule;
    return reconcileLane(io, groupLane(io, current, spec, targets), ctx);
  }
  // Next look: the next slot (the fleet summary's refresh), and the class and targets again.
  const next = spec.cron.slotAfter(io.now());
  const untilNext = next ? next.getTime() - io.now().getTime() : MAX_WAIT_MS;
  return { requeueAfter: Math.max(1, Math.min(untilNext, RECHECK_MS * 10, MAX_WAIT_MS)) };
}
