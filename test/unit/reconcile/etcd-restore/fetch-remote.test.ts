// FetchRemote: a restore from a remote copy (spec.source.objectStore, or an imported record with
// no local file) fetches and verifies it in a Job before anything else; a fetch that fails ends
// the restore with the Job's reason and the cluster never scaled; the spec's fields are checked
// with errors naming them.
import { describe, expect, it } from 'vitest';
import { fetchJobName, verifyJobName } from '../../../../src/reconcile/etcd-restore/jobs.ts';
import { flowOf } from '../../../../src/reconcile/etcd-restore/phase-choice.ts';
import type { EtcdRestoreObjectStoreSource } from '../../../../src/records/etcd-restore.ts';
import { restrictedViolations } from '../jobs/pod-security.ts';
import { NS, okResult, RestoreWorld, reconcilerFor, SHA } from './fakes.ts';
import { until } from './steps.ts';

const FETCHED = 'b'.repeat(64);
const store: EtcdRestoreObjectStoreSource = {
  secretName: 'store',
  encryptionKeySecret: 'store-key',
  namespace: 'prod',
  cluster: 'main',
  snapshot: 'nightly-1',
};

function remoteWorld(source: Partial<EtcdRestoreObjectStoreSource> = {}, snapshotClaim = true): RestoreWorld {
  const w = new RestoreWorld();
  w.addCluster();
  if (snapshotClaim)
    w.claims.upsert({
      metadata: { name: 'etcd-snapshots-main', namespace: NS, resourceVersion: w.next() },
      spec: { resources: { requests: { storage: '1Gi' } } },
    });
  w.addRestore({ source: { objectStore: { ...store, ...source } } });
  return w;
}

const fetchedResult = okResult('verify', {
  sha256: FETCHED,
  sizeBytes: 40960,
  revision: 700,
  etcdVersion: '3.6.0',
  fetched: 'downloaded',
  remote: { object: 's3://b/prod/main/nightly-1/snapshot.db.zst.enc' },
});

