// Deleting a record whose snapshot was copied to an object store removes both places: one delete
// Job runs `agent delete --remote --dir` with the store Secret mounted, the finalizer goes only
// when it succeeded, and a store refusal stays visible on the record (FilesRemoved=False with the
// agent's reason, a Warning Event) while the retries back off.
import { describe, expect, it } from 'vitest';
import {
  CONDITION_FILES_REMOVED,
  deleteRetryDelay,
  MAX_DELETE_RETRY_MS,
  withDeleteBlocked,
} from '../../../../src/reconcile/etcd-snapshot/delete-blocked.ts';
import { type EtcdSnapshotStatus, FINALIZER_BACKUP_FILE } from '../../../../src/records/etcd-snapshot.ts';
import { FakeWorld, healthy, makeReconciler } from './fakes.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const STORE_DATA = { bucket: b64('backups'), endpoint: b64('http://127.0.0.1:9000') };
const REMOTE = {
  location: 's3://backups/etcd/main/r1/',
  object: 's3://backups/etcd/main/r1/snapshot-x.db.zst',
  sha256: 'b'.repeat(64),
  sizeBytes: 4096,
  compression: 'zstd' as const,
};
const refused = JSON.stringify({
  operation: 'delete',
  ok: false,
  error: { reason: 'OBJECT_STORE_AUTH_FAILED', message: 'the store refused the credentials' },
});
const deleted = JSON.stringify({
  operation: 'delete',
  ok: true,
  file: '/snapshots/r1',
  remoteDelete: { location: REMOTE.location, manifestFound: true, objectsDeleted: 2, uploadsAborted: 0 },
});

function world(status: EtcdSnapshotStatus, options: { secret?: boolean } = {}) {
  const w = new FakeWorld();
  if (options.secret !== false) w.secrets.set('etcd/store', { data: STORE_DATA });
  const r = w.addRecord('r1');
  r.spec.objectStore = {
    secretName: 'store',
    compression: 'zstd',
    encryptionKeySecret: 'key',
    mode: 'required',
  };
  w.records.upsert({ ...r, status });
  return w;
}

const readyWithCopy: EtcdSnapshotStatus = {
  phase: 'Ready',
  readyToUse: true,
  backupPath: 'r1/snapshot.db',
  saveJob: 'snapshot-save-r1',
  uploadJob: 'snapshot-upload-r1',
  remote: REMOTE,
};

