import { describe, expect, it } from 'vitest';
import { type CronSchedule, parseCron } from '../../../../src/reconcile/etcd-snapshot-schedule/cron.ts';
import {
  MAX_WAIT_MS,
  planRun,
  type RunInputs,
} from '../../../../src/reconcile/etcd-snapshot-schedule/next-run.ts';

const at = (iso: string) => new Date(iso);

function cron(expression: string, timeZone = 'UTC', allowSeconds = false): CronSchedule {
  const parsed = parseCron(expression, timeZone, { allowSeconds });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.schedule;
}

/** Slots after `from`, n of them, as ISO strings. */
function slots(schedule: CronSchedule, from: string, n: number): string[] {
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = schedule.slotAfter(t);
    if (!next) break;
    out.push(next.toISOString());
    t = next;
  }
  return out;
}

describe('cron expressions', () => {
  it('refuses an invalid expression, naming the field and the value', () => {
    expect(parseCron('61 * * * *')).toMatchObject({ ok: false, field: 'schedule' });
    expect(parseCron('0 0 30 2 *')).toMatchObject({ ok: false, field: 'schedule' });
    const bad = parseCron('every hour');
    expect(bad).toMatchObject({ ok: false, field: 'schedule' });
    expect(!bad.ok && bad.message).toContain('"every hour"');
  });

  it('refuses an unknown time zone', () => {
    const bad = parseCron('0 * * * *', 'Mars/Olympus');
    expect(bad).toMatchObject({ ok: false, field: 'timeZone' });
    expect(!bad.ok && bad.message).toContain('Mars/Olympus');
  });

  it('refuses H (random per parse: replicas would disagree on the slots) but not THU', () => {
    expect(parseCron('H * * * *')).toMatchObject({ ok: false, field: 'schedule' });
    expect(parseCron('0 H/2 * * *')).toMatchObject({ ok: false, field: 'schedule' });
    expect(parseCron('0 3 * * THU').ok).toBe(true);
    expect(parseCron('@hourly').ok).toBe(true);
  });

  it('takes seconds only with the test flag', () => {
    expect(parseCron('*/5 * * * * *')).toMatchObject({ ok: false, field: 'schedule' });
    expect(parseCron('@secondly')).toMatchObject({ ok: false, field: 'schedule' });
    const s = cron('*/5 * * * * *', 'UTC', true);
    expect(slots(s, '2026-01-01T00:00:01Z', 2)).toEqual([
      '2026-01-01T00:00:05.000Z',
      '2026-01-01T00:00:10.000Z',
    ]);
  });

  it('slotAtOrBefore includes the instant itself; slotAfter is strictly after', () => {
    const s = cron('0 * * * *');
    expect(s.slotAtOrBefore(at('2026-01-01T05:00:00Z'))?.toISOString()).toBe('2026-01-01T05:00:00.000Z');
    expect(s.slotAtOrBefore(at('2026-01-01T05:59:59Z'))?.toISOString()).toBe('2026-01-01T05:00:00.000Z');
    expect(s.slotAfter(at('2026-01-01T05:00:00Z'))?.toISOString()).toBe('2026-01-01T06:00:00.000Z');
  });

  it('daylight saving, spring forward: a 02:30 daily run in Berlin still runs once that day', () => {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist that day.
    const s = cron('30 2 * * *', 'Europe/Berlin');
    expect(slots(s, '2026-03-28T00:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST: the skipped time, shifted, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('daylight saving, fall back: a 02:30 daily run in Berlin runs once, not twice', () => {
    // 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:30 happens twice.
    const s = cron('30 2 * * *', 'Europe/Berlin');
    expect(slots(s, '2026-10-24T00:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('daylight saving, fall back: an hourly schedule keeps one slot per real hour', () => {
    const s = cron('0 * * * *', 'Europe/Berlin');
    expect(slots(s, '2026-10-24T23:00:00Z', 4)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
  });
});

describe('planRun', () => {
  const hourly = cron('0 * * * *');
  const base = (over: Partial<RunInputs>): RunInputs => ({
    schedule: hourly,
    now: at('2026-01-01T10:00:05Z'),
    since: at('2026-01-01T00:00:00Z'),
    lastDecidedSlot: at('2026-01-01T09:00:00Z'),
    previousRunFinished: true,
    ...over,
  });

  it('runs the slot that is due and requeues for the next one', () => {
    const plan = planRun(base({}));
    expect(plan.action).toEqual({ kind: 'run', slot: at('2026-01-01T10:00:00Z') });
    expect(plan.missedBefore).toBe(0);
    expect(plan.next).toEqual(at('2026-01-01T11:00:00Z'));
    expect(plan.requeueAfterMs).toBe(3_595_000);
  });

  it('is idle once the slot is decided, and the same on every look (level-based)', () => {
    const plan = planRun(base({ lastDecidedSlot: at('2026-01-01T10:00:00Z') }));
    expect(plan.action).toEqual({ kind: 'idle' });
    expect(planRun(base({ lastDecidedSlot: at('2026-01-01T10:00:00Z') }))).toEqual(plan);
  });

  it('owes nothing for slots before the schedule existed', () => {
    const plan = planRun(base({ since: at('2026-01-01T10:00:01Z'), lastDecidedSlot: undefined }));
    expect(plan.action).toEqual({ kind: 'idle' });
  });

  it('after an outage makes up exactly one run (the latest slot) and counts the others as missed', () => {
    const plan = planRun(base({ now: at('2026-01-01T15:20:00Z') }));
    expect(plan.action).toEqual({ kind: 'run', slot: at('2026-01-01T15:00:00Z') });
    expect(plan.missedBefore).toBe(5); // 10:00 … 14:00
    // The run decided, the next look makes none of the missed ones up.
    expect(
      planRun(base({ now: at('2026-01-01T15:20:01Z'), lastDecidedSlot: at('2026-01-01T15:00:00Z') })).action,
    ).toEqual({
      kind: 'idle',
    });
  });

  it('counts missed slots only up to a bound after a very long outage', () => {
    const plan = planRun(base({ now: at('2026-03-01T00:30:00Z') }));
    expect(plan.action.kind).toBe('run');
    expect(plan.missedBefore).toBe(100);
  });

  it('a slot older than startingDeadlineSeconds is too late: missed, not run', () => {
    const plan = planRun(base({ now: at('2026-01-01T10:05:00Z'), startingDeadlineSeconds: 120 }));
    expect(plan.action).toEqual({ kind: 'late', slot: at('2026-01-01T10:00:00Z') });
    const inTime = planRun(base({ now: at('2026-01-01T10:01:59Z'), startingDeadlineSeconds: 120 }));
    expect(inTime.action).toEqual({ kind: 'run', slot: at('2026-01-01T10:00:00Z') });
  });

  it('Forbid: a due slot is skipped while the previous run is not finished', () => {
    expect(planRun(base({ previousRunFinished: false })).action).toEqual({
      kind: 'skip',
      slot: at('2026-01-01T10:00:00Z'),
    });
  });

  it('suspended: the slot passes without a run and without a miss', () => {
    const plan = planRun(base({ suspend: true, now: at('2026-01-01T12:00:05Z') }));
    expect(plan.action).toEqual({ kind: 'suspended', slot: at('2026-01-01T12:00:00Z') });
    expect(plan.missedBefore).toBe(0);
  });

  it('a far next slot is approached in bounded steps', () => {
    const yearly = cron('0 0 1 1 *');
    const plan = planRun(base({ schedule: yearly, lastDecidedSlot: undefined }));
    expect(plan.requeueAfterMs).toBe(MAX_WAIT_MS);
  });

  it('across the fall-back hour in Berlin an outage makes up one run', () => {
    const berlin = cron('0 * * * *', 'Europe/Berlin');
    const plan = planRun(
      base({
        schedule: berlin,
        lastDecidedSlot: at('2026-10-24T23:00:00Z'),
        now: at('2026-10-25T02:30:00Z'),
      }),
    );
    expect(plan.action).toEqual({ kind: 'run', slot: at('2026-10-25T02:00:00Z') });
    expect(plan.missedBefore).toBe(2);
  });
});
