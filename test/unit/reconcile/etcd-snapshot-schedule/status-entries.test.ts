// status.clusters is merged per cluster: each entry is written, and removed, only by the replica
// owning the cluster (its lane), never by the schedule key's replica from its own claim cache,
// which may not yet hold the claim that made a cluster a target. And what a write keeps is
// counted and announced only once it is written.
import { describe, expect, it } from 'vitest';
import { NS, ScheduleWorld } from './fakes.ts';

const GOLD = { target: { selector: { matchLabels: { tier: 'gold' } } } };

function fleet(): ScheduleWorld {
  const w = new ScheduleWorld();
  w.addSource('a-source', 'a', { tier: 'gold' });
  w.addSource('b-source', 'b', { tier: 'gold' });
  w.addSchedule('gold', GOLD, '2026-03-02T09:59:00Z');
  w.now = new Date('2026-03-02T10:00:05Z');
  return w;
}

describe("a cluster's status entry", () => {
  it('is not removed by the schedule key when its cache does not select the cluster', async () => {
    const w = fleet();
    await w.reconcileAll('gold', ['a', 'b']);
    const before = w.schedule('gold').status?.clusters?.b;
    expect(before?.lastScheduleTime).toBeUndefined(); // a run's creation alone is not written
    expect(before?.firstSeenTime).toBe('2026-03-02T09:59:00Z');
    // The schedule key's replica has not seen b's claim (or sees it unlabelled first).
    w.claims.remove('etcd/b-source');
    w.now = new Date('2026-03-02T10:00:10Z');
    await w.reconcileSchedule('gold');
    expect(w.schedule('gold').status?.clusters?.b).toEqual(before);
  });

  it("is removed by the cluster's owner once the cluster is no longer a target", async () => {
    const w = fleet();
    await w.reconcileAll('gold', ['a', 'b']);
    w.claims.remove('etcd/b-source');
    await w.reconcileLane('gold', 'b');
    expect(Object.keys(w.schedule('gold').status?.clusters ?? {})).toEqual(['a']);
    // Nothing left to remove: no further write.
    const writes = w.writes.length;
    await w.reconcileLane('gold', 'b');
    expect(w.writes.length).toBe(writes);
  });
});

describe('status writes', () => {
  it('metrics and Events follow the status write: a failed write retried counts a skip once', async () => {
    const w = new ScheduleWorld();
    w.addSource('main-source', 'main');
    w.addSchedule('hourly', {}, '2026-03-02T09:59:00Z');
    w.now = new Date('2026-03-02T10:00:05Z');
    await w.reconcileAll('hourly');
    w.now = new Date('2026-03-02T11:00:05Z'); // RUN_10 still in progress: the 11:00 slot is skipped
    w.failPatches = 1;
    await expect(w.reconcileLane('hourly')).rejects.toThrow(/injected/);
    expect(w.metrics.count('skipped', `${NS}/hourly`, 'main')).toBe(0);
    expect(w.events.filter((e) => e.reason === 'SkippedRun')).toEqual([]);
    await w.reconcileLane('hourly'); // the controller's retry decides the slot again
    expect(w.schedule('hourly').status?.clusters?.main?.skippedRuns).toBe(1);
    expect(w.metrics.count('skipped', `${NS}/hourly`, 'main')).toBe(1);
    expect(w.events.filter((e) => e.reason === 'SkippedRun')).toHaveLength(1);
  });
});
