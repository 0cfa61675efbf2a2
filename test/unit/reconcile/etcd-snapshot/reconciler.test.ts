import { describe, expect, it } from 'vitest';
import { EtcdError } from '../../../../src/etcd/errors.ts';
import { FINALIZER_BACKUP_FILE } from '../../../../src/records/etcd-snapshot.ts';
import { FakeWorld, healthy, makeReconciler, okSave } from './fakes.ts';

describe('pipeline reconciler: create', () => {
  it('runs Discover → CheckHealth → PrepareStorage → RunJob (intent before Job) → AwaitJob → Verify → Ready', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(w, async () => healthy);
    expect(await run('r1')).toEqual({ requeueAfter: expect.any(Number) });
    expect(w.calls).toEqual([
      'createClaim etcd-snapshots-main',
      'putStatus r1 Running/AwaitJob',
      'createJob snapshot-save-r1',
    ]);
    const claim = w.claims.get('etcd/etcd-snapshots-main')!;
    expect(claim.spec?.resources?.requests).toEqual({ storage: '4Gi' });
    const job = w.jobs.get('etcd/snapshot-save-r1')!;
    const args = job.spec!.template.spec!.containers[0]!.args!;
    // The health check's source first, then the rest; free space = db × 1.2.
    expect(args).toContain('--endpoints=http://10.0.0.2:2379,http://10.0.0.1:2379,http://10.0.0.3:2379');
    expect(args).toContain(`--min-free-bytes=${Math.ceil(1024 ** 3 * 1.2)}`);
    expect(w.record('r1').status).toMatchObject({
      phase: 'Running',
      step: 'AwaitJob',
      saveJob: 'snapshot-save-r1',
      dbSizeBytes: 1024 ** 3,
    });

    // Still running: nothing is written.
    w.calls.length = 0;
    await run('r1');
    expect(w.calls).toEqual([]);

    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    expect(await run('r1')).toEqual({});
    expect(w.record('r1').status).toMatchObject({
      phase: 'Ready',
      readyToUse: true,
      step: 'Ready',
      sizeBytes: 20480,
      checksumSha256: 'a'.repeat(64),
      revision: 42,
      etcdVersion: '3.6.16',
      sourceMember: 'http://10.0.0.2:2379',
      creationTime: '2026-01-01T00:01:30Z',
      backupPath: 'r1/snapshot.db',
      totalKeys: 7,
    });
    expect(metrics.calls.map((c) => c.name)).toEqual([
      'clusterHealth',
      'operationFinished',
      'snapshotSize',
      'storageUsage',
    ]);
    // The claim's filesystem as the agent saw it after the save feeds the PVC gauges.
    expect(metrics.calls[3]!.args).toEqual(['etcd', w.record('r1').spec.storage.claimName, 30_000, 970_000]);
    expect(metrics.calls[1]!.args[0]).toMatchObject({
      operation: 'create',
      status: 'success',
      cluster: 'etcd/main',
    });
    // One info line per transition with the documented fields.
    const ready = w.logLines.map((l) => JSON.parse(l)).find((l) => l.status === 'Ready');
    expect(ready).toMatchObject({
      snapshot_id: 'r1',
      cluster_name: 'etcd/main',
      operation: 'create',
      duration_seconds: expect.any(Number),
    });
    // Ready is final: nothing more happens.
    w.calls.length = 0;
    expect(await run('r1')).toEqual({});
    expect(w.calls).toEqual([]);
  });

  it('the save Job continues the record’s trace (TRACEPARENT with the CSI call’s trace ID)', async () => {
    const w = new FakeWorld();
    const r = w.addRecord('r1');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    w.records.upsert({
      ...r,
      metadata: {
        ...r.metadata,
        annotations: { 'snapshot.etcd-snapshot-driver.io/traceparent': traceparent },
      },
    });
    await makeReconciler(w, async () => healthy).run('r1');
    const env = w.jobs.get('etcd/snapshot-save-r1')!.spec!.template.spec!.containers[0]!.env!;
    expect(env).toEqual([
      {
        name: 'TRACEPARENT',
        value: expect.stringMatching(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/),
      },
    ]);
  });

  it('a cache that has not seen its own status write yet does not redo the steps (no second health check, no 409)', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    let checks = 0;
    const { run } = makeReconciler(w, async () => {
      checks++;
      return healthy;
    });
    w.cacheLag = true;
    await run('r1');
    expect(w.record('r1').status).toBeUndefined(); // the cache still has the old version
    w.calls.length = 0;
    expect(await run('r1')).toEqual({ requeueAfter: expect.any(Number) });
    expect(w.calls).toEqual([]);
    expect(checks).toBe(1);
  });

  it('a crash between the intent and the Job: the next reconcile creates the same Job', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.jobs.remove('etcd/snapshot-save-r1'); // as if createJob never happened
    w.calls.length = 0;
    await run('r1');
    expect(w.calls).toEqual(['createJob snapshot-save-r1']);
  });

  it('a stale status write is a 409 that requeues (the error propagates)', async () => {
    const w = new FakeWorld();
    const stale = w.addRecord('r1');
    w.records.upsert({ ...stale, metadata: { ...stale.metadata, resourceVersion: 'newer' } });
    const { reconciler } = makeReconciler(w, async () => healthy);
    // The reconciler reads the cache (newer) — make the API disagree instead.
    const put = w.putStatus.bind(w);
    w.putStatus = async (r) => put({ ...r, metadata: { ...r.metadata, resourceVersion: 'older' } });
    await expect(
      reconciler.reconcile('etcd/r1', {
        signal: new AbortController().signal,
        assertOwner() {},
        log: (await import('pino')).pino({ level: 'silent' }),
      }),
    ).rejects.toMatchObject({ statusCode: 409 });
    expect(w.jobs.size).toBe(0);
  });

  it('a missing credentials Secret fails with AUTH_CERT_NOT_FOUND before anything is made', async () => {
    const w = new FakeWorld();
    w.addRecord('r1', { secret: 'nope' });
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    expect(w.record('r1').status).toMatchObject({
      phase: 'Failed',
      reason: 'AUTH_CERT_NOT_FOUND',
      step: 'ResolveCredentials',
    });
    expect(w.record('r1').status?.message).toContain('etcd/nope');
    expect(w.jobs.size + w.claims.size).toBe(0);
    expect(w.events).toEqual([
      { record: 'r1', event: expect.objectContaining({ type: 'Warning', reason: 'SnapshotFailed' }) },
    ]);
    // Failed without a save: nothing to remove, the finalizer goes at once.
    await run('r1');
    expect(w.record('r1').metadata?.finalizers).toEqual([]);
  });

  it('the credentials reach the health check, never the record, the Job or a log line', async () => {
    const w = new FakeWorld();
    w.addRecord('r1', { secret: 'creds' });
    w.secrets.set('etcd/creds', {
      metadata: { name: 'creds', namespace: 'etcd' },
      type: 'kubernetes.io/basic-auth',
      data: {
        username: Buffer.from('root').toString('base64'),
        password: Buffer.from('s3cr3t-pw').toString('base64'),
      },
    });
    let seen: unknown;
    const { run } = makeReconciler(w, async (_e, credentials) => {
      seen = credentials;
      return healthy;
    });
    await run('r1');
    expect(seen).toMatchObject({ kind: 'basic', username: 'root', password: 's3cr3t-pw' });
    const everything = JSON.stringify([w.records.list(), w.jobs.list(), w.logLines]);
    expect(everything).not.toContain('s3cr3t-pw');
  });

  it('quorum lost and etcd errors fail with their reason; transient ones retry until the timeout', async () => {
    const w = new FakeWorld();
    w.addRecord('q');
    await makeReconciler(w, async () => ({ ...healthy, hasQuorum: false })).run('q');
    expect(w.record('q').status).toMatchObject({
      phase: 'Failed',
      reason: 'ETCD_QUORUM_LOST',
      step: 'CheckHealth',
    });

    w.addRecord('auth', { cluster: 'other' });
    await makeReconciler(w, async () => {
      throw new EtcdError('AUTH_CERT_INVALID', 'certificate signed by unknown authority');
    }).run('auth');
    expect(w.record('auth').status).toMatchObject({ phase: 'Failed', reason: 'AUTH_CERT_INVALID' });

    w.addRecord('leader', { cluster: 'third', created: '2026-01-01T00:00:00Z' });
    const noLeader = async () => {
      throw new EtcdError('ETCD_NO_LEADER', 'no leader');
    };
    const early = makeReconciler(w, noLeader, () => new Date('2026-01-01T00:01:00Z'));
    expect(await early.run('leader')).toEqual({ requeueAfter: expect.any(Number) });
    expect(w.record('leader').status).toBeUndefined();
    const late = makeReconciler(w, noLeader, () => new Date('2026-01-01T00:06:00Z'));
    await late.run('leader');
    expect(w.record('leader').status).toMatchObject({ phase: 'Failed', reason: 'ETCD_NO_LEADER' });
  });

  it('a failed save records reason, message and the log tail, emits an Event, then removes its files and finalizer', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    w.logTail = 'line 1\nno space left on device\n';
    const { run, metrics } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.finishJob('snapshot-save-r1', {
      complete: false,
      exitCode: 13,
      message: JSON.stringify({
        operation: 'save',
        ok: false,
        error: { reason: 'STORAGE_QUOTA_EXCEEDED', message: 'needs 1288490189 bytes free, 10 free' },
      }),
    });
    await run('r1');
    const status = w.record('r1').status!;
    expect(status).toMatchObject({ phase: 'Failed', reason: 'STORAGE_QUOTA_EXCEEDED', step: 'AwaitJob' });
    expect(status.message).toContain('needs 1288490189 bytes free');
    expect(status.message).toContain('no space left on device');
    expect(w.events[0]?.event.message).toContain('STORAGE_QUOTA_EXCEEDED');
    expect(
      metrics.calls.some((c) => c.name === 'storageError' && c.args[1] === 'STORAGE_QUOTA_EXCEEDED'),
    ).toBe(true);

    // Cleanup: a delete Job for the directory, then the finalizer.
    w.calls.length = 0;
    await run('r1');
    expect(w.calls).toEqual(['createJob snapshot-delete-r1']);
    await run('r1');
    expect(w.calls).toEqual(['createJob snapshot-delete-r1']);
    w.finishJob('snapshot-delete-r1', {
      complete: true,
      message: JSON.stringify({ operation: 'delete', ok: true }),
    });
    await run('r1');
    expect(w.calls.at(-1)).toBe('removeFinalizer r1');
    expect(w.record('r1').status?.phase).toBe('Failed');
  });

  it('a Job past its deadline is JOB_TIMEOUT', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.finishJob('snapshot-save-r1', { complete: false, reason: 'DeadlineExceeded' });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({ phase: 'Failed', reason: 'JOB_TIMEOUT' });
    expect(metrics.calls.some((c) => c.name === 'jobTimeout')).toBe(true);
  });

  it('a success without a complete result fails in Verify', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.finishJob('snapshot-save-r1', {
      complete: true,
      message: JSON.stringify({ operation: 'save', ok: true, snapshotId: 'r1', sizeBytes: 10, revision: 3 }),
    });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({
      phase: 'Failed',
      reason: 'SNAPSHOT_STATUS_FAILED',
      step: 'Verify',
    });
  });
});