describe('pipeline reconciler: deleting a snapshot with a remote copy', () => {
  it('one delete Job removes the remote copy and the directory; then the finalizer goes', async () => {
    const w = world(readyWithCopy);
    w.markDeleted('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    // The store Secret is checked before the Job that mounts it.
    expect(w.calls).toEqual(['getSecret etcd/store', 'createJob snapshot-delete-r1']);
    const pod = w.jobs.get('etcd/snapshot-delete-r1')!.spec!.template.spec!;
    expect(pod.containers[0]!.args).toEqual([
      'agent',
      'delete',
      '--remote',
      '--store-config-dir=/etc/etcd-snapshot-driver/object-store',
      '--namespace=etcd',
      '--cluster=main',
      '--snapshot=r1',
      '--dir=/snapshots/r1',
    ]);
    // The store Secret by name; never the encryption key (deleting decrypts nothing).
    expect(
      pod.volumes?.map((v) => [v.name, v.secret?.secretName ?? v.persistentVolumeClaim?.claimName]),
    ).toEqual([
      ['snapshots', 'etcd-snapshots-main'],
      ['object-store', 'store'],
    ]);
    await run('r1');
    expect(w.record('r1').metadata?.finalizers).toEqual([FINALIZER_BACKUP_FILE]);
    w.finishJob('snapshot-delete-r1', { complete: true, message: deleted });
    await run('r1');
    expect(w.calls.at(-1)).toBe('removeFinalizer r1');
  });

  it('an imported record: deleting it removes only the local directory, never the other cluster’s copy', async () => {
    const w = world({ ...readyWithCopy, saveJob: undefined, uploadJob: undefined });
    const r = w.record('r1');
    w.records.upsert({
      ...r,
      spec: { ...r.spec, imported: { secretName: 'store', importedAt: '2026-12-01T00:00:00Z' } },
    });
    w.markDeleted('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    const pod = w.jobs.get('etcd/snapshot-delete-r1')!.spec!.template.spec!;
    expect(pod.containers[0]!.args).toEqual(['agent', 'delete', '--dir=/snapshots/r1']);
    expect(pod.volumes?.map((v) => v.name)).toEqual(['snapshots']);
    expect(w.calls).not.toContain('getSecret etcd/store');
  });

  it('a store refusal: FilesRemoved=False with the agent’s reason, a Warning, the finalizer kept, a new Job after a pause', async () => {
    const w = world(readyWithCopy);
    w.markDeleted('r1');
    const { run, metrics } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.finishJob('snapshot-delete-r1', { complete: false, exitCode: 17, message: refused });
    const result = await run('r1');
    const status = w.record('r1').status!;
    expect(status.conditions).toEqual([
      {
        type: CONDITION_FILES_REMOVED,
        status: 'False',
        reason: 'OBJECT_STORE_AUTH_FAILED',
        message: 'the store refused the credentials',
        lastTransitionTime: expect.any(String),
      },
    ]);
    expect(status).toMatchObject({ reason: 'OBJECT_STORE_AUTH_FAILED', remote: REMOTE });
    expect(w.events.at(-1)?.event).toMatchObject({
      type: 'Warning',
      reason: 'SnapshotDeleteFailed',
      message: 'OBJECT_STORE_AUTH_FAILED: the store refused the credentials',
    });
    expect(metrics.calls.find((c) => c.name === 'operationFinished')?.args[0]).toMatchObject({
      operation: 'delete',
      status: 'OBJECT_STORE_AUTH_FAILED',
    });
    expect(result.requeueAfter).toBeGreaterThanOrEqual(30_000);
    expect(w.jobs.get('etcd/snapshot-delete-r1')).toBeUndefined();
    expect(w.record('r1').metadata?.finalizers).toEqual([FINALIZER_BACKUP_FILE]);

    // The store answers again: the next attempt ends it.
    await run('r1');
    w.finishJob('snapshot-delete-r1', { complete: true, message: deleted });
    await run('r1');
    expect(w.calls.at(-1)).toBe('removeFinalizer r1');
  });

  it('a missing store Secret: no Job (its pod would wait for the volume), the reason on the record', async () => {
    const w = world(readyWithCopy, { secret: false });
    w.markDeleted('r1');
    const { run } = makeReconciler(w, async () => healthy);
    const result = await run('r1');
    expect(w.jobs.get('etcd/snapshot-delete-r1')).toBeUndefined();
    expect(w.record('r1').status).toMatchObject({
      reason: 'OBJECT_STORE_CONFIG_INVALID',
      message: 'object store Secret etcd/store does not exist',
    });
    expect(w.events.at(-1)?.event.message).toMatch(/^OBJECT_STORE_CONFIG_INVALID: /);
    expect(result.requeueAfter).toBeGreaterThan(0);
    expect(w.record('r1').metadata?.finalizers).toEqual([FINALIZER_BACKUP_FILE]);

    w.secrets.set('etcd/store', { data: STORE_DATA });
    await run('r1');
    expect(w.jobs.get('etcd/snapshot-delete-r1')).toBeDefined();
  });

  it('a record failed at its upload is cleaned up in both places, keeping the reason it failed with', async () => {
    const w = world({
      phase: 'Failed',
      step: 'Upload',
      reason: 'OBJECT_STORE_UNREACHABLE',
      message: 'no answer',
      backupPath: 'r1/snapshot.db',
      saveJob: 'snapshot-save-r1',
      uploadJob: 'snapshot-upload-r1',
    });
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    expect(w.jobs.get('etcd/snapshot-delete-r1')!.spec!.template.spec!.containers[0]!.args).toContain(
      '--remote',
    );
    w.finishJob('snapshot-delete-r1', { complete: false, exitCode: 17, message: refused });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({
      phase: 'Failed',
      reason: 'OBJECT_STORE_UNREACHABLE',
      conditions: [
        expect.objectContaining({ type: CONDITION_FILES_REMOVED, reason: 'OBJECT_STORE_AUTH_FAILED' }),
      ],
    });
  });

  it('a record naming a store whose save never got to the upload deletes its directory only', async () => {
    const w = world({
      phase: 'Failed',
      step: 'AwaitJob',
      reason: 'JOB_TIMEOUT',
      saveJob: 'snapshot-save-r1',
    });
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    const pod = w.jobs.get('etcd/snapshot-delete-r1')!.spec!.template.spec!;
    expect(pod.containers[0]!.args).toEqual(['agent', 'delete', '--dir=/snapshots/r1']);
    expect(pod.volumes?.map((v) => v.name)).toEqual(['snapshots']);
  });
});

describe('delete retries back off', () => {
  const now = new Date('2026-01-01T01:00:00Z');
  const failingSince = (ms: number) =>
    withDeleteBlocked({ phase: 'Ready' }, 'OBJECT_STORE_UNREACHABLE', 'x', new Date(now.getTime() - ms));

  it('the pause is as long as the delete has been failing: at least the base, at most five minutes', () => {
    expect(deleteRetryDelay(undefined, now, 30_000)).toBe(30_000);
    expect(deleteRetryDelay(failingSince(10_000), now, 30_000)).toBe(30_000);
    expect(deleteRetryDelay(failingSince(120_000), now, 30_000)).toBe(120_000);
    expect(deleteRetryDelay(failingSince(3_600_000), now, 30_000)).toBe(MAX_DELETE_RETRY_MS);
  });

  it('the condition keeps when the trouble began while it lasts', () => {
    const first = failingSince(60_000);
    const again = withDeleteBlocked(first, 'OBJECT_STORE_AUTH_FAILED', 'y', now);
    expect(again.conditions?.[0]?.lastTransitionTime).toBe(first.conditions?.[0]?.lastTransitionTime);
    expect(again).toMatchObject({ reason: 'OBJECT_STORE_AUTH_FAILED', message: 'y' });
  });
});
