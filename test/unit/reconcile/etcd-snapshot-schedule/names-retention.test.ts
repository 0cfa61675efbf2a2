import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../../src/reconcile/etcd-snapshot-schedule/durations.ts';
import {
  type RetentionSpec,
  resolveRetention,
} from '../../../../src/reconcile/etcd-snapshot-schedule/retention-policy.ts';
import {
  type RetentionCandidate,
  selectForDeletion,
} from '../../../../src/reconcile/etcd-snapshot-schedule/retention-select.ts';
import { nameLabel, runObjectName } from '../../../../src/reconcile/etcd-snapshot-schedule/run-names.ts';
import {
  groupSnapshotRun,
  volumeSnapshotRun,
} from '../../../../src/reconcile/etcd-snapshot-schedule/run-objects.ts';
import {
  clusterLaneKey,
  runWorkKeys,
  scheduleKey,
} from '../../../../src/reconcile/etcd-snapshot-schedule/work-keys.ts';
import type { EtcdSnapshotSchedule } from '../../../../src/records/etcd-snapshot-schedule.ts';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('run object names', () => {
  const slot = at('2026-03-02T14:00:00Z');

  it('are derived from schedule, cluster and slot: the same on every replica', () => {
    // A cluster's run carries a hash of schedule and cluster apart (see the collision case below).
    expect(runObjectName('hourly', 'main', slot)).toMatch(/^hourly-main-[0-9a-f]{10}-20260302t140000z$/);
    expect(runObjectName('hourly', undefined, slot)).toBe('hourly-20260302t140000z');
    expect(runObjectName('hourly', 'main', slot)).toBe(runObjectName('hourly', 'main', new Date(slot)));
  });

  it('differ per slot, per cluster and per schedule', () => {
    const names = new Set([
      runObjectName('hourly', 'main', slot),
      runObjectName('hourly', 'main', at('2026-03-02T14:00:01Z')),
      runObjectName('hourly', 'other', slot),
      runObjectName('daily', 'main', slot),
      runObjectName('a.b', 'c', slot),
      runObjectName('a-b', 'c', slot),
    ]);
    expect(names.size).toBe(6);
  });

  it('never collide where the dash between schedule and cluster could fall elsewhere', () => {
    // Schedule `backup` over cluster `etcd-main`, and `backup-etcd` over `main`, in one namespace.
    const a = runObjectName('backup', 'etcd-main', slot);
    const b = runObjectName('backup-etcd', 'main', slot);
    expect(a).not.toBe(b);
    for (const n of [a, b]) expect(n).toMatch(DNS_LABEL);
    expect(a.startsWith('backup-etcd-main-')).toBe(true);
  });

  it('long parts are cut to a DNS-1123 label of at most 63 and stay distinct by hash', () => {
    const a = runObjectName('s'.repeat(60), 'cluster-a', slot);
    const b = runObjectName('s'.repeat(60), 'cluster-b', slot);
    for (const n of [a, b, runObjectName('x.y.z', 'c', slot)]) {
      expect(n.length).toBeLessThanOrEqual(63);
      expect(n).toMatch(DNS_LABEL);
      expect(n.endsWith('-20260302t140000z')).toBe(true);
    }
    expect(a).not.toBe(b);
    expect(nameLabel('x'.repeat(80)).length).toBeLessThanOrEqual(63);
  });
});

describe("a run's work key", () => {
  const slot = at('2026-03-02T14:00:00Z');
  const schedule = (name: string): EtcdSnapshotSchedule => ({
    metadata: { name, namespace: 'etcd' },
    spec: { schedule: '0 * * * *', target: { cluster: 'x' }, snapshot: { className: 'c' } },
  });

  it('names the lane in full even when the labels had to be cut and hashed (long names)', () => {
    const name = `nightly-${'s'.repeat(70)}`;
    const cluster = `cluster-${'c'.repeat(70)}`;
    const run = volumeSnapshotRun(schedule(name), cluster, 'claim', runObjectName(name, cluster, slot), slot);
    expect(runWorkKeys(run)).toEqual([clusterLaneKey('etcd', name, cluster)]);
    const group = groupSnapshotRun(schedule(name), runObjectName(name, undefined, slot), slot);
    expect(runWorkKeys(group)).toEqual([scheduleKey('etcd', name)]);
  });

  it('objects without the schedule label wake nothing', () => {
    expect(runWorkKeys({ metadata: { name: 'hand-made', namespace: 'etcd' } })).toEqual([]);
  });
});

