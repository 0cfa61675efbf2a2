import { describe, expect, it } from 'vitest';
import { claim, content, DAY, record, world } from './fakes.ts';

describe('RetentionReconciler', () => {
  it('a content seen going with Delete takes its record; Retain and never-seen ones are reported once', async () => {
    const w = world();
    for (const n of ['del', 'ret', 'unk']) w.add(record(n));
    const del = content('c-del', 'snap-del', 'Delete');
    const ret = content('c-ret', 'snap-ret', 'Retain');
    w.vsc.add(del);
    w.vsc.add(ret);
    await w.run();
    // Both contents present: only 'unk' (never referenced) is an orphan, and only reported.
    expect(w.api.calls).toEqual([]);
    expect(w.api.events.map((e) => `${e.on} ${e.event.reason}`)).toEqual(['unk OrphanPolicyUnknown']);

    w.vsc.delete(del);
    w.vsc.delete(ret);
    await w.run();
    expect(w.api.calls).toEqual(['deleteRecord del']);
    expect(w.api.events.map((e) => `${e.on} ${e.event.reason}`).sort()).toEqual([
      'del OrphanDeletePolicy',
      'ret OrphanRetained',
      'unk OrphanPolicyUnknown',
    ]);
    expect(w.metrics.deleted).toEqual([['etcd/main', 'OrphanDeletePolicy']]);
    expect(w.metrics.reported.at(-1)![1]).toMatchObject({ OrphanRetained: 1, OrphanPolicyUnknown: 1 });
    // Again: nothing new (no second Event, no second delete).
    await w.run();
    expect(w.api.calls).toEqual(['deleteRecord del']);
    expect(w.api.events).toHaveLength(3);
  });

  it('with --delete-orphan-records a never-seen content’s record goes too', async () => {
    const w = world({ deleteUnknownOrphanRecords: true });
    w.add(record('unk'));
    await w.run();
    expect(w.api.calls).toEqual(['deleteRecord unk']);
  });

  it('without the snapshot CRDs only retention applies; the next look is when a record expires', async () => {
    const w = world({}, false);
    w.add(record('old', { ageMs: 31 * DAY, retentionDays: 30 }));
    w.add(record('young', { ageMs: 29 * DAY, retentionDays: 30 }));
    const result = await w.run();
    expect(w.api.calls).toEqual(['deleteRecord old']);
    expect(w.metrics.deleted).toEqual([['etcd/main', 'RetentionExpired']]);
    expect(result.requeueAfter).toBeLessThanOrEqual(300_000);
  });

  it('an expired record a content references is reported, not deleted', async () => {
    const w = world();
    w.add(record('old', { ageMs: 40 * DAY, retentionDays: 30 }));
    w.vsc.add(content('c-old', 'snap-old', 'Delete'));
    await w.run();
    expect(w.api.calls).toEqual([]);
    expect(w.api.events.map((e) => e.event.reason)).toEqual(['RetentionExpiredReferenced']);
  });

  it('sweep: reports unowned directories, deletes them only with the flag and only at the next sweep', async () => {
    for (const flag of [false, true]) {
      const w = world({ sweepIntervalMs: 60_000, deleteOrphanFiles: flag }, false);
      w.add(record('a'));
      w.claims.upsert(claim());
      await w.run();
      expect(w.api.calls).toEqual(['createJob snapshot-sweep-etcd-snapshots-main']);
      const job = w.api.jobs.get('snapshot-sweep-etcd-snapshots-main')!;
      expect(job.spec!.template.spec!.containers[0]!.args).toContain('--keep=a');
      expect(job.spec!.template.spec!.containers[0]!.args).toContain('--delete=');
      // Running: polled, not re-created.
      await w.run();
      expect(w.api.calls).toHaveLength(1);
      // A record made meanwhile owns 'b': the cache caught up, so it is no orphan.
      w.add(record('b'));
      w.api.finish('snapshot-sweep-etcd-snapshots-main', {
        operation: 'sweep',
        ok: true,
        sweep: { scanned: 3, unownedCount: 2, unowned: ['x', 'b'], deleted: [] },
      });
      await w.run();
      expect(w.metrics.orphans).toEqual([['etcd/main', 1]]);
      const warn = w.api.events.find((e) => e.event.reason === 'OrphanedSnapshotFiles');
      expect(warn?.on).toBe('claim/etcd-snapshots-main');
      expect(warn?.event.message).toMatch(/^1 snapshot directories no record owns: x;/);
      expect(w.api.calls.at(-1)).toBe('deleteJob snapshot-sweep-etcd-snapshots-main');
      // Not due yet.
      w.advance(30_000);
      await w.run();
      expect(w.api.calls.filter((c) => c.startsWith('createJob'))).toHaveLength(1);
      w.advance(31_000);
      await w.run();
      const second = w.api.jobs.get('snapshot-sweep-etcd-snapshots-main')!;
      expect(second.spec!.template.spec!.containers[0]!.args).toContain(flag ? '--delete=x' : '--delete=');
      expect(second.spec!.template.spec!.containers[0]!.args).toContain('--keep=a,b');
    }
  });

  it('a failed sweep is reported on the claim', async () => {
    const w = world({ sweepIntervalMs: 60_000 }, false);
    w.add(record('a'));
    w.claims.upsert(claim());
    await w.run();
    w.api.finish('snapshot-sweep-etcd-snapshots-main', {
      operation: 'sweep',
      ok: false,
      error: { reason: 'SNAPSHOT_FAILED', message: 'EACCES' },
    });
    await w.run();
    expect(w.api.events.map((e) => e.event.reason)).toEqual(['SnapshotSweepFailed']);
    expect(w.metrics.orphans).toEqual([]);
  });
});
