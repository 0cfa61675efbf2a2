// A cluster that becomes a target after the schedule began — its claim labelled later, or the
// schedule applied before any claim existed — owes slots from when the schedule first had it
// (status.clusters[c].firstSeenTime), not from the schedule's creation.
import { describe, expect, it } from 'vitest';
import { runObjectName } from '../../../../src/reconcile/etcd-snapshot-schedule/run-names.ts';
import { NS, ScheduleWorld } from './fakes.ts';

const GOLD = { target: { selector: { matchLabels: { tier: 'gold' } } }, startingDeadlineSeconds: 600 };
const run = (cluster: string, hh: string) =>
  runObjectName('gold', cluster, new Date(`2026-03-02T${hh}:00:00Z`));

describe('a cluster joining a schedule late', () => {
  it('labelled later: not missed for the slots before it joined, its first run at the next slot', async () => {
    const w = new ScheduleWorld();
    w.addSource('a-source', 'a', { tier: 'gold' });
    w.addSchedule('gold', GOLD, '2026-03-02T09:59:00Z');
    w.now = new Date('2026-03-02T10:00:05Z');
    await w.reconcileAll('gold', ['a']);
    expect(w.runNames()).toEqual([run('a', '10')]);

    w.now = new Date('2026-03-02T10:20:00Z'); // the 10:00 slot is past startingDeadlineSeconds
    w.addSource('b-source', 'b', { tier: 'gold' });
    await w.reconcileAll('gold', ['a', 'b']);
    const b = () => w.schedule('gold').status?.clusters?.b;
    expect(b()).toEqual({ firstSeenTime: '2026-03-02T10:20:00.000Z' });
    expect(w.events.map((e) => e.reason)).not.toContain('MissedRun');
    // The freshness metric counts from when it joined, not from the schedule's creation.
    expect(w.metrics.gauges.get(`lastSuccess ${NS}/gold|b`)).toBe(Date.parse('2026-03-02T10:20:00Z') / 1000);

    w.now = new Date('2026-03-02T11:00:05Z');
    await w.reconcileAll('gold', ['a', 'b']);
    expect(w.runNames()).toContain(run('b', '11'));
    expect(b()?.missedRuns).toBeUndefined();
  });

  it('applied before its claim existed: judged from when the claim made it a target', async () => {
    const w = new ScheduleWorld();
    w.addSchedule('gold', GOLD, '2026-03-02T09:59:00Z');
    w.now = new Date('2026-03-02T09:59:30Z');
    await w.reconcileSchedule('gold'); // SCHEDULE_NO_TARGETS
    w.now = new Date('2026-03-02T10:20:00Z');
    w.addSource('a-source', 'a', { tier: 'gold' });
    await w.reconcileAll('gold', ['a']);
    expect(w.schedule('gold').status?.clusters?.a).toEqual({ firstSeenTime: '2026-03-02T10:20:00.000Z' });
    expect(w.runNames()).toEqual([]);
    expect(w.events.map((e) => e.reason)).not.toContain('MissedRun');
  });

  it('a lane whose cluster has no entry yet waits for the schedule key, as a requeue', async () => {
    const w = new ScheduleWorld();
    w.addSource('a-source', 'a', { tier: 'gold' });
    w.addSchedule('gold', GOLD, '2026-03-02T09:59:00Z');
    w.now = new Date('2026-03-02T10:00:05Z');
    await w.reconcileAll('gold', ['a']);
    w.addSource('b-source', 'b', { tier: 'gold' });
    const result = await w.reconcileLane('gold', 'b'); // before the schedule key saw b
    expect(result.requeueAfter).toBeGreaterThan(0);
    expect(w.runNames()).toEqual([run('a', '10')]);
    expect(w.schedule('gold').status?.clusters?.b).toBeUndefined();
  });
});
