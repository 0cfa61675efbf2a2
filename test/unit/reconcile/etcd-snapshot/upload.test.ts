// A record naming an object store: the save's results written with the upload Job's name before
// that Job exists, the Job mounting the store's Secrets by name, and Ready only with the copy —
// or, best-effort, Ready with a RemoteCopyFailed condition.
import { describe, expect, it } from 'vitest';
import type { ObjectStoreRef } from '../../../../src/records/etcd-snapshot.ts';
import { FakeWorld, healthy, makeReconciler, okSave } from './fakes.ts';

const REMOTE = {
  location: 's3://backups/etcd/main/r1/',
  object: 's3://backups/etcd/main/r1/snapshot.db.zst.enc',
  manifest: 's3://backups/etcd/main/r1/manifest.json',
  sha256: 'b'.repeat(64),
  sizeBytes: 4096,
  compression: 'zstd',
  keyId: '0123456789abcdef',
};
const okUpload = JSON.stringify({ operation: 'upload', ok: true, remote: REMOTE, durationSeconds: 3.25 });
const failedUpload = JSON.stringify({
  operation: 'upload',
  ok: false,
  error: { reason: 'OBJECT_STORE_AUTH_FAILED', message: 'the store refused the credentials' },
});

const b64 = (text: string) => Buffer.from(text).toString('base64');
const STORE_DATA = {
  bucket: b64('backups'),
  endpoint: b64('http://127.0.0.1:9000'),
  forcePathStyle: b64('true'),
};
const KEY_DATA = { key: b64(Buffer.alloc(32, 7).toString('base64')) };

function worldWithStore(store: Partial<ObjectStoreRef> = {}, data: Record<string, string> = STORE_DATA) {
  const w = new FakeWorld();
  w.secrets.set('etcd/store', { data });
  w.secrets.set('etcd/key', { data: KEY_DATA });
  const r = w.addRecord('r1');
  r.spec.objectStore = {
    secretName: 'store',
    compression: 'zstd',
    compressionLevel: 3,
    encryptionKeySecret: 'key',
    mode: 'required',
    ...store,
  };
  w.records.upsert(r);
  return w;
}

async function savedRecord(store: Partial<ObjectStoreRef> = {}) {
  const w = worldWithStore(store);
  const reconciler = makeReconciler(w, async () => healthy);
  await reconciler.run('r1');
  w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
  w.calls.length = 0;
  return { w, ...reconciler };
}

