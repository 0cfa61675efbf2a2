// A lane's status (one cluster's runs, or a group schedule's) recomputed from what it stored and
// the runs the cache holds. Pure. The slot decided last, the last schedule and the active run are
// derivable from the runs themselves (deterministic names), so a run's creation alone is not
// written back; a write happens when something only status can keep changes — a success, a
// failure, missed, skipped or suspended slots (run-lane.ts) — or before retention deletes (so a
// deleted run's slot stays decided). That keeps a scheduled snapshot at two API writes: its
// object and one status patch.
import type { ScheduleFailure, ScheduleLaneStatus } from '../../records/etcd-snapshot-schedule.ts';
import { type RunObject, runSlot, runState, successTime } from './run-objects.ts';
import { REASON_RUN_FAILED } from './validate-spec.ts';

const MAX_MESSAGE = 512;

const later = (a: string | undefined, b: Date | undefined): string | undefined => {
  if (!b) return a;
  return a === undefined || new Date(a) < b ? b.toISOString() : a;
};

/** `REASON: detail` errors of this driver keep their reason; others become SCHEDULE_RUN_FAILED. */
export function failureOf(run: RunObject): ScheduleFailure {
  const text = run.status?.error?.message ?? 'failed';
  const reason = /^([A-Z][A-Z0-9_]{2,63}):/.exec(text)?.[1] ?? /\b([A-Z][A-Z0-9_]{2,63}): /.exec(text)?.[1];
  return {
    reason: reason ?? REASON_RUN_FAILED,
    message: `${run.kind ?? 'run'} ${run.metadata?.name}: ${text}`.slice(0, MAX_MESSAGE),
    time: run.status?.error?.time ?? runSlot(run)?.toISOString() ?? new Date(0).toISOString(),
  };
}

export interface LaneObservation {
  status: ScheduleLaneStatus;
  /** The newest run, still in progress: Forbid waits for it. */
  pending?: RunObject;
  newest?: RunObject;
}

export function observeLane(stored: ScheduleLaneStatus, runs: readonly RunObject[]): LaneObservation {
  const sorted = [...runs].sort((a, b) => (runSlot(b)?.getTime() ?? 0) - (runSlot(a)?.getTime() ?? 0));
  const newest = sorted[0];
  const status: ScheduleLaneStatus = { ...stored };
  const newestSlot = newest ? runSlot(newest) : undefined;
  const lastScheduleTime = later(stored.lastScheduleTime, newestSlot);
  const lastDecidedSlot = later(stored.lastDecidedSlot, newestSlot);
  if (lastScheduleTime) status.lastScheduleTime = lastScheduleTime;
  if (lastDecidedSlot) status.lastDecidedSlot = lastDecidedSlot;
  const pending = newest && runState(newest) === 'pending' ? newest : undefined;
  if (pending) status.active = pending.metadata?.name ?? '';
  else delete status.active;
  for (const run of sorted) {
    if (runState(run) !== 'ready') continue;
    const t = later(status.lastSuccessfulTime, successTime(run));
    if (t) status.lastSuccessfulTime = t;
    break;
  }
  const failed = sorted.find((r) => runState(r) === 'failed');
  if (failed) {
    const failure = failureOf(failed);
    if (!stored.lastFailure || new Date(stored.lastFailure.time) < new Date(failure.time))
      status.lastFailure = failure;
  }
  return { status, ...(pending ? { pending } : {}), ...(newest ? { newest } : {}) };
}

/** Whether the change is one only status can keep (see the file comment). */
export function mustWrite(stored: ScheduleLaneStatus, next: ScheduleLaneStatus): boolean {
  return (
    stored.lastSuccessfulTime !== next.lastSuccessfulTime ||
    stored.lastFailure?.time !== next.lastFailure?.time ||
    (stored.missedRuns ?? 0) !== (next.missedRuns ?? 0) ||
    (stored.skippedRuns ?? 0) !== (next.skippedRuns ?? 0)
  );
}

/** Whether status holds every field as computed (no write needed at all). */
export function sameLane(a: ScheduleLaneStatus, b: ScheduleLaneStatus): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(o: ScheduleLaneStatus): [string, unknown][] {
  return Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .sort(([x], [y]) => x.localeCompare(y));
}

/** A merge patch turning `stored` into `next`: removed fields become null. */
export function lanePatch(stored: ScheduleLaneStatus, next: ScheduleLaneStatus): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(stored)) if (!(key in next)) patch[key] = null;
  return patch;
}
