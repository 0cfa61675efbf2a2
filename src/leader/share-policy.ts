// The share policy: given what a replica observed at one instant, which buckets it should give
// up and which it should campaign for. Pure (no clock, no I/O), so every rule is unit-tested on
// plain data; the Lease loop turns the decision into writes.
//
//   limit    ceil(B / R) for R live replicas; 0 while a live replica announces another B.
//   release  above the limit: the surplus, least preferred first.
//   yield    ceil bounds the most a replica holds, not the least (B = 8, R = 5 could end
//            2,2,2,2,0): when no bucket is free and a live replica holds fewer than floor(B/R),
//            the replica holding the most (lowest identity on ties) gives one up for it.
//   campaign below the limit: free or expired buckets not cooling down after a handover, in this
//            replica's rendezvous order, so replicas campaigning at once mostly differ.
import { preference } from './buckets.ts';

/** One bucket as this replica sees it at the instant of the decision. */
export interface BucketStanding {
  index: number;
  /** This replica holds the Lease (also while handing it over). */
  held: boolean;
  /** Held and acted on: not being handed over, renew deadline not passed. */
  owned: boolean;
  /** No one else may hold it: no Lease yet, an empty holder, ours, or expired by our observation. */
  free: boolean;
  /** Handed over by us a short while ago: not taken back yet (avoids ping-pong). */
  coolingDown: boolean;
  /** The holder as last observed ('' for none). */
  holder: string;
}

export interface ShareInput {
  identity: string;
  bucketCount: number;
  /** identity → bucket count announced, for every live replica, this one included. */
  live: ReadonlyMap<string, number>;
  buckets: readonly BucketStanding[];
}

export type ShareDecision =
  | { action: 'release'; buckets: number[]; reason: string }
  | { action: 'campaign'; candidates: number[]; wanted: number }
  | { action: 'keep' };

export interface SharePlan {
  /** The most buckets this replica may hold. */
  limit: number;
  /** Set when a live replica announces another bucket count (then limit is 0). */
  otherBucketCount: number | undefined;
  decision: ShareDecision;
}

export function planShare(input: ShareInput): SharePlan {
  const { identity, bucketCount, live, buckets } = input;
  const otherBucketCount = [...live.values()].find((b) => b !== bucketCount);
  const limit = otherBucketCount !== undefined ? 0 : Math.ceil(bucketCount / live.size);
  const byPreference = (a: BucketStanding, b: BucketStanding) =>
    preference(identity, b.index) - preference(identity, a.index);
  const owned = buckets.filter((b) => b.owned).sort(byPreference);
  const plan = (decision: ShareDecision): SharePlan => ({ limit, otherBucketCount, decision });

  if (owned.length > limit) {
    const surplus = owned.slice(limit).map((b) => b.index);
    return plan({
      action: 'release',
      buckets: surplus,
      reason: `rebalancing to ${limit} buckets for ${live.size} replicas`,
    });
  }
  if (shouldYieldOne(input, owned.length)) {
    return plan({
      action: 'release',
      buckets: [owned.at(-1)!.index],
      reason: 'a replica holds fewer than its share',
    });
  }
  if (owned.length >= limit) return plan({ action: 'keep' });
  const candidates = buckets.filter((b) => !b.held && !b.coolingDown && b.free).sort(byPreference);
  return plan({
    action: 'campaign',
    candidates: candidates.map((b) => b.index),
    wanted: limit - owned.length,
  });
}

/** The yield rule above; `ownedCount` is how many buckets this replica acts on. */
function shouldYieldOne({ identity, bucketCount, live, buckets }: ShareInput, ownedCount: number): boolean {
  const fair = Math.floor(bucketCount / live.size);
  if (ownedCount <= fair) return false;
  const counts = new Map<string, number>([...live.keys()].map((id) => [id, 0]));
  counts.set(identity, ownedCount);
  for (const b of buckets) {
    if (b.held) continue;
    if (b.free) return false; // a free bucket: whoever is short can take it
    if (counts.has(b.holder)) counts.set(b.holder, counts.get(b.holder)! + 1);
  }
  if (![...counts.values()].some((c) => c < fair)) return false;
  const richest = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  return richest?.[0] === identity;
}