describe('pipeline reconciler: upload to the object store', () => {
  it('writes the save’s results and the upload Job’s name, then creates the Job, then Ready with the copy', async () => {
    const { w, run, metrics } = await savedRecord();
    await run('r1');
    expect(w.calls).toEqual(['putStatus r1 Running/Upload']);
    expect(w.record('r1').status).toMatchObject({
      phase: 'Running',
      readyToUse: false,
      step: 'Upload',
      uploadJob: 'snapshot-upload-r1',
      checksumSha256: 'a'.repeat(64),
      sizeBytes: 20480,
      revision: 42,
    });
    expect(w.jobs.get('etcd/snapshot-upload-r1')).toBeUndefined();

    await run('r1');
    expect(w.calls).toEqual(['putStatus r1 Running/Upload', 'createJob snapshot-upload-r1']);
    const pod = w.jobs.get('etcd/snapshot-upload-r1')!.spec!.template.spec!;
    expect(pod.containers[0]!.args).toEqual([
      'agent',
      'upload',
      '--file=/snapshots/r1/snapshot.db',
      '--store-config-dir=/etc/etcd-snapshot-driver/object-store',
      '--namespace=etcd',
      '--cluster=main',
      '--snapshot=r1',
      '--encryption-key-file=/etc/etcd-snapshot-driver/encryption-key/key',
      '--compression=zstd',
      '--compression-level=3',
      // The CSI identity, for a cluster that imports the copy (docs/object-store.md).
      '--request-kind=group',
      '--request-name=req-r1',
      '--volume-snapshots=r1-m=etcd/r1-data',
    ]);
    // The Secrets by name, mounted; nothing of theirs in the env or the args.
    expect(
      pod.volumes?.map((v) => [v.name, v.secret?.secretName ?? v.persistentVolumeClaim?.claimName]),
    ).toEqual([
      ['snapshots', 'etcd-snapshots-main'],
      ['object-store', 'store'],
      ['encryption-key', 'key'],
    ]);

    // Still running: not Ready.
    await run('r1');
    expect(w.record('r1').status?.phase).toBe('Running');

    w.finishJob('snapshot-upload-r1', { complete: true, message: okUpload });
    await run('r1');
    const { manifest: _manifest, ...recorded } = REMOTE;
    expect(w.record('r1').status).toMatchObject({
      phase: 'Ready',
      readyToUse: true,
      step: 'Ready',
      checksumSha256: 'a'.repeat(64),
      remote: recorded,
    });
    expect(metrics.calls.filter((c) => c.name === 'remoteCopy').map((c) => c.args)).toEqual([
      ['etcd/main', 'success', { seconds: 3.25, storedBytes: 4096, compression: 'zstd' }],
    ]);
  });

  it('remote: required — a failed upload fails the record with the upload’s reason', async () => {
    const { w, run } = await savedRecord();
    await run('r1');
    await run('r1');
    w.finishJob('snapshot-upload-r1', { complete: false, exitCode: 17, message: failedUpload });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({
      phase: 'Failed',
      readyToUse: false,
      step: 'Upload',
      reason: 'OBJECT_STORE_AUTH_FAILED',
    });
    expect(w.record('r1').status?.remote).toBeUndefined();
  });

  it('remote: best-effort — a failed upload leaves the record Ready with RemoteCopyFailed, a Warning and the metric', async () => {
    const { w, run, metrics } = await savedRecord({ mode: 'best-effort' });
    await run('r1');
    await run('r1');
    w.finishJob('snapshot-upload-r1', { complete: false, exitCode: 17, message: failedUpload });
    await run('r1');
    const status = w.record('r1').status!;
    expect(status).toMatchObject({ phase: 'Ready', readyToUse: true, checksumSha256: 'a'.repeat(64) });
    expect(status.remote).toBeUndefined();
    expect(status.conditions).toEqual([
      {
        type: 'RemoteCopyFailed',
        status: 'True',
        reason: 'OBJECT_STORE_AUTH_FAILED',
        message: expect.stringContaining('refused the credentials'),
        lastTransitionTime: expect.any(String),
      },
    ]);
    expect(w.events.map((e) => e.event.reason)).toContain('RemoteCopyFailed');
    expect(metrics.calls.filter((c) => c.name === 'remoteCopy').map((c) => c.args)).toEqual([
      ['etcd/main', 'OBJECT_STORE_AUTH_FAILED'],
    ]);
  });

  it('an upload that reports success without a valid copy is not Ready', async () => {
    const { w, run } = await savedRecord();
    await run('r1');
    await run('r1');
    w.finishJob('snapshot-upload-r1', {
      complete: true,
      message: JSON.stringify({ operation: 'upload', ok: true, remote: { ...REMOTE, sha256: 'x' } }),
    });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({ phase: 'Failed', reason: 'SNAPSHOT_STATUS_FAILED' });
  });

  it('deleting the record stops a running upload before its directory is removed', async () => {
    const { w, run } = await savedRecord();
    await run('r1');
    await run('r1');
    w.markDeleted('r1');
    w.calls.length = 0;
    await run('r1');
    expect(w.calls).toContain('deleteJob snapshot-upload-r1');
  });

  it.each([
    [
      'a missing store Secret',
      { secretName: 'nope' },
      STORE_DATA,
      'OBJECT_STORE_CONFIG_INVALID',
      /etcd\/nope does not exist/,
    ],
    [
      'a store Secret with a bad key',
      {},
      { ...STORE_DATA, partSizeMiB: b64('1') },
      'OBJECT_STORE_CONFIG_INVALID',
      /"partSizeMiB" = "1"/,
    ],
    [
      'a store Secret without a bucket',
      {},
      { endpoint: STORE_DATA.endpoint },
      'OBJECT_STORE_CONFIG_INVALID',
      /"bucket" is required/,
    ],
    [
      'a missing key Secret',
      { encryptionKeySecret: 'nokey' },
      STORE_DATA,
      'OBJECT_STORE_KEY_INVALID',
      /etcd\/nokey does not exist/,
    ],
  ])(
    '%s fails the record at ResolveCredentials, before any save Job',
    async (_what, store, data, reason, message) => {
      const w = worldWithStore(store, data);
      const { run } = makeReconciler(w, async () => healthy);
      await run('r1');
      expect(w.record('r1').status).toMatchObject({ phase: 'Failed', step: 'ResolveCredentials', reason });
      expect(w.record('r1').status?.message).toMatch(message);
      expect(w.jobs.get('etcd/snapshot-save-r1')).toBeUndefined();
    },
  );

  it('a malformed encryption key is refused without being quoted', async () => {
    const w = worldWithStore();
    w.secrets.set('etcd/key', { data: { key: b64('c2VjcmV0LWJ1dC10b28tc2hvcnQ=') } });
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    expect(w.record('r1').status).toMatchObject({ phase: 'Failed', reason: 'OBJECT_STORE_KEY_INVALID' });
    expect(w.record('r1').status?.message).not.toContain('c2VjcmV0');
  });

  it('a record without a store is Ready from the save, with no upload', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({ phase: 'Ready' });
    expect(w.record('r1').status?.uploadJob).toBeUndefined();
  });

  it('an imported record is never saved, and its deletion releases it at once, remote copy untouched', async () => {
    const w = worldWithStore();
    const r = w.record('r1');
    r.spec.imported = { secretName: 'store', importedAt: '2026-01-01T00:00:00Z' };
    w.records.upsert(r);
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    expect(w.calls).toEqual([]);
    expect(w.record('r1').status).toBeUndefined();

    const deleting = w.record('r1');
    deleting.metadata!.deletionTimestamp = '2026-01-02T00:00:00Z';
    deleting.metadata!.finalizers = ['snapshot.etcd-snapshot-driver.io/backup-file'];
    w.records.upsert(deleting);
    await run('r1');
    // No Job of any kind (no delete of a local file that was never there, no remote delete).
    expect(w.calls.filter((c) => c.startsWith('createJob'))).toEqual([]);
    expect(w.calls.some((c) => c.startsWith('removeFinalizer'))).toBe(true);
  });
});
