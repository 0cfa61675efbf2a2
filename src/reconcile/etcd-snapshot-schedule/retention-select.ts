// Which of a schedule's own runs (of one cluster, or its groups) retention deletes now. Pure:
// the reconciler lists the runs by the schedule's labels — a hand-made snapshot is never a
// candidate — and deletes the chosen objects, so the upstream path removes contents, records
// and files together.
//
//   - Ready runs: kept when keepLast or a bucket keeps them (all, when neither is written), and
//     younger than maxAge; the newest Ready run is always kept, whatever its age, so an outage
//     longer than maxAge never leaves a cluster without a backup.
//   - Failed runs: the newest failedLimit kept; they never take a Ready run's place.
//   - Runs still in progress: never touched.
// Deletions go oldest first in batches of at most `batchSize`; the rest waits for the next pass.
import type { RetentionBucket, RetentionPolicy } from './retention-policy.ts';

export type RunState = 'ready' | 'failed' | 'pending';

export interface RetentionCandidate {
  name: string;
  /** The run's slot (its scheduled time): what its age is measured from. */
  slot: Date;
  state: RunState;
}

export interface RetentionSelection {
  /** At most batchSize names, oldest first. */
  delete: string[];
  /** Deletable runs left for a later pass. */
  deferred: number;
  /** Ready runs kept (newest first). */
  keptReady: string[];
  /** Failed runs kept (newest first). */
  keptFailed: string[];
}

const newestFirst = (a: RetentionCandidate, b: RetentionCandidate) =>
  b.slot.getTime() - a.slot.getTime() || a.name.localeCompare(b.name);

function bucketKept(ready: RetentionCandidate[], buckets: RetentionBucket[], now: Date): Set<string> {
  const kept = new Set<string>();
  const periods = new Set<string>();
  for (const run of ready) {
    const age = Math.max(0, now.getTime() - run.slot.getTime());
    const index = buckets.findIndex((b) => age <= b.withinMs);
    const bucket = buckets[index];
    if (!bucket) continue;
    if (bucket.everyMs === undefined) {
      kept.add(run.name);
      continue;
    }
    // Newest first: the first run seen in a period is that period's newest.
    const period = `${index}:${Math.floor(run.slot.getTime() / bucket.everyMs)}`;
    if (periods.has(period)) continue;
    periods.add(period);
    kept.add(run.name);
  }
  return kept;
}

export function selectForDeletion(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date,
  batchSize: number,
): RetentionSelection {
  const ready = candidates.filter((c) => c.state === 'ready').sort(newestFirst);
  const failed = candidates.filter((c) => c.state === 'failed').sort(newestFirst);

  let kept: Set<string>;
  if (policy.keepLast === undefined && policy.buckets === undefined) {
    kept = new Set(ready.map((r) => r.name));
  } else {
    kept = policy.buckets ? bucketKept(ready, policy.buckets, now) : new Set();
    for (const run of ready.slice(0, policy.keepLast ?? 0)) kept.add(run.name);
  }
  if (policy.maxAgeMs !== undefined) {
    const oldest = now.getTime() - policy.maxAgeMs;
    for (const run of ready) if (run.slot.getTime() < oldest) kept.delete(run.name);
  }
  if (ready[0]) kept.add(ready[0].name);

  const keptFailed = failed.slice(0, policy.failedLimit);
  const doomed = [...ready.filter((r) => !kept.has(r.name)), ...failed.slice(policy.failedLimit)]
    .sort(newestFirst)
    .reverse();
  const batch = doomed.slice(0, Math.max(0, batchSize));
  return {
    delete: batch.map((r) => r.name),
    deferred: doomed.length - batch.length,
    keptReady: ready.filter((r) => kept.has(r.name)).map((r) => r.name),
    keptFailed: keptFailed.map((r) => r.name),
  };
}
