// The member list at CheckHealth against the one when the save ended (a change discards the
// save and takes it again, or fails the record when too old), and members on different etcd
// versions (a Warning Event and a gauge; the save goes on).
import { describe, expect, it } from 'vitest';
import type { ClusterHealthView } from '../../../../src/reconcile/etcd-snapshot/ports.ts';
import { FakeWorld, makeReconciler, okSave } from './fakes.ts';

function health(ids: string[], versions: string[] = ids.map(() => '3.6.16')): ClusterHealthView {
  return {
    members: ids.map((id, i) => ({ id, name: `etcd-${i}`, version: versions[i], reachable: true })),
    hasQuorum: true,
    source: 'http://10.0.0.2:2379',
    dbSizeBytes: 1024,
  };
}

/** A health checker that answers each call with the next view (the last one repeats). */
function answers(...views: (ClusterHealthView | Error)[]) {
  let call = 0;
  return async () => {
    const v = views[Math.min(call++, views.length - 1)]!;
    if (v instanceof Error) throw v;
    return v;
  };
}

const at = (iso: string) => () => new Date(iso);

describe('membership changes during a save', () => {
  it('a member added before the save ended: CLUSTER_MODIFICATION_IN_PROGRESS, the save is discarded and taken again, then Ready', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const before = health(['a', 'b', 'c']);
    const after = health(['a', 'b', 'c', 'd']);
    const { run } = makeReconciler(w, answers(before, after), at('2026-01-01T00:01:00Z'));
    await run('r1');
    expect(w.record('r1').status?.memberIds).toEqual(['a', 'b', 'c']);
    const first = w.jobs.get('etcd/snapshot-save-r1')!;
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });

    w.calls.length = 0;
    expect(await run('r1')).toEqual({ requeueAfter: expect.any(Number) });
    expect(w.calls).toEqual(['deleteJob snapshot-save-r1', 'putStatus r1 Running/AwaitJob']);
    const retrying = w.record('r1').status!;
    expect(retrying).toMatchObject({
      phase: 'Running',
      readyToUse: false,
      reason: 'CLUSTER_MODIFICATION_IN_PROGRESS',
      message: expect.stringContaining('added d'),
      memberIds: ['a', 'b', 'c', 'd'],
      discardedSaveJob: first.metadata!.uid,
      saveJob: 'snapshot-save-r1',
    });
    expect(retrying.conditions).toEqual([
      expect.objectContaining({
        type: 'MembershipStable',
        status: 'False',
        reason: 'CLUSTER_MODIFICATION_IN_PROGRESS',
      }),
    ]);
    expect(w.events.map((e) => e.event)).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'MembershipChanged',
        message: expect.stringMatching(/^CLUSTER_MODIFICATION_IN_PROGRESS: /),
      }),
    ]);

    // A cache that still holds the discarded Job (and its pod) never passes it off as the new save.
    w.jobs.upsert(first);
    w.calls.length = 0;
    await run('r1');
    expect(w.calls).toEqual(['deleteJob snapshot-save-r1']);
    expect(w.record('r1').status?.phase).toBe('Running');

    // Gone: the same Job again, and this time the members stay.
    await run('r1');
    const second = w.jobs.get('etcd/snapshot-save-r1')!;
    expect(second.metadata!.uid).not.toBe(first.metadata!.uid);
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    // The discarded save's pod outlives its Job and looks newer: its result is never read.
    w.pods.upsert({
      metadata: {
        name: 'snapshot-save-r1-old',
        namespace: 'etcd',
        creationTimestamp: '2026-01-01T00:09:00Z',
        labels: { ...second.spec?.template?.metadata?.labels, 'job-name': 'snapshot-save-r1' },
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'Job', name: 'snapshot-save-r1', uid: first.metadata!.uid! },
        ],
      },
      status: {
        phase: 'Succeeded',
        containerStatuses: [
          {
            name: 'agent',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              terminated: { exitCode: 0, message: okSave('r1').replace('a'.repeat(64), 'b'.repeat(64)) },
            },
          },
        ],
      },
    });
    await run('r1');
    const ready = w.record('r1').status!;
    expect(ready).toMatchObject({ phase: 'Ready', readyToUse: true, checksumSha256: 'a'.repeat(64) });
    expect(ready.reason).toBeUndefined();
    expect(ready.conditions).toBeUndefined();
  });

  it('a member removed, and the snapshot older than its timeout: Failed with CLUSTER_MODIFICATION_IN_PROGRESS', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    let now = new Date('2026-01-01T00:01:00Z');
    const { run } = makeReconciler(w, answers(health(['a', 'b', 'c']), health(['a', 'b'])), () => now);
    await run('r1');
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    now = new Date('2026-01-01T00:06:00Z'); // 360 s after creation; the timeout is 300 s
    expect(await run('r1')).toEqual({});
    const failed = w.record('r1').status!;
    expect(failed).toMatchObject({
      phase: 'Failed',
      step: 'Verify',
      reason: 'CLUSTER_MODIFICATION_IN_PROGRESS',
    });
    expect(failed.message).toContain('removed c');
    expect(failed.message).toContain('300s');
  });

  it('the same members at the end: Ready; a member list that cannot be read then keeps the save', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    w.addRecord('r2', { cluster: 'other' });
    const same = makeReconciler(w, answers(health(['a', 'b', 'c'])), at('2026-01-01T00:01:00Z'));
    await same.run('r1');
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    await same.run('r1');
    expect(w.record('r1').status?.phase).toBe('Ready');

    const unreadable = makeReconciler(
      w,
      answers(health(['a', 'b', 'c']), new Error('deadline exceeded')),
      at('2026-01-01T00:01:00Z'),
    );
    await unreadable.run('r2');
    w.finishJob('snapshot-save-r2', { complete: true, message: okSave('r2') });
    await unreadable.run('r2');
    expect(w.record('r2').status?.phase).toBe('Ready');
  });
});

