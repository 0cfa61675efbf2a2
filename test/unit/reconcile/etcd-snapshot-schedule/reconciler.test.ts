import { describe, expect, it } from 'vitest';
import {
  LABEL_SCHEDULE,
  LABEL_SCHEDULE_CLUSTER,
  runObjectName,
} from '../../../../src/reconcile/etcd-snapshot-schedule/run-names.ts';
import type { RunObject } from '../../../../src/reconcile/etcd-snapshot-schedule/run-objects.ts';
import { NS, ScheduleWorld } from './fakes.ts';

const HOUR = 3_600_000;
/** The hourly schedule's run of cluster main at `hh`:00 on 2026-03-02 (names carry a hash). */
const run = (hh: string) => runObjectName('hourly', 'main', new Date(`2026-03-02T${hh}:00:00Z`));
const RUN_10 = run('10');
const RUN_11 = run('11');

function at(w: ScheduleWorld, iso: string) {
  w.now = new Date(iso);
}

/** A world with one source claim of cluster main and a valid hourly schedule, created 09:59. */
function hourly(spec: Parameters<ScheduleWorld['addSchedule']>[1] = {}): ScheduleWorld {
  const w = new ScheduleWorld();
  w.addSource('main-source', 'main', { group: 'a' });
  w.addSchedule('hourly', spec, '2026-03-02T09:59:00Z');
  return w;
}

describe('bad spec: a condition and an Event naming the field and the value, nothing created', () => {
  const cases: [string, Parameters<ScheduleWorld['addSchedule']>[1], string, RegExp][] = [
    ['invalid cron', { schedule: '61 * * * *' }, 'SCHEDULE_INVALID', /spec\.schedule: "61 \* \* \* \*"/],
    [
      'unknown time zone',
      { timeZone: 'Mars/Olympus' },
      'SCHEDULE_INVALID',
      /spec\.timeZone: "Mars\/Olympus"/,
    ],
    [
      'unknown class',
      { snapshot: { className: 'nope' } },
      'SCHEDULE_CLASS_NOT_FOUND',
      /spec\.snapshot\.className: "nope"/,
    ],
    [
      'selector matching nothing',
      { target: { selector: { matchLabels: { group: 'zzz' } } } },
      'SCHEDULE_NO_TARGETS',
      /spec\.target\.selector: .*zzz/,
    ],
    [
      'retention keeping nothing',
      { retention: { keepLast: 0 } },
      'SCHEDULE_INVALID',
      /spec\.retention\.keepLast: 0/,
    ],
  ];
  for (const [what, spec, reason, message] of cases) {
    it(what, async () => {
      const w = hourly(spec);
      at(w, '2026-03-02T10:00:05Z');
      await w.reconcileAll('hourly');
      const valid = w.schedule('hourly').status?.conditions?.find((c) => c.type === 'Valid');
      expect(valid).toMatchObject({ status: 'False', reason, observedGeneration: 1 });
      expect(valid?.message).toMatch(message);
      expect(w.events).toEqual([expect.objectContaining({ type: 'Warning', reason })]);
      expect(w.runNames()).toEqual([]);
      // Looking again changes nothing and sends no second Event.
      await w.reconcileAll('hourly');
      expect(w.events).toHaveLength(1);
      expect(w.writes.filter((x) => x.startsWith('create') || x.startsWith('delete'))).toEqual([]);
    });
  }
});