describe('pipeline reconciler: one save per cluster', () => {
  it('runs the cluster’s saves one after another, oldest first; other clusters are not held', async () => {
    const w = new FakeWorld();
    w.addRecord('b', { created: '2026-01-01T00:00:02Z' });
    w.addRecord('a', { created: '2026-01-01T00:00:01Z' });
    w.addRecord('x', { cluster: 'other', created: '2026-01-01T00:00:03Z' });
    const { run } = makeReconciler(w, async () => healthy);
    await run('b');
    expect(w.jobs.size).toBe(0); // a is older
    await run('x');
    await run('a');
    expect(
      w.jobs
        .list()
        .map((j) => j.metadata?.name)
        .sort(),
    ).toEqual(['snapshot-save-a', 'snapshot-save-x']);
    await run('b');
    expect(w.jobs.get('etcd/snapshot-save-b')).toBeUndefined(); // a's save runs
    w.finishJob('snapshot-save-a', { complete: true, message: okSave('a') });
    await run('a');
    await run('b');
    expect(w.jobs.get('etcd/snapshot-save-b')).toBeDefined();
  });
});

describe('pipeline reconciler: one save per cluster under concurrent workers', () => {
  it('two records of a cluster reconciled at once from the same cache start one save', async () => {
    const w = new FakeWorld();
    // b is older, but a is reconciled first: a's worker decides before b's exists for it.
    w.addRecord('a', { created: '2026-01-01T00:00:02Z' });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { run } = makeReconciler(w, async () => {
      await gate;
      return healthy;
    });
    const first = run('a');
    w.addRecord('b', { created: '2026-01-01T00:00:01Z' });
    const second = run('b');
    release();
    const results = await Promise.all([first, second]);
    expect(w.jobs.list().map((j) => j.metadata?.name)).toEqual(['snapshot-save-a']);
    expect(results[1]).toEqual({ requeueAfter: expect.any(Number) });
  });

  it('a peer’s intent this process wrote counts before the cache has it', async () => {
    const w = new FakeWorld();
    w.addRecord('a', { created: '2026-01-01T00:00:02Z' });
    const { run } = makeReconciler(w, async () => healthy);
    w.cacheLag = true;
    await run('a');
    w.jobs.remove('etcd/snapshot-save-a'); // the Job cache lags too
    w.addRecord('b', { created: '2026-01-01T00:00:01Z' });
    await run('b');
    expect(w.jobs.get('etcd/snapshot-save-b')).toBeUndefined();
  });
});