describe('durations', () => {
  it('parses whole units including days and weeks, refuses the rest', () => {
    expect(parseDuration('1h30m')).toBe(1.5 * HOUR);
    expect(parseDuration('7d')).toBe(168 * HOUR);
    expect(parseDuration('4w')).toBe(672 * HOUR);
    for (const bad of ['', '1.5h', '-1h', 'h', '10', '1y']) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe('retention policy', () => {
  it('none written: the default exponential buckets', () => {
    const r = resolveRetention(undefined);
    expect(r.ok && r.policy.buckets?.map((b) => [b.withinMs / HOUR, (b.everyMs ?? 0) / HOUR])).toEqual([
      [1, 0],
      [24, 1],
      [168, 24],
      [672, 168],
    ]);
  });

  it('a policy that keeps nothing is refused with the field and the value', () => {
    const cases: [RetentionSpec, string][] = [
      [{ keepLast: 0 }, 'spec.retention.keepLast'],
      [{ maxAge: '0s' }, 'spec.retention.maxAge'],
      [{ maxAge: 'soon' }, 'spec.retention.maxAge'],
      [{ exponential: { buckets: [] } }, 'spec.retention.exponential.buckets'],
      [
        { exponential: { buckets: [{ within: '1d' }, { within: '1h', every: '1h' }] } },
        'spec.retention.exponential.buckets[1].within',
      ],
      [
        { exponential: { buckets: [{ within: '1d', every: '0h' }] } },
        'spec.retention.exponential.buckets[0].every',
      ],
      [{ failedLimit: -1 }, 'spec.retention.failedLimit'],
    ];
    for (const [spec, field] of cases) expect(resolveRetention(spec)).toMatchObject({ ok: false, field });
  });
});

function policy(spec: RetentionSpec | undefined) {
  const r = resolveRetention(spec);
  if (!r.ok) throw new Error(r.message);
  return r.policy;
}

/** Hourly ready runs, newest `now - 0h`, for `hours` hours, named by their age in hours. */
function hourlyRuns(now: Date, hours: number): RetentionCandidate[] {
  return Array.from({ length: hours }, (_, h) => ({
    name: `h${h}`,
    slot: new Date(now.getTime() - h * HOUR),
    state: 'ready' as const,
  }));
}

describe('retention selection', () => {
  const now = at('2026-03-02T12:00:00Z');

  it('keepLast keeps the newest N ready runs and deletes the rest, oldest first', () => {
    const sel = selectForDeletion(hourlyRuns(now, 5), policy({ keepLast: 2 }), now, 10);
    expect(sel.keptReady).toEqual(['h0', 'h1']);
    expect(sel.delete).toEqual(['h4', 'h3', 'h2']);
  });

  it('maxAge deletes older runs but never the newest ready one', () => {
    expect(selectForDeletion(hourlyRuns(now, 5), policy({ maxAge: '2h' }), now, 10).delete).toEqual([
      'h4',
      'h3',
    ]);
    const stale = hourlyRuns(new Date(now.getTime() - 100 * HOUR), 3);
    const sel = selectForDeletion(stale, policy({ maxAge: '2h' }), now, 10);
    expect(sel.keptReady).toEqual(['h0']);
    expect(sel.delete).toEqual(['h2', 'h1']);
  });

  it('default buckets over 40 days of hourly runs: all of the last hour, 24 hourly, 7 daily, 4 weekly', () => {
    const runs = hourlyRuns(now, 40 * 24);
    const sel = selectForDeletion(runs, policy(undefined), now, 10_000);
    const kept = new Set(sel.keptReady);
    // Within 1 h: h0 and h1 (exactly 1 h old).
    expect(kept.has('h0') && kept.has('h1')).toBe(true);
    // 1 h – 24 h: one per UTC hour → each hourly run is its hour's only one.
    for (let h = 2; h <= 24; h++) expect(kept.has(`h${h}`)).toBe(true);
    // 24 h – 7 d: the newest of each UTC day in the bucket; now is 12:00, so h25 (Mar 1 11:00)
    // is Mar 1's newest past 24 h and h37 (Feb 28 23:00) is Feb 28's.
    expect(kept.has('h25')).toBe(true);
    expect(kept.has('h26')).toBe(false);
    expect(kept.has('h37')).toBe(true);
    expect(kept.has('h38')).toBe(false);
    // Nothing past 4 weeks.
    expect([...kept].some((n) => Number(n.slice(1)) > 28 * 24)).toBe(false);
    expect(kept.size).toBeLessThan(60);
    expect(sel.delete.length + kept.size).toBe(runs.length);
    expect(sel.delete[0]).toBe(`h${40 * 24 - 1}`);
  });

  it('is stable: applying it again to what it kept deletes nothing', () => {
    const runs = hourlyRuns(now, 40 * 24);
    const p = policy(undefined);
    const first = selectForDeletion(runs, p, now, 10_000);
    const left = runs.filter((r) => first.keptReady.includes(r.name));
    expect(selectForDeletion(left, p, now, 10_000).delete).toEqual([]);
  });

  it('failed runs are counted separately and never push a good one out', () => {
    const runs: RetentionCandidate[] = [
      ...hourlyRuns(now, 3),
      { name: 'f0', slot: now, state: 'failed' },
      { name: 'f1', slot: new Date(now.getTime() - HOUR), state: 'failed' },
      { name: 'f2', slot: new Date(now.getTime() - 2 * HOUR), state: 'failed' },
    ];
    const sel = selectForDeletion(runs, policy({ keepLast: 3, failedLimit: 1 }), now, 10);
    expect(sel.keptReady).toEqual(['h0', 'h1', 'h2']);
    expect(sel.keptFailed).toEqual(['f0']);
    expect(sel.delete).toEqual(['f2', 'f1']);
  });

  it('runs in progress are never deleted', () => {
    const runs: RetentionCandidate[] = [
      { name: 'p', slot: new Date(now.getTime() - 100 * HOUR), state: 'pending' },
      ...hourlyRuns(now, 2),
    ];
    expect(selectForDeletion(runs, policy({ keepLast: 1 }), now, 10).delete).toEqual(['h1']);
  });

  it('deletes in bounded batches, oldest first, and says how many wait', () => {
    const sel = selectForDeletion(hourlyRuns(now, 30), policy({ keepLast: 5 }), now, 10);
    expect(sel.delete).toHaveLength(10);
    expect(sel.delete[0]).toBe('h29');
    expect(sel.deferred).toBe(15);
  });
});
