// The share policy on plain data: no clock, no Leases, no timers.
import { describe, expect, it } from 'vitest';
import { preference } from '../../../src/leader/buckets.ts';
import { type BucketStanding, planShare, type ShareInput } from '../../../src/leader/share-policy.ts';

const B = 8;

/** Buckets 0..n-1, each free and unheld unless `overrides` says otherwise. */
function buckets(n: number, overrides: Record<number, Partial<BucketStanding>> = {}): BucketStanding[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    held: false,
    owned: false,
    free: true,
    coolingDown: false,
    holder: '',
    ...overrides[index],
  }));
}

const ownedBy = (identity: string) => ({ held: true, owned: true, free: true, holder: identity });
const heldElsewhere = (identity: string) => ({ held: false, owned: false, free: false, holder: identity });

function input(live: Record<string, number>, standings: BucketStanding[], identity = 'a'): ShareInput {
  return { identity, bucketCount: B, live: new Map(Object.entries(live)), buckets: standings };
}

/** Bucket indexes in `identity`'s rendezvous order, most preferred first. */
function byPreference(identity: string, indexes: number[]): number[] {
  return [...indexes].sort((x, y) => preference(identity, y) - preference(identity, x));
}

describe('planShare', () => {
  it('alone, campaigns for every free bucket in its own preference order', () => {
    const plan = planShare(input({ a: B }, buckets(B)));
    expect(plan.limit).toBe(B);
    expect(plan.otherBucketCount).toBeUndefined();
    expect(plan.decision).toEqual({
      action: 'campaign',
      candidates: byPreference('a', [0, 1, 2, 3, 4, 5, 6, 7]),
      wanted: B,
    });
  });

  it('holds at most ceil(B / R): with three replicas, 3 of 8', () => {
    const standings = buckets(B, { 0: ownedBy('a'), 1: heldElsewhere('b') });
    const plan = planShare(input({ a: B, b: B, c: B }, standings));
    expect(plan.limit).toBe(3);
    expect(plan.decision).toMatchObject({ action: 'campaign', wanted: 2 });
  });

  it('does not campaign for buckets held elsewhere, held by itself, or cooling down after its handover', () => {
    const standings = buckets(4, {
      0: heldElsewhere('b'),
      1: ownedBy('a'),
      2: { coolingDown: true },
      // Still held by us while being handed over: neither owned nor a candidate.
      3: { held: true, owned: false, holder: 'a' },
    });
    const plan = planShare({ ...input({ a: 4 }, standings), bucketCount: 4 });
    expect(plan.decision).toEqual({ action: 'campaign', candidates: [], wanted: 3 });
  });

  it('releases the surplus above ceil(B / R), least preferred first, and nothing else', () => {
    const all = Object.fromEntries(Array.from({ length: B }, (_, i) => [i, ownedBy('a')]));
    const plan = planShare(input({ a: B, b: B }, buckets(B, all)));
    expect(plan.limit).toBe(4);
    const order = byPreference('a', [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(plan.decision).toEqual({
      action: 'release',
      buckets: order.slice(4),
      reason: 'rebalancing to 4 buckets for 2 replicas',
    });
  });

  it('at its share, keeps what it has', () => {
    const standings = buckets(B, {
      0: ownedBy('a'),
      1: ownedBy('a'),
      2: ownedBy('a'),
      3: ownedBy('a'),
      4: heldElsewhere('b'),
      5: heldElsewhere('b'),
      6: heldElsewhere('b'),
      7: heldElsewhere('b'),
    });
    expect(planShare(input({ a: B, b: B }, standings)).decision).toEqual({ action: 'keep' });
  });

  describe('yielding to a replica below floor(B / R) (B = 8, R = 5 could end 2,2,2,2,0)', () => {
    // a and b hold 2 each, c and d 2 each, e none: nothing free.
    const split = buckets(B, {
      0: ownedBy('a'),
      1: ownedBy('a'),
      2: heldElsewhere('b'),
      3: heldElsewhere('b'),
      4: heldElsewhere('c'),
      5: heldElsewhere('c'),
      6: heldElsewhere('d'),
      7: heldElsewhere('d'),
    });
    const five = { a: B, b: B, c: B, d: B, e: B };

    it('the richest replica with the lowest identity gives up its least preferred bucket', () => {
      const plan = planShare(input(five, split));
      expect(plan.limit).toBe(2);
      expect(plan.decision).toEqual({
        action: 'release',
        buckets: [byPreference('a', [0, 1])[1]],
        reason: 'a replica holds fewer than its share',
      });
    });

    it('a richest replica with a higher identity keeps its buckets', () => {
      const asB = split.map((s) =>
        s.holder === 'a' ? { ...s, ...heldElsewhere('a') } : s.holder === 'b' ? { ...s, ...ownedBy('b') } : s,
      );
      expect(planShare(input(five, asB, 'b')).decision).toEqual({ action: 'keep' });
    });

    it('nobody yields while a bucket is free: the short replica can take that one', () => {
      const withFree = split.map((s) => (s.index === 7 ? { ...s, free: true, holder: '' } : s));
      expect(planShare(input(five, withFree)).decision).toEqual({ action: 'keep' });
    });

    it('nobody yields when every live replica has at least floor(B / R)', () => {
      expect(planShare(input({ a: B, b: B, c: B, d: B }, split)).decision).toEqual({ action: 'keep' });
    });
  });

  it('holds nothing while a live replica announces another bucket count', () => {
    const standings = buckets(B, { 0: ownedBy('a'), 1: ownedBy('a') });
    const plan = planShare(input({ a: B, b: 4 }, standings));
    expect(plan.limit).toBe(0);
    expect(plan.otherBucketCount).toBe(4);
    expect(plan.decision).toMatchObject({
      action: 'release',
      reason: 'rebalancing to 0 buckets for 2 replicas',
    });
    if (plan.decision.action === 'release') expect([...plan.decision.buckets].sort()).toEqual([0, 1]);
  });
});
