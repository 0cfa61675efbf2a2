// What a schedule should do for one cluster now, from its status and the clock alone (no timers:
// the controller's requeueAfter brings the next look). CronJob's rules:
//   - only the latest slot not yet decided may run: after an outage ONE missed run is made up,
//     never a burst; the slots before it are counted as missed;
//   - with startingDeadlineSeconds, a slot older than that is too late: missed, not run;
//   - concurrencyPolicy Forbid: a due slot is skipped while the previous run is not finished;
//   - while suspended, slots pass undecided-as-run (neither run nor missed) and nothing is made
//     up on resume.
// "Decided" slots are remembered in status (lastDecidedSlot), so each is counted once.
import type { CronSchedule } from './cron.ts';

/** How far back missed slots are counted at most (CronJob stops at 100 too). */
export const MAX_COUNTED_MISSES = 100;
/** The longest requeue: a weekly or yearly slot is approached in steps (timers have a range). */
export const MAX_WAIT_MS = 3_600_000;

export interface RunInputs {
  schedule: CronSchedule;
  now: Date;
  /** When the schedule (or its cluster's target) began: no slot before it is owed. */
  since: Date;
  /** The newest slot already run, skipped, missed or passed while suspended. */
  lastDecidedSlot?: Date;
  startingDeadlineSeconds?: number;
  suspend?: boolean;
  /** Forbid: false while the previous run of this cluster is neither ready nor failed. */
  previousRunFinished: boolean;
}

export type RunAction =
  /** Create the run of `slot`. */
  | { kind: 'run'; slot: Date }
  /** Forbid: the previous run is not finished; `slot` is skipped (an Event says so). */
  | { kind: 'skip'; slot: Date }
  /** The latest slot is past startingDeadlineSeconds: missed, not run. */
  | { kind: 'late'; slot: Date }
  /** Suspended: `slot` passes without a run. */
  | { kind: 'suspended'; slot: Date }
  /** Nothing due. */
  | { kind: 'idle' };

export interface RunPlan {
  action: RunAction;
  /** Slots between the last decided one and the acted-on one, never run (bounded count). */
  missedBefore: number;
  /** The next slot after now, if the expression has one. */
  next: Date | undefined;
  /** When to look again (ms, ≥ 1): the next slot, at most MAX_WAIT_MS away. */
  requeueAfterMs: number;
}

function countBetween(schedule: CronSchedule, after: Date, before: Date): number {
  let count = 0;
  let slot = schedule.slotAfter(after);
  while (slot && slot < before && count < MAX_COUNTED_MISSES) {
    count++;
    slot = schedule.slotAfter(slot);
  }
  return count;
}

export function planRun(inputs: RunInputs): RunPlan {
  const { schedule, now } = inputs;
  const next = schedule.slotAfter(now);
  const requeueAfterMs = next
    ? Math.max(1, Math.min(MAX_WAIT_MS, next.getTime() - now.getTime()))
    : MAX_WAIT_MS;
  const from = inputs.lastDecidedSlot ?? inputs.since;
  const latest = schedule.slotAtOrBefore(now);
  if (!latest || latest <= from) return { action: { kind: 'idle' }, missedBefore: 0, next, requeueAfterMs };
  if (inputs.suspend)
    return { action: { kind: 'suspended', slot: latest }, missedBefore: 0, next, requeueAfterMs };
  const missedBefore = countBetween(schedule, from, latest);
  const deadline = inputs.startingDeadlineSeconds;
  let action: RunAction;
  if (deadline !== undefined && now.getTime() - latest.getTime() > deadline * 1000) {
    action = { kind: 'late', slot: latest };
  } else if (!inputs.previousRunFinished) {
    action = { kind: 'skip', slot: latest };
  } else {
    action = { kind: 'run', slot: latest };
  }
  return { action, missedBefore, next, requeueAfterMs };
}
