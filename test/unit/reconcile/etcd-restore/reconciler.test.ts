import { describe, expect, it } from 'vitest';
import { memberJobName, verifyJobName } from '../../../../src/reconcile/etcd-restore/jobs.ts';
import { okResult, RestoreWorld, reconcilerFor, SHA, UID } from './fakes.ts';
import { members, restoreOk, until, world } from './steps.ts';

describe('EtcdRestore reconciler', () => {
  it('restores in place: verify, quiesce, one Job per member, start, verify the result, complete', async () => {
    const w = world();
    const { run, metrics } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    const s = w.restore().status!;
    expect(s.members?.map((m) => `${m.name}=${m.peerUrl}`)).toEqual(
      members.map((m) => `${m}=http://${m}.main.etcd.svc:2380`),
    );
    expect(s.membersFrom).toBe('member-list');
    expect(s.jobDataDir).toBe('/var/lib/etcd-member/data');
    expect(s.revisionBump).toBe(1_000_000_000);
    expect(s.clusterToken).toBe(`restore-${UID}`);
    await run();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
    await until(w, run, 'Restoring');
    await run();
    for (const m of members) w.finishJob(memberJobName('restore', 'r1', m), true, restoreOk);
    await until(w, run, 'VerifyingResult');
    w.live = w.healthyView(3, 1_000_000_600);
    await until(w, run, 'Completed');
    expect(w.restore().status?.result).toEqual({ revision: 1_000_000_600, totalKeys: 5, leader: '1' });
    expect(w.statefulSets.get('etcd/main')?.spec?.replicas).toBe(3);
    expect(metrics.finished).toEqual([expect.objectContaining({ status: 'success', cluster: 'etcd/main' })]);
    expect(w.events.map((e) => e.reason)).toEqual([
      'VerifyingFile',
      'Quiescing',
      'Restoring',
      'Starting',
      'VerifyingResult',
      'Completed',
    ]);
  });

  it('records the replicas before scaling down, and every Job name and swapStarted before the first restore Job', async () => {
    const w = world();
    const { run } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    await run();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
    await until(w, run, 'Restoring');
    await run();
    const calls = w.calls;
    const recorded = calls.findIndex((c) => c.includes('replicas=3'));
    const scaled = calls.indexOf('scale main 0');
    expect(recorded).toBeGreaterThanOrEqual(0);
    expect(recorded).toBeLessThan(scaled);
    const intent = calls.findIndex((c) => c.includes('swap') && c.includes('jobs'));
    const firstJob = calls.findIndex((c) =>
      c.startsWith(`createJob ${memberJobName('restore', 'r1', 'main-0')}`),
    );
    expect(intent).toBeGreaterThan(scaled);
    expect(intent).toBeLessThan(firstJob);
    const job = w.jobs.get(`etcd/${memberJobName('restore', 'r1', 'main-1')}`)!;
    const args = job.spec?.template?.spec?.containers?.[0]?.args ?? [];
    expect(args).toContain('--name=main-1');
    expect(args).toContain(
      `--initial-cluster=${members.map((m) => `${m}=http://${m}.main.etcd.svc:2380`).join(',')}`,
    );
    expect(args).toContain('--initial-advertise-peer-urls=http://main-1.main.etcd.svc:2380');
    expect(args).toContain('--data-dir=/var/lib/etcd-member/data');
    expect(args).toContain(`--sha256=${SHA}`);
    expect(job.spec?.template?.spec?.volumes?.map((v) => v.persistentVolumeClaim?.claimName)).toEqual([
      'data-main-1',
      'etcd-snapshots-main',
    ]);
  });

  it('a reconciler restarted at every step (a crash) converges without a second Job for any member', async () => {
    const w = world();
    const fresh = () => reconcilerFor(w).run();
    await until(w, fresh, 'VerifyingFile');
    await fresh();
    await fresh();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
    await until(w, fresh, 'Restoring');
    for (let i = 0; i < 3; i++) await fresh();
    for (const m of members) w.finishJob(memberJobName('restore', 'r1', m), true, restoreOk);
    await until(w, fresh, 'VerifyingResult');
    w.live = w.healthyView(3, 1_000_000_600);
    await until(w, fresh, 'Completed');
    const creates = w.calls.filter((c) => c.startsWith('createJob'));
    expect(creates).toEqual([...new Set(creates)]);
    expect(creates).toHaveLength(4);
  });

  it('refuses a file whose SHA-256 differs before anything destructive: the StatefulSet is never scaled', async () => {
    const w = world();
    const { run, metrics } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    await run();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: 'b'.repeat(64) }));
    await until(w, run, 'Failed');
    expect(w.restore().status?.reason).toBe('CHECKSUM_MISMATCH');
    expect(w.restore().status?.message).toContain('b'.repeat(64));
    expect(w.calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    expect(metrics.finished).toEqual([expect.objectContaining({ status: 'CHECKSUM_MISMATCH' })]);
    expect(w.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'RestoreFailed' });
  });

  it('rolls back when the restored cluster fails its verification: old data back, cluster started as it was', async () => {
    const w = world();
    const { run, metrics } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    await run();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
    await until(w, run, 'Restoring');
    await run();
    for (const m of members) w.finishJob(memberJobName('restore', 'r1', m), true, restoreOk);
    await until(w, run, 'VerifyingResult');
    // The members came up empty: fail closed.
    w.live = w.healthyView(3, 1_000_000_600, 0);
    await until(w, run, 'RollingBack');
    expect(w.restore().status).toMatchObject({
      reason: 'RESTORE_VERIFICATION_FAILED',
      failedPhase: 'VerifyingResult',
    });
    await run();
    expect(w.statefulSets.get('etcd/main')?.spec?.replicas).toBe(0);
    for (const m of members)
      w.finishJob(
        memberJobName('rollback', 'r1', m),
        true,
        okResult('restore', { restore: { state: 'rolled-back' } }),
      );
    await until(w, run, 'RolledBack');
    expect(w.statefulSets.get('etcd/main')?.spec?.replicas).toBe(3);
    expect(w.restore().status?.members?.every((m) => m.state === 'RolledBack')).toBe(true);
    expect(w.restore().status?.conditions).toEqual([
      expect.objectContaining({ type: 'Succeeded', status: 'False', reason: 'RESTORE_VERIFICATION_FAILED' }),
    ]);
    expect(metrics.finished).toEqual([expect.objectContaining({ status: 'RESTORE_VERIFICATION_FAILED' })]);
  });

  it('pods that do not go after the scale-down fail the restore, untouched, and the StatefulSet is scaled back', async () => {
    const w = world();
    let now = new Date('2026-01-01T00:00:00Z');
    const { run } = reconcilerFor(w, { now: () => now });
    await until(w, run, 'VerifyingFile');
    await run();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
    w.podsLinger = true;
    await until(w, run, 'Quiescing');
    await run();
    expect(w.restore().status?.conditions?.[0]).toMatchObject({ type: 'Waiting', reason: 'PodsTerminating' });
    now = new Date('2026-01-01T00:02:00Z');
    await run();
    expect(w.restore().status).toMatchObject({ phase: 'Failed', reason: 'RESTORE_QUIESCE_TIMEOUT' });
    expect(w.calls.filter((c) => c.startsWith('scale')).at(-1)).toBe('scale main 3');
    expect(w.jobNames()).toEqual([verifyJobName('r1')]);
  });

  it('a member Job failure carries its etcdutl stderr tail and rolls back', async () => {
    const w = world();
    const { run } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    await run();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
    await until(w, run, 'Restoring');
    await run();
    w.finishJob(memberJobName('restore', 'r1', 'main-0'), true, restoreOk);
    w.finishJob(memberJobName('restore', 'r1', 'main-1'), false, {
      operation: 'restore',
      ok: false,
      error: {
        reason: 'RESTORE_FAILED',
        message: 'etcdutl snapshot restore: Error: open /snapshots/x: permission denied',
      },
    });
    // main-2 still runs: no rollback may start under it (it could swap new data in afterwards).
    await run();
    await run();
    expect(w.restore().status?.phase).toBe('Restoring');
    expect(w.jobNames().filter((n) => n.includes('rollback'))).toEqual([]);
    w.finishJob(memberJobName('restore', 'r1', 'main-2'), true, restoreOk);
    await until(w, run, 'RollingBack');
    expect(w.restore().status?.message).toContain('member main-1: RESTORE_FAILED');
    expect(w.restore().status?.message).toContain('permission denied');
  });

  it('fails a snapshot that has a smaller target claim than 2 × the database, touching nothing', async () => {
    const w = new RestoreWorld();
    w.addCluster();
    w.addRecord('snap', { sizeBytes: 600 * 1024 * 1024 });
    w.addRestore();
    const { run } = reconcilerFor(w);
    await until(w, run, 'Failed');
    expect(w.restore().status?.reason).toBe('RESTORE_DATA_CLAIM_TOO_SMALL');
    expect(w.restore().status?.message).toContain('data-main-0');
    expect(w.jobNames()).toEqual([]);
    expect(w.calls.filter((c) => c.startsWith('scale'))).toEqual([]);
  });

  it('refuses a snapshot of a newer etcd than the target runs', async () => {
    const w = new RestoreWorld();
    w.addCluster(3, 'quay.io/coreos/etcd:v3.5.17');
    w.live = { ...w.healthyView(3, 1000), version: '3.5.17' };
    w.addRecord('snap', { etcdVersion: '3.6.0' });
    w.addRestore();
    const { run } = reconcilerFor(w);
    await until(w, run, 'Failed');
    expect(w.restore().status?.reason).toBe('RESTORE_ETCD_VERSION_TOO_OLD');
  });

  it('refuses a StatefulSet etcd-druid manages, naming it, unless allowManagedBy says etcd-druid', async () => {
    const w = new RestoreWorld();
    w.addCluster();
    const set = w.statefulSets.get('etcd/main')!;
    w.statefulSets.upsert({
      ...set,
      metadata: {
        ...set.metadata,
        ownerReferences: [
          {
            apiVersion: 'druid.gardener.cloud/v1alpha1',
            kind: 'Etcd',
            name: 'main',
            uid: 'u',
            controller: true,
          },
        ],
      },
    });
    w.addRecord();
    w.addRestore();
    w.addRestore({ target: { cluster: 'main', allowManagedBy: 'etcd-druid' } }, 'r2', '2026-01-01T00:01:00Z');
    const { run, runKey } = reconcilerFor(w);
    await until(w, run, 'Failed');
    expect(w.restore().status?.reason).toBe('RESTORE_TARGET_MANAGED');
    expect(w.restore().status?.message).toContain('etcd-druid Etcd etcd/main');
    await runKey('etcd/r2');
    expect(w.restore('r2').status?.phase).toBe('VerifyingFile');
  });

  it('a second restore of the cluster waits while the first holds it scaled down, then validates and restores after it', async () => {
    const w = world();
    const { run, runKey } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    await run();
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: SHA }));
    await until(w, run, 'Restoring');
    expect(w.statefulSets.get('etcd/main')?.spec?.replicas).toBe(0);
    // The second claim of one Velero restore: another record's restore of the same cluster.
    w.addRestore({}, 'r2', '2026-01-01T00:00:05Z');
    const waited = await runKey('etcd/r2');
    expect(waited.requeueAfter).toBeGreaterThan(0);
    expect(w.restore('r2').status?.phase).not.toBe('Failed');
    expect(w.restore('r2').status?.conditions?.find((c) => c.type === 'Waiting')).toMatchObject({
      reason: 'ClusterBusy',
      message: expect.stringContaining('the restore r1'),
    });
    await run();
    for (const m of members) w.finishJob(memberJobName('restore', 'r1', m), true, restoreOk);
    await until(w, run, 'VerifyingResult');
    w.live = w.healthyView(3, 1_000_000_600);
    await until(w, run, 'Completed');
    for (let i = 0; i < 5 && w.restore('r2').status?.phase !== 'VerifyingFile'; i++) await runKey('etcd/r2');
    expect(w.restore('r2').status).toMatchObject({ phase: 'VerifyingFile', membersFrom: 'member-list' });
  });

  it('waits for a target that does not exist yet, with a condition saying what, then fails after waitForTargetSeconds', async () => {
    const w = new RestoreWorld();
    w.addRecord();
    w.addRestore({ target: { cluster: 'main', waitForTargetSeconds: 60 } });
    let now = new Date('2026-01-01T00:00:10Z');
    const { run } = reconcilerFor(w, { now: () => now });
    const result = await run();
    expect(result.requeueAfter).toBeGreaterThan(0);
    const waiting = w.restore().status?.conditions?.find((c) => c.type === 'Waiting');
    expect(waiting).toMatchObject({ reason: 'TargetNotFound' });
    expect(waiting?.message).toContain('etcd/main');
    now = new Date('2026-01-01T00:01:01Z');
    await run();
    expect(w.restore().status).toMatchObject({ phase: 'Failed', reason: 'RESTORE_TARGET_NOT_FOUND' });
  });

  it('bumps past the live revision of a cluster that is already past the snapshot’s lastRevisionSeen', async () => {
    const w = world();
    w.live = w.healthyView(3, 2_000_000_500);
    const { run } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    // ceil(1.2 × (2 000 000 500 − 500))
    expect(w.restore().status?.revisionBump).toBe(2_400_000_000);
  });

  it('talks to a cluster whose pods name no Secret with the credentials of the snapshot record of that cluster', async () => {
    const w = world();
    const record = w.records.get('etcd/snap')!;
    w.records.upsert({
      ...record,
      spec: { ...record.spec, cluster: { ...record.spec.cluster, credentialsSecret: 'main-auth' } },
    });
    w.secrets.set('etcd/main-auth', { data: { username: 'dQ==', password: 'cA==' } });
    const { run } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    expect(w.probedWith).toEqual(['basic']);
    expect(w.restore().status?.membersFrom).toBe('member-list');
  });

  it('takes the membership from the StatefulSet alone while the cluster is down', async () => {
    const w = world();
    w.live = undefined;
    const { run } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    expect(w.restore().status?.membersFrom).toBe('statefulset');
    expect(w.restore().status?.members?.map((m) => m.peerUrl)).toEqual(
      members.map((m) => `http://${m}.main.etcd.svc:2380`),
    );
  });

  it('deletes a finished restore once its TTL passed', async () => {
    const w = world();
    w.addRecord('snap', { phase: 'Failed', readyToUse: false });
    w.addRestore({
      source: { etcdSnapshot: { name: 'snap' } },
      target: { cluster: 'main' },
      options: { ttlSecondsAfterFinished: 30 },
    });
    let now = new Date('2026-01-01T00:00:00Z');
    const { run } = reconcilerFor(w, { now: () => now });
    await until(w, run, 'Failed');
    expect(w.restore().status?.reason).toBe('RESTORE_SNAPSHOT_NOT_READY');
    expect((await run()).requeueAfter).toBe(30_000);
    now = new Date('2026-01-01T00:00:31Z');
    await run();
    expect(w.calls).toContain('deleteRestore r1');
  });
});
