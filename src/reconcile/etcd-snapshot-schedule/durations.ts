// Durations of a schedule's retention (`maxAge`, bucket `within` and `every`): Go-style units
// plus days and weeks, which retention is written in ("7d", "4w", "1h30m"). Only whole units, no
// fractions or signs: a duration here is an age, never negative.
const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d{1,6}[smhdw])+$/;
const PART = /(\d{1,6})([smhdw])/g;

/** The duration in milliseconds, or undefined when the text is not one (e.g. "1.5h", "-1h", ""). */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, count, unit] of text.matchAll(PART)) ms += Number(count) * (UNIT_MS[unit ?? ''] ?? 0);
  return ms;
}

/** The pattern the CRD schema checks (deploy/crds/etcdsnapshotschedules.yaml has the same). */
export const DURATION_PATTERN = DURATION.source;