describe('runs', () => {
  it('creates one VolumeSnapshot per slot: deterministic name, class, source claim, schedule labels', async () => {
    const w = hourly();
    at(w, '2026-03-02T10:00:05Z');
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([RUN_10]);
    const run = w.volumeSnapshots.get(`${NS}/${RUN_10}`);
    expect(run?.spec).toEqual({
      volumeSnapshotClassName: 'etcd-snapshot',
      source: { persistentVolumeClaimName: 'main-source' },
    });
    expect(run?.metadata?.labels).toEqual({ [LABEL_SCHEDULE]: 'hourly', [LABEL_SCHEDULE_CLUSTER]: 'main' });
    // Again, and again later in the slot: no second object for the slot.
    await w.reconcileAll('hourly');
    at(w, '2026-03-02T10:30:00Z');
    w.ready(RUN_10);
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([RUN_10]);
    expect(w.metrics.count('created', `${NS}/hourly`, 'main')).toBe(1);
  });

  it('a second replica after a crash (fresh reconciler, same status) creates no second object for the slot', async () => {
    const w = hourly();
    at(w, '2026-03-02T10:00:05Z');
    await w.reconcileAll('hourly');
    const other = new ScheduleWorld();
    // The other replica's caches hold the same objects.
    for (const s of w.schedules.list()) other.schedules.upsert(s);
    for (const r of w.volumeSnapshots.list()) other.volumeSnapshots.upsert(r);
    for (const c of w.claims.list()) other.claims.upsert(c);
    for (const v of w.volumes.list()) other.volumes.upsert(v);
    other.now = new Date('2026-03-02T10:00:06Z');
    await other.reconcileAll('hourly');
    expect(other.runNames()).toEqual([RUN_10]);
    expect(other.metrics.count('created', `${NS}/hourly`, 'main')).toBe(0);
  });

  it('status: lastScheduleTime, lastSuccessfulTime per cluster, next run; API writes per scheduled snapshot = 2', async () => {
    const w = hourly();
    at(w, '2026-03-02T10:00:05Z');
    await w.reconcileAll('hourly'); // Valid condition (once per generation) + the run
    w.ready(RUN_10);
    await w.reconcileAll('hourly');
    const before = w.writes.length;
    at(w, '2026-03-02T11:00:02Z');
    await w.reconcileAll('hourly');
    w.ready(RUN_11);
    await w.reconcileAll('hourly');
    const status = w.schedule('hourly').status;
    expect(status?.clusters?.main).toMatchObject({
      lastScheduleTime: '2026-03-02T11:00:00.000Z',
      lastSuccessfulTime: '2026-03-02T11:00:05.000Z',
    });
    expect(status).toMatchObject({
      lastSuccessfulTime: '2026-03-02T11:00:05.000Z',
      nextScheduleTime: '2026-03-02T12:00:00.000Z',
    });
    // One create and one status patch for the 11:00 snapshot (its success).
    expect(w.writes.slice(before)).toEqual([`create ${RUN_11}`, 'patch']);
    expect(w.metrics.gauges.get(`lastSuccess ${NS}/hourly|main`)).toBe(
      Date.parse('2026-03-02T11:00:05Z') / 1000,
    );
    expect(w.metrics.gauges.get(`interval ${NS}/hourly|main`)).toBe(3600);
  });

  it('requeues for the next slot: the only timer is the result', async () => {
    const w = hourly();
    at(w, '2026-03-02T10:20:00Z');
    await w.reconcileSchedule('hourly');
    const result = await w.reconcileLane('hourly');
    expect(result.requeueAfter).toBe(40 * 60_000);
  });

  it('after an outage makes up exactly one run, never a burst, and counts the rest as missed', async () => {
    const w = hourly();
    at(w, '2026-03-02T10:00:05Z');
    await w.reconcileAll('hourly');
    w.ready(RUN_10);
    at(w, '2026-03-02T15:10:00Z'); // 11:00 … 15:00 passed while the driver was down
    await w.reconcileAll('hourly');
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([RUN_10, run('15')]);
    expect(w.schedule('hourly').status?.clusters?.main?.missedRuns).toBe(4);
    expect(w.metrics.count('missed', `${NS}/hourly`, 'main')).toBe(4);
    expect(w.events.map((e) => e.reason)).toContain('MissedRuns');
  });

  it('startingDeadlineSeconds: a slot found too late is missed, not run', async () => {
    const w = hourly({ startingDeadlineSeconds: 60 });
    at(w, '2026-03-02T10:05:00Z');
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([]);
    expect(w.schedule('hourly').status?.clusters?.main?.missedRuns).toBe(1);
    expect(w.events.map((e) => e.reason)).toContain('MissedRun');
  });

  it('concurrencyPolicy Forbid: the next slot is skipped with an Event while the previous run is not finished', async () => {
    const w = hourly();
    at(w, '2026-03-02T10:00:05Z');
    await w.reconcileAll('hourly');
    at(w, '2026-03-02T11:00:05Z'); // RUN_10 still in progress
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([RUN_10]);
    expect(w.schedule('hourly').status?.clusters?.main?.skippedRuns).toBe(1);
    expect(w.events.find((e) => e.reason === 'SkippedRun')?.message).toContain(RUN_10);
    // A failed run is finished: the next slot runs.
    w.failRun(RUN_10, 'ETCD_QUORUM_LOST: 1 of 3 members answered');
    at(w, '2026-03-02T12:00:05Z');
    await w.reconcileAll('hourly');
    expect(w.runNames()).toContain(run('12'));
    expect(w.schedule('hourly').status?.clusters?.main?.lastFailure).toMatchObject({
      reason: 'ETCD_QUORUM_LOST',
    });
  });

  it('a suspended schedule creates nothing, and makes nothing up when resumed', async () => {
    const w = hourly({ suspend: true });
    for (const t of ['2026-03-02T10:00:05Z', '2026-03-02T11:00:05Z', '2026-03-02T12:00:05Z']) {
      at(w, t);
      await w.reconcileAll('hourly');
    }
    expect(w.runNames()).toEqual([]);
    const s = w.schedule('hourly');
    w.schedules.upsert({
      ...s,
      spec: { ...s.spec, suspend: false },
      metadata: { ...s.metadata, generation: 2 },
    });
    at(w, '2026-03-02T12:30:00Z');
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([]);
    at(w, '2026-03-02T13:00:01Z');
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([run('13')]);
  });
});