describe('pipeline reconciler: atomic groups', () => {
  it('one failure fails the whole group with its reason; a Ready member too; each removes its files', async () => {
    const w = new FakeWorld();
    w.addRecord('ok', { group: 'g', cluster: 'c1' });
    w.addRecord('bad', { group: 'g', cluster: 'c2' });
    w.addRecord('pending', { group: 'g', cluster: 'c3' });
    const { run } = makeReconciler(w, async () => healthy);
    await run('ok');
    await run('bad');
    w.finishJob('snapshot-save-ok', { complete: true, message: okSave('ok') });
    await run('ok');
    expect(w.record('ok').status?.phase).toBe('Ready');
    w.finishJob('snapshot-save-bad', { complete: false, exitCode: 12 });
    await run('bad');
    expect(w.record('bad').status).toMatchObject({ phase: 'Failed', reason: 'ETCD_QUORUM_LOST' });

    await run('ok');
    await run('pending');
    for (const name of ['ok', 'pending']) {
      expect(w.record(name).status).toMatchObject({
        phase: 'Failed',
        reason: 'ETCD_QUORUM_LOST',
        failedWith: 'bad',
      });
      expect(w.record(name).status?.message).toContain('group snapshot g failed');
    }
    // The pending one never started a save: nothing of it was made.
    expect(w.jobs.get('etcd/snapshot-save-pending')).toBeUndefined();
    // The Ready one removes its file; the pending one just lets go of its finalizer.
    await run('ok');
    expect(w.jobs.get('etcd/snapshot-delete-ok')).toBeDefined();
    await run('pending');
    expect(w.record('pending').metadata?.finalizers).toEqual([]);
  });
});