describe('lastRevisionSeen: the live revision read when the save ended', () => {
  it('the newest revision the members showed after the save, never below the snapshot revision', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    w.addRecord('r2');
    w.addRecord('r3');
    const ahead = { ...health(['a', 'b', 'c']), revision: 5000 };
    const { run } = makeReconciler(w, answers(health(['a', 'b', 'c']), ahead), at('2026-01-01T00:01:00Z'));
    await run('r1');
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({ phase: 'Ready', revision: 42, lastRevisionSeen: 5000 });

    // A member answering with an older header than the file (it lagged): the snapshot's own.
    const behind = { ...health(['a', 'b', 'c']), revision: 10 };
    const lagging = makeReconciler(w, answers(health(['a', 'b', 'c']), behind), at('2026-01-01T00:01:00Z'));
    await lagging.run('r2');
    w.finishJob('snapshot-save-r2', { complete: true, message: okSave('r2') });
    await lagging.run('r2');
    expect(w.record('r2').status).toMatchObject({ phase: 'Ready', revision: 42, lastRevisionSeen: 42 });

    // The cluster unreadable at the end: the snapshot's revision, the least a restore bumps past.
    const unreadable = makeReconciler(
      w,
      answers(health(['a', 'b', 'c']), new Error('deadline exceeded')),
      at('2026-01-01T00:01:00Z'),
    );
    await unreadable.run('r3');
    w.finishJob('snapshot-save-r3', { complete: true, message: okSave('r3') });
    await unreadable.run('r3');
    expect(w.record('r3').status).toMatchObject({ phase: 'Ready', revision: 42, lastRevisionSeen: 42 });
  });
});

describe('members on different etcd versions', () => {
  it('a Warning Event naming who runs what, the gauge at 2, and the save goes on', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(
      w,
      answers(health(['a', 'b', 'c'], ['3.5.17', '3.6.16', '3.6.16'])),
    );
    await run('r1');
    expect(w.events.map((e) => e.event)).toEqual([
      {
        type: 'Warning',
        reason: 'EtcdVersionSkew',
        message: expect.stringContaining('members run 2 versions: 3.5.17 (etcd-0); 3.6.16 (etcd-1, etcd-2)'),
      },
    ]);
    expect(metrics.calls.filter((c) => c.name === 'memberVersions').map((c) => c.args)).toEqual([
      ['etcd/main', 2],
    ]);
    expect(w.record('r1').status?.phase).toBe('Running');
  });

  it('one version: the gauge at 1 and no Event', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(w, answers(health(['a', 'b', 'c'])));
    await run('r1');
    expect(w.events).toEqual([]);
    expect(metrics.calls.filter((c) => c.name === 'memberVersions').map((c) => c.args)).toEqual([
      ['etcd/main', 1],
    ]);
  });
});