describe('retention', () => {
  /** Hourly ready runs for `hours` hours ending now (a world that ran them). */
  async function ranFor(w: ScheduleWorld, hours: number) {
    for (let h = 0; h < hours; h++) {
      w.now = new Date(Date.parse('2026-03-02T10:00:05Z') + h * HOUR);
      await w.reconcileAll('hourly');
      for (const name of w.runNames())
        if (!w.volumeSnapshots.get(`${NS}/${name}`)?.status?.readyToUse) w.ready(name);
    }
  }

  it('keepLast prunes exactly the oldest of its own runs; a hand-made snapshot survives', async () => {
    const w = hourly({ retention: { keepLast: 3 } });
    w.volumeSnapshots.upsert({
      kind: 'VolumeSnapshot',
      metadata: { name: 'by-hand', namespace: NS },
      status: { readyToUse: true },
    });
    await ranFor(w, 6);
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual(['by-hand', run('13'), run('14'), run('15')]);
    expect(w.metrics.count('deleted-ready', `${NS}/hourly`, 'main')).toBe(3);
  });

  it('failed runs are counted apart (failedLimit) and never push a ready one out', async () => {
    const w = hourly({ retention: { keepLast: 2, failedLimit: 1 } });
    await ranFor(w, 2);
    for (const h of [12, 13, 14]) {
      w.now = new Date(`2026-03-02T${h}:00:05Z`);
      await w.reconcileAll('hourly');
      w.failRun(run(String(h)), 'JOB_TIMEOUT: the Job exceeded its deadline');
    }
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([RUN_10, RUN_11, run('14')]);
    expect(w.metrics.count('deleted-failed', `${NS}/hourly`, 'main')).toBe(2);
  });

  it('a deletion that fails never stalls the schedule: the next slot still runs, the delete is retried soon', async () => {
    const w = hourly({ retention: { keepLast: 1 } });
    await ranFor(w, 2);
    await w.reconcileAll('hourly');
    expect(w.runNames()).toEqual([RUN_11]);
    let failing = true;
    const deleteRun = w.deleteRun.bind(w);
    w.deleteRun = async (...args) => {
      if (failing) throw Object.assign(new Error('500 InternalError'), { statusCode: 500 });
      return deleteRun(...args);
    };
    w.now = new Date('2026-03-02T12:00:05Z');
    await w.reconcileSchedule('hourly');
    await w.reconcileLane('hourly');
    w.ready(run('12'));
    w.now = new Date('2026-03-02T12:10:00Z');
    const result = await w.reconcileLane('hourly');
    expect(result.requeueAfter).toBe(30_000);
    w.now = new Date('2026-03-02T13:00:05Z');
    await w.reconcileLane('hourly');
    expect(w.runNames()).toEqual([RUN_11, run('12'), run('13')]);
    failing = false;
    w.ready(run('13'));
    await w.reconcileLane('hourly');
    expect(w.runNames()).toEqual([run('13')]);
  });

  it('deletes in bounded batches and comes back soon for the rest', async () => {
    const w = new ScheduleWorld({ retentionBatchSize: 2 });
    w.addSource('main-source', 'main');
    w.addSchedule('hourly', {}, '2026-03-02T09:59:00Z');
    await ranFor(w, 6);
    const s = w.schedule('hourly');
    w.schedules.upsert({
      ...s,
      spec: { ...s.spec, retention: { keepLast: 1 } },
      metadata: { ...s.metadata, generation: 2 },
    });
    await w.reconcileSchedule('hourly');
    const first = await w.reconcileLane('hourly');
    expect(w.runNames()).toHaveLength(4);
    expect(first.requeueAfter).toBe(1_000);
    await w.reconcileLane('hourly');
    await w.reconcileLane('hourly');
    expect(w.runNames()).toEqual([run('15')]);
  });
  it('never deletes a run again while finalizers hold it: each batch takes the next oldest', async () => {
    const w = new ScheduleWorld({ retentionBatchSize: 2 });
    w.addSource('main-source', 'main');
    w.addSchedule('hourly', {}, '2026-03-02T09:59:00Z');
    await ranFor(w, 6);
    const s = w.schedule('hourly');
    w.schedules.upsert({
      ...s,
      spec: { ...s.spec, retention: { keepLast: 1 } },
      metadata: { ...s.metadata, generation: 2 },
    });
    // As snapshot-controller's finalizers do: a deleted run stays, with a deletionTimestamp.
    w.deleteRun = async (_kind, namespace, name) => {
      w.writes.push(`delete ${name}`);
      const run = w.volumeSnapshots.get(`${namespace}/${name}`) as RunObject;
      w.volumeSnapshots.upsert({
        ...run,
        metadata: { ...run.metadata, deletionTimestamp: w.now.toISOString() },
      });
    };
    await w.reconcileSchedule('hourly');
    for (let pass = 0; pass < 4; pass++) await w.reconcileLane('hourly');
    const deletes = w.writes.filter((x) => x.startsWith('delete'));
    expect(deletes).toHaveLength(5);
    expect(new Set(deletes).size).toBe(5);
    expect(deletes).not.toContain(`delete ${run('15')}`);
  });
});

