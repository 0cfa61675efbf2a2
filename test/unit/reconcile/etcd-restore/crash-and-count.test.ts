// The restore engine's convergence after a crash in the rollback, and its result check against
// the snapshot's own key count.
import { describe, expect, it } from 'vitest';
import { memberJobName, verifyJobName } from '../../../../src/reconcile/etcd-restore/jobs.ts';
import { okResult, RestoreWorld, reconcilerFor, SHA } from './fakes.ts';
import { members, restoreOk, until, world } from './steps.ts';

/** Runs a fresh reconciler (a restarted driver) each pass until the members' Jobs are judged. */
async function toRestoring(w: RestoreWorld, fresh: () => Promise<unknown>): Promise<void> {
  await until(w, fresh, 'VerifyingFile');
  await fresh();
  w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
  await until(w, fresh, 'Restoring');
  await fresh();
}

describe('EtcdRestore reconciler, crash and count', () => {
  it('a rollback killed between its scale-up and its last status write ends RolledBack without stopping the cluster again', async () => {
    const w = world();
    const fresh = () => reconcilerFor(w).run();
    await toRestoring(w, fresh);
    w.finishJob(memberJobName('restore', 'r1', 'main-0'), false, okResult('restore', {}));
    for (const m of members.slice(1)) w.finishJob(memberJobName('restore', 'r1', m), true, restoreOk);
    await until(w, fresh, 'RollingBack');
    await fresh();
    for (const m of members)
      w.finishJob(
        memberJobName('rollback', 'r1', m),
        true,
        okResult('restore', { restore: { state: 'rolled-back' } }),
      );
    w.crashBefore = (s) => s?.phase === 'RolledBack';
    await expect(fresh()).rejects.toThrow('killed before the status write');
    expect(w.statefulSets.get('etcd/main')?.spec?.replicas).toBe(3);
    const before = w.calls.length;
    await until(w, fresh, 'RolledBack');
    const after = w.calls.slice(before);
    expect(after.filter((c) => c.startsWith('scale'))).toEqual(['scale main 3']);
    expect(after.filter((c) => c.startsWith('createJob'))).toEqual([]);
    expect(w.restore().status?.members?.every((m) => m.state === 'RolledBack')).toBe(true);
  });

  it('rolls back a restored cluster whose members agree on a key count other than the snapshot’s', async () => {
    const w = new RestoreWorld();
    w.addCluster();
    w.addRecord('snap', { keyCount: 7 });
    w.addRestore();
    const fresh = () => reconcilerFor(w).run();
    await toRestoring(w, fresh);
    expect(w.restore().status?.snapshot?.keyCount).toBe(7);
    for (const m of members) w.finishJob(memberJobName('restore', 'r1', m), true, restoreOk);
    await until(w, fresh, 'VerifyingResult');
    w.live = w.healthyView(3, 1_000_000_600, 5);
    await until(w, fresh, 'RollingBack');
    expect(w.restore().status).toMatchObject({
      reason: 'RESTORE_VERIFICATION_FAILED',
      message: expect.stringContaining('hold 5 keys'),
    });
    expect(w.restore().status?.message).toContain('the snapshot held 7');
  });
});
