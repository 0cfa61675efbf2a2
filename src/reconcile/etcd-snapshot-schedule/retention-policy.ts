// A schedule's retention as written (spec.retention) and as applied: keepLast, maxAge and
// exponential buckets (etcd-backup-restore's "Exponential" garbage collection, configurable).
// No retention written means the default buckets. A policy that would keep nothing is refused
// here — before anything is deleted — with the field and the value.
import { parseDuration } from './durations.ts';

export interface RetentionBucketSpec {
  /** The bucket covers snapshots younger than this (and older than the previous bucket's). */
  within: string;
  /** Keep the newest snapshot of each period this long (UTC-aligned); absent: keep all. */
  every?: string;
}

export interface RetentionSpec {
  keepLast?: number;
  maxAge?: string;
  exponential?: { buckets?: RetentionBucketSpec[] };
  /** Failed runs kept for inspection (newest first); they never count toward the others. */
  failedLimit?: number;
}

export interface RetentionBucket {
  withinMs: number;
  everyMs?: number;
}

export interface RetentionPolicy {
  keepLast?: number;
  maxAgeMs?: number;
  buckets?: RetentionBucket[];
  failedLimit: number;
}

/** All within 1 h, hourly for 24 h, daily for 7 d, weekly for 4 weeks. */
export const DEFAULT_BUCKETS: readonly RetentionBucketSpec[] = Object.freeze([
  { within: '1h' },
  { within: '24h', every: '1h' },
  { within: '7d', every: '1d' },
  { within: '4w', every: '1w' },
]);
export const DEFAULT_FAILED_LIMIT = 1;

export type PolicyResult =
  | { ok: true; policy: RetentionPolicy }
  | { ok: false; field: string; message: string };

const bad = (field: string, message: string): PolicyResult => ({ ok: false, field, message });
const quote = (v: unknown) => JSON.stringify(v)?.slice(0, 64) ?? String(v);

function resolveBuckets(specs: readonly RetentionBucketSpec[]): RetentionBucket[] | PolicyResult {
  if (specs.length === 0) return bad('spec.retention.exponential.buckets', '[] keeps nothing');
  const buckets: RetentionBucket[] = [];
  for (const [i, spec] of specs.entries()) {
    const field = `spec.retention.exponential.buckets[${i}]`;
    const withinMs = parseDuration(spec.within);
    if (!withinMs)
      return bad(`${field}.within`, `${quote(spec.within)} is not a positive duration (e.g. 24h, 7d)`);
    const previous = buckets.at(-1);
    if (previous && withinMs <= previous.withinMs)
      return bad(`${field}.within`, `${quote(spec.within)} must be longer than the previous bucket's`);
    if (spec.every === undefined) {
      buckets.push({ withinMs });
      continue;
    }
    const everyMs = parseDuration(spec.every);
    if (!everyMs)
      return bad(`${field}.every`, `${quote(spec.every)} is not a positive duration (e.g. 1h, 1d)`);
    buckets.push({ withinMs, everyMs });
  }
  return buckets;
}

export function resolveRetention(spec: RetentionSpec | undefined): PolicyResult {
  const failedLimit = spec?.failedLimit ?? DEFAULT_FAILED_LIMIT;
  if (!Number.isInteger(failedLimit) || failedLimit < 0)
    return bad('spec.retention.failedLimit', `${quote(spec?.failedLimit)} is not a count ≥ 0`);
  const policy: RetentionPolicy = { failedLimit };
  if (spec?.keepLast !== undefined) {
    if (!Number.isInteger(spec.keepLast) || spec.keepLast < 1)
      return bad('spec.retention.keepLast', `${quote(spec.keepLast)} keeps nothing (at least 1)`);
    policy.keepLast = spec.keepLast;
  }
  if (spec?.maxAge !== undefined) {
    const maxAgeMs = parseDuration(spec.maxAge);
    if (!maxAgeMs)
      return bad('spec.retention.maxAge', `${quote(spec.maxAge)} is not a positive duration (e.g. 7d)`);
    policy.maxAgeMs = maxAgeMs;
  }
  const written =
    spec?.keepLast !== undefined || spec?.maxAge !== undefined || spec?.exponential !== undefined;
  if (!written || spec?.exponential) {
    const buckets = resolveBuckets(spec?.exponential?.buckets ?? DEFAULT_BUCKETS);
    if (!Array.isArray(buckets)) return buckets;
    policy.buckets = buckets;
  }
  return { ok: true, policy };
}