describe('pipeline reconciler: deletion', () => {
  it('deleting during a save: stop the save, wait for its pod, delete Job, then the finalizer', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(w, async () => healthy);
    await run('r1');
    const pod = w.runningPod('snapshot-save-r1');
    w.markDeleted('r1');
    w.calls.length = 0;
    await run('r1');
    expect(w.calls).toEqual(['deleteJob snapshot-save-r1']);
    // The save pod is still running: no delete Job may race it.
    await run('r1');
    expect(w.jobs.get('etcd/snapshot-delete-r1')).toBeUndefined();
    w.pods.remove(`etcd/${pod}`);
    await run('r1');
    expect(w.calls.at(-1)).toBe('createJob snapshot-delete-r1');
    await run('r1');
    expect(w.records.get('etcd/r1')).toBeDefined();
    w.finishJob('snapshot-delete-r1', {
      complete: true,
      message: JSON.stringify({ operation: 'delete', ok: true }),
    });
    await run('r1');
    expect(w.calls.at(-1)).toBe('removeFinalizer r1');
    expect(w.records.get('etcd/r1')).toBeUndefined();
    expect(metrics.calls.at(-1)?.args[0]).toMatchObject({ operation: 'delete', status: 'success' });
  });

  it('never runs a delete Job on a directory that is not the record’s own', async () => {
    const w = new FakeWorld();
    const r = w.addRecord('r1');
    w.records.upsert({
      ...r,
      spec: { ...r.spec, storage: { ...r.spec.storage, path: 'main/r1.db' } },
      status: { phase: 'Ready', backupPath: 'main/r1.db', saveJob: 'snapshot-save-r1' },
    });
    w.markDeleted('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    expect(w.jobs.size).toBe(0);
    expect(w.events.at(-1)?.event.reason).toBe('SnapshotFileNotRemoved');
    expect(w.records.get('etcd/r1')).toBeUndefined();
  });

  it('deleting a record that never started a save releases the finalizer at once', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    w.markDeleted('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    expect(w.calls).toEqual(['removeFinalizer r1']);
  });

  it('a failed delete Job is reported and replaced; the finalizer stays until one succeeds', async () => {
    const w = new FakeWorld();
    const r = w.addRecord('r1');
    w.records.upsert({
      ...r,
      status: { phase: 'Ready', backupPath: 'r1/snapshot.db', saveJob: 'snapshot-save-r1' },
    });
    w.markDeleted('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.finishJob('snapshot-delete-r1', { complete: false, exitCode: 1, message: 'EACCES' });
    await run('r1');
    expect(w.events.at(-1)?.event.reason).toBe('SnapshotDeleteFailed');
    expect(w.jobs.get('etcd/snapshot-delete-r1')).toBeUndefined();
    expect(w.record('r1').metadata?.finalizers).toEqual([FINALIZER_BACKUP_FILE]);
    await run('r1');
    expect(w.jobs.get('etcd/snapshot-delete-r1')).toBeDefined();
  });
});
