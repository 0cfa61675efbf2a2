// A schedule's cron expression in its time zone (cron-parser does the calendar, daylight-saving
// included): the slots — the instants a run is due — before and after a moment. A slot is what
// a run is named after (run-names.ts), so every replica must compute the same ones: `H` (a random
// value per parse) is refused, and 6-field expressions (seconds) only with the test flag.
import { CronExpressionParser } from 'cron-parser';

export interface CronSchedule {
  readonly expression: string;
  readonly timeZone: string;
  /** The latest slot at or before `t`, or undefined when there is none (within the parser's range). */
  slotAtOrBefore(t: Date): Date | undefined;
  /** The first slot strictly after `t`, or undefined when there is none. */
  slotAfter(t: Date): Date | undefined;
}

export type CronParse =
  | { readonly ok: true; readonly schedule: CronSchedule }
  | { readonly ok: false; readonly field: 'schedule' | 'timeZone'; readonly message: string };

export interface CronOptions {
  /** Accept six fields (the first is seconds): for tests only (--schedule-seconds-for-tests). */
  allowSeconds?: boolean;
}

const MAX_EXPRESSION = 128;

/** Whether `zone` is an IANA time zone this runtime knows ("UTC", "Europe/Berlin"). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/** cron-parser's `H` (a random value per parse) would give each replica other slots. */
function hasRandomField(expression: string): boolean {
  return expression
    .trim()
    .split(/\s+/)
    .some((field) => /(^|,)H/i.test(field));
}

function fieldCount(expression: string): number {
  return expression.trim().split(/\s+/).length;
}

export function parseCron(expression: string, timeZone = 'UTC', options: CronOptions = {}): CronParse {
  const quoted = JSON.stringify(expression.slice(0, MAX_EXPRESSION));
  if (!isTimeZone(timeZone)) {
    return {
      ok: false,
      field: 'timeZone',
      message: `${JSON.stringify(timeZone.slice(0, 64))} is not a known time zone`,
    };
  }
  if (expression.length > MAX_EXPRESSION || hasRandomField(expression)) {
    return {
      ok: false,
      field: 'schedule',
      message: `${quoted} is not a cron expression of this driver (no H, at most ${MAX_EXPRESSION} characters)`,
    };
  }
  const fields = fieldCount(expression);
  const isMacro = expression.trim().startsWith('@');
  if (!isMacro && fields !== 5 && !(options.allowSeconds && fields === 6)) {
    return {
      ok: false,
      field: 'schedule',
      message: `${quoted} must have 5 fields (minute hour day-of-month month day-of-week), has ${fields}`,
    };
  }
  if (isMacro && /^@(secondly|minutely)$/.test(expression.trim()) && !options.allowSeconds) {
    return { ok: false, field: 'schedule', message: `${quoted} runs more often than once a minute` };
  }
  const parse = (currentDate: Date) => CronExpressionParser.parse(expression, { tz: timeZone, currentDate });
  try {
    parse(new Date()).next();
  } catch (err) {
    return {
      ok: false,
      field: 'schedule',
      message: `${quoted} is not a valid cron expression: ${(err as Error).message.slice(0, 120)}`,
    };
  }
  const attempt = (fn: () => Date): Date | undefined => {
    try {
      return fn();
    } catch {
      return undefined; // out of the parser's range: no such slot
    }
  };
  return {
    ok: true,
    schedule: {
      expression,
      timeZone,
      // prev() is strictly before its start: start one millisecond after `t` to include it.
      slotAtOrBefore: (t) =>
        attempt(() =>
          parse(new Date(t.getTime() + 1))
            .prev()
            .toDate(),
        ),
      slotAfter: (t) => attempt(() => parse(t).next().toDate()),
    },
  };
}