describe('VolumeGroupSnapshot schedules and fleets', () => {
  it('a group schedule creates one VolumeGroupSnapshot over its selector per slot', async () => {
    const w = new ScheduleWorld();
    w.addSource('a-source', 'a', { group: 'g' });
    w.addSource('b-source', 'b', { group: 'g' });
    w.addSchedule(
      'grp',
      {
        target: { selector: { matchLabels: { group: 'g' } } },
        snapshot: { kind: 'VolumeGroupSnapshot', className: 'etcd-group-snapshot' },
      },
      '2026-03-02T09:59:00Z',
    );
    at(w, '2026-03-02T10:00:05Z');
    await w.reconcileSchedule('grp');
    await w.reconcileSchedule('grp');
    expect(w.runNames('VolumeGroupSnapshot')).toEqual(['grp-20260302t100000z']);
    expect(w.volumeGroupSnapshots.get(`${NS}/grp-20260302t100000z`)?.spec).toEqual({
      volumeGroupSnapshotClassName: 'etcd-group-snapshot',
      source: { selector: { matchLabels: { group: 'g' } } },
    });
    expect(w.runNames()).toEqual([]);
    w.ready('grp-20260302t100000z', 'VolumeGroupSnapshot');
    await w.reconcileSchedule('grp');
    expect(w.schedule('grp').status?.clusters).toEqual({
      a: { lastSuccessfulTime: '2026-03-02T10:00:05.000Z' },
      b: { lastSuccessfulTime: '2026-03-02T10:00:05.000Z' },
    });
  });

  it('a schedule over 200 clusters: one object per cluster per run, about two API writes per snapshot', async () => {
    const w = new ScheduleWorld();
    const clusters = Array.from({ length: 200 }, (_, i) => `c${String(i).padStart(3, '0')}`);
    for (const c of clusters) w.addSource(`${c}-source`, c, { fleet: 'yes' });
    w.addSchedule(
      'fleet',
      { target: { selector: { matchLabels: { fleet: 'yes' } } } },
      '2026-03-02T09:59:00Z',
    );
    at(w, '2026-03-02T10:00:05Z');
    await w.reconcileAll('fleet', clusters);
    expect(w.runNames()).toHaveLength(200);
    for (const name of w.runNames()) w.ready(name);
    at(w, '2026-03-02T10:30:00Z');
    await w.reconcileAll('fleet', clusters);
    const start = w.writes.length;
    at(w, '2026-03-02T11:00:05Z');
    await w.reconcileAll('fleet', clusters);
    await w.reconcileAll('fleet', clusters); // nothing more to do: no more writes, no second run
    for (const name of w.runNames()) if (name.endsWith('t110000z')) w.ready(name);
    await w.reconcileAll('fleet', clusters);
    expect(w.runNames()).toHaveLength(400);
    const writes = w.writes.slice(start);
    const creates = writes.filter((x) => x.startsWith('create')).length;
    expect(creates).toBe(200);
    const perSnapshot = writes.length / creates;
    console.log(
      `fleet of 200: ${writes.length} API writes for 200 scheduled snapshots (${perSnapshot.toFixed(3)} per snapshot)`,
    );
    expect(perSnapshot).toBeLessThanOrEqual(2.01);
    expect(w.schedule('fleet').status?.clusterCount).toBe(200);
  });
});