describe('restore from a remote copy', () => {
  it('fetches into the snapshot claim in a Job, then validates from what it read and re-reads it', async () => {
    const w = remoteWorld();
    const { run } = reconcilerFor(w);
    await until(w, run, 'FetchingRemote');
    await run();
    expect(w.jobNames()).toEqual([fetchJobName('r1')]);
    const job = w.jobs.get(`${NS}/${fetchJobName('r1')}`)!;
    expect(restrictedViolations(job)).toEqual([]);
    expect(job.spec?.template?.spec?.containers?.[0]?.args).toEqual([
      'agent',
      'verify',
      '--remote',
      '--store-config-dir=/etc/etcd-snapshot-driver/object-store',
      '--namespace=prod',
      '--cluster=main',
      '--snapshot=nightly-1',
      '--encryption-key-file=/etc/etcd-snapshot-driver/encryption-key/key',
      '--out=/snapshots/restore-r1/snapshot.db',
    ]);
    const volumes = job.spec?.template?.spec?.volumes ?? [];
    expect(volumes.map((v) => v.persistentVolumeClaim?.claimName ?? v.secret?.secretName)).toEqual([
      'etcd-snapshots-main',
      'store',
      'store-key',
    ]);
    // The snapshot claim is written to: not read-only, unlike the verify and restore Jobs' mount.
    const mounts = job.spec?.template?.spec?.containers?.[0]?.volumeMounts ?? [];
    expect(mounts.find((m) => m.mountPath === '/snapshots')?.readOnly).toBeFalsy();

    w.finishJob(fetchJobName('r1'), true, fetchedResult);
    await until(w, run, 'VerifyingFile');
    const s = w.restore().status!;
    expect(s.snapshot).toEqual({
      record: '',
      revision: 700,
      checksumSha256: FETCHED,
      sizeBytes: 40960,
      etcdVersion: '3.6.0',
      claimName: 'etcd-snapshots-main',
      path: 'restore-r1/snapshot.db',
    });
    expect(s.fetch?.fetched).toMatchObject({ sha256: FETCHED, revision: 700 });
    expect(w.calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    expect(w.events.map((e) => e.reason)).toEqual(['FetchingRemote', 'Validating', 'VerifyingFile']);

    await run();
    const verify = w.jobs.get(`${NS}/${verifyJobName('r1')}`)!;
    expect(verify.spec?.template?.spec?.containers?.[0]?.args).toContain(
      '--file=/snapshots/restore-r1/snapshot.db',
    );
    w.finishJob(verifyJobName('r1'), true, okResult('verify', { sha256: FETCHED }));
    await until(w, run, 'Restoring');
  });

  it('a failed fetch fails the restore with the Job reason; the cluster was never touched', async () => {
    const w = remoteWorld();
    const { run } = reconcilerFor(w);
    await until(w, run, 'FetchingRemote');
    await run();
    w.finishJob(fetchJobName('r1'), false, {
      operation: 'verify',
      ok: false,
      error: {
        reason: 'CHECKSUM_MISMATCH',
        message: 'object is 10 bytes with SHA-256 x; its manifest records y',
      },
    });
    await until(w, run, 'Failed');
    const s = w.restore().status!;
    expect(s.reason).toBe('CHECKSUM_MISMATCH');
    expect(s.failedPhase).toBe('FetchingRemote');
    expect(s.message).toContain('nothing on the cluster was changed');
    expect(w.calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    expect(s.recordedReplicas).toBeUndefined();
  });

  it.each([
    [{ cluster: 'Main' }, 'spec.source.objectStore.cluster "Main" is not a Kubernetes object name'],
    [{ snapshot: '' }, 'spec.source.objectStore.snapshot "" is not'],
    [{ secretName: 'a_b' }, 'spec.source.objectStore.secretName "a_b" is not a Kubernetes object name'],
    [{ claimName: 'X' }, 'spec.source.objectStore.claimName "X" is not'],
  ])('refuses %j naming the field', async (bad, message) => {
    const w = remoteWorld(bad);
    await until(w, reconcilerFor(w).run, 'Failed');
    expect(w.restore().status).toMatchObject({
      reason: 'RESTORE_INVALID_SPEC',
      message: expect.stringContaining(message),
    });
    expect(w.jobNames()).toEqual([]);
  });

  it('refuses two sources, and a snapshot claim that does not exist', async () => {
    const w = new RestoreWorld();
    w.addCluster();
    w.addRestore({ source: { objectStore: store, etcdSnapshot: { name: 'snap' } } });
    await until(w, reconcilerFor(w).run, 'Failed');
    expect(w.restore().status?.message).toContain(
      'exactly one of etcdSnapshot, volumeSnapshot, volumeGroupSnapshot, objectStore (2 set)',
    );

    const noClaim = remoteWorld({}, false);
    await until(noClaim, reconcilerFor(noClaim).run, 'Failed');
    expect(noClaim.restore().status).toMatchObject({
      reason: 'RESTORE_SNAPSHOT_NOT_READY',
      message: expect.stringContaining(
        'the snapshot claim etcd/etcd-snapshots-main to fetch the remote copy into',
      ),
    });
  });

  it('makes a snapshot claim that is not there (a new cluster) as the pipeline would, then fetches into it', async () => {
    const w = remoteWorld({ claimName: 'etcd-snapshots-dr' }, false);
    const { run } = reconcilerFor(w, { restore: { snapshotClaim: { defaultStorageClass: 'fast' } } });
    await until(w, run, 'FetchingRemote');
    expect(w.calls.filter((c) => c.startsWith('create'))).toEqual(['createClaim etcd-snapshots-dr']);
    expect(w.claims.get(`${NS}/etcd-snapshots-dr`)?.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      resources: { requests: { storage: '1Gi' } },
    });
    await run();
    const job = w.jobs.get(`${NS}/${fetchJobName('r1')}`)!;
    expect(job.spec?.template?.spec?.volumes?.[0]?.persistentVolumeClaim?.claimName).toBe(
      'etcd-snapshots-dr',
    );
  });

  it('an imported record is fetched to its own place and must read with its checksum', async () => {
    const w = new RestoreWorld();
    w.addCluster();
    w.claims.upsert({ metadata: { name: 'etcd-snapshots-main', namespace: NS, resourceVersion: w.next() } });
    w.addRecord('snap', {
      remote: {
        location: 's3://b/etcd/main/snap/',
        object: 's3://b/etcd/main/snap/snapshot.db',
        sha256: FETCHED,
        sizeBytes: 20480,
        compression: 'none',
      },
    });
    const record = w.records.get(`${NS}/snap`)!;
    w.records.upsert({
      ...record,
      spec: { ...record.spec, imported: { secretName: 'store', importedAt: '2026-01-02T00:00:00Z' } },
    });
    w.addRestore();
    const { run } = reconcilerFor(w);
    await until(w, run, 'FetchingRemote');
    expect(w.restore().status?.fetch).toMatchObject({
      secretName: 'store',
      namespace: NS,
      cluster: 'main',
      snapshot: 'snap',
      claimName: 'etcd-snapshots-main',
      path: 'snap/snapshot.db',
      expectedSha256: SHA,
    });
    await run();
    w.finishJob(fetchJobName('r1'), true, { ...fetchedResult, sha256: FETCHED });
    await until(w, run, 'Failed');
    expect(w.restore().status).toMatchObject({
      reason: 'CHECKSUM_MISMATCH',
      failedPhase: 'FetchingRemote',
      message: expect.stringContaining(`the record snap holds ${SHA}`),
    });
  });

  function importedEncryptedWorld(): RestoreWorld {
    const w = new RestoreWorld();
    w.addCluster();
    w.addRecord('snap', {
      remote: {
        location: 'l',
        object: 'o',
        sha256: FETCHED,
        sizeBytes: 1,
        compression: 'none',
        keyId: '0123456789abcdef',
      },
    });
    const record = w.records.get(`${NS}/snap`)!;
    w.records.upsert({ ...record, spec: { ...record.spec, imported: { secretName: 's', importedAt: 'x' } } });
    w.claims.upsert({
      metadata: { name: 'etcd-snapshots-main', namespace: NS, resourceVersion: w.next() },
      spec: { resources: { requests: { storage: '1Gi' } } },
    });
    return w;
  }

  it('an imported encrypted copy without a key Secret fails, naming the field to set', async () => {
    const w = importedEncryptedWorld();
    w.addRestore();
    await until(w, reconcilerFor(w).run, 'Failed');
    expect(w.restore().status).toMatchObject({
      reason: 'OBJECT_STORE_KEY_INVALID',
      message: expect.stringContaining('key id 0123456789abcdef'),
    });
    expect(w.restore().status?.message).toContain('spec.source.etcdSnapshot.encryptionKeySecret');
  });

  it('an imported encrypted copy is fetched with the key Secret the restore names (the manifest names none)', async () => {
    const w = importedEncryptedWorld();
    w.addRestore({ source: { etcdSnapshot: { name: 'snap', encryptionKeySecret: 'copy-key' } } });
    const { run } = reconcilerFor(w);
    await until(w, run, 'FetchingRemote');
    expect(w.restore().status?.fetch).toMatchObject({ secretName: 's', encryptionKeySecret: 'copy-key' });
    await run();
    const job = w.jobs.get(`${NS}/${fetchJobName('r1')}`)!;
    const volumes = job.spec?.template?.spec?.volumes ?? [];
    expect(volumes.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(['s', 'copy-key']);
    expect(job.spec?.template?.spec?.containers?.[0]?.args).toContain(
      '--encryption-key-file=/etc/etcd-snapshot-driver/encryption-key/key',
    );
  });

  it('a key Secret that is not an object name is refused, naming the field', async () => {
    const w = importedEncryptedWorld();
    w.addRestore({ source: { etcdSnapshot: { name: 'snap', encryptionKeySecret: 'Not_A_Name' } } });
    await until(w, reconcilerFor(w).run, 'Failed');
    expect(w.restore().status).toMatchObject({
      reason: 'RESTORE_INVALID_SPEC',
      message: expect.stringContaining('spec.source.etcdSnapshot.encryptionKeySecret "Not_A_Name"'),
    });
  });

  it('a reconciler restarted at every step of the fetch starts one fetch Job and goes on', async () => {
    const w = remoteWorld();
    const fresh = () => reconcilerFor(w).run();
    await until(w, fresh, 'FetchingRemote');
    for (let i = 0; i < 3; i++) await fresh();
    expect(w.calls.filter((c) => c.startsWith('createJob'))).toEqual([`createJob ${fetchJobName('r1')}`]);
    w.finishJob(fetchJobName('r1'), true, { ...fetchedResult, fetched: 'already-present' });
    await until(w, fresh, 'VerifyingFile');
    expect(w.calls.filter((c) => c.startsWith('createJob'))).toEqual([`createJob ${fetchJobName('r1')}`]);
  });

  it('a restore in FetchingRemote resumes its fetch', () => {
    expect(
      flowOf({ spec: { source: {}, target: { cluster: 'c' } }, status: { phase: 'FetchingRemote' } }),
    ).toBe('fetch-remote');
  });
});
