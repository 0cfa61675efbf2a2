// The CSI restore door over fakes: CreateVolume from a snapshot creates one EtcdRestore however
// often it is called, answers ABORTED until the restore completes, then the volume (with its
// content source); a restore that failed answers its final code; a claim that names no
// restorable target is refused with nothing written.
import { describe, expect, it } from 'vitest';
import { restoreNameOf } from '../../../src/csi/restore-door.ts';
import { restoreFinalizerOf } from '../../../src/csi/restore-hold.ts';
import { decideRestoreTarget, restoreVerdict } from '../../../src/csi/restore-rules.ts';
import type { EtcdRestore, EtcdRestoreStatus } from '../../../src/records/etcd-restore.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { addClaim, world } from './fakes.ts';
import {
  createVolume,
  engineWaiting,
  failure,
  fromSnapshot,
  readySnapshot,
  restores,
  setStatus,
} from './restore-fixtures.ts';

describe('CreateVolume from a snapshot (the restore door)', () => {
  it('creates one EtcdRestore across retries, ABORTED until Completed, then the volume with its content source', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    addClaim(w, 'restored', { cluster: 'main', phase: 'Pending' });

    for (let i = 0; i < 3; i++) {
      const answer = await failure(createVolume(w, fromSnapshot(snapshotId)));
      expect(answer).toMatchObject({ reason: 'VOLUME_RESTORE_IN_PROGRESS', code: 'ABORTED' });
      expect(answer.message).toMatch(
        /^restore in progress: EtcdRestore default\/restore-[a-z2-7]{20} into cluster main is Pending/,
      );
    }
    expect(w.restoresApi.writes).toBe(1);
    const [restore] = restores(w);
    const [record] = [...w.snapshotsApi.objects.values()];
    expect(restore!.metadata).toMatchObject({
      name: restoreNameOf('pvc-0b5e3c1a'),
      namespace: 'default',
      labels: { 'snapshot.etcd-snapshot-driver.io/restore-volume-name': 'pvc-0b5e3c1a' },
      finalizers: [restoreFinalizerOf('pvc-0b5e3c1a')],
      annotations: { 'snapshot.etcd-snapshot-driver.io/traceparent': expect.stringMatching(/^00-/) },
    });
    expect(restore!.spec).toEqual({
      source: { etcdSnapshot: { name: record!.metadata!.name } },
      target: { cluster: 'main' },
    });
    expect(w.volumesApi.writes).toBe(0);

    // What the restore waits for, as the engine itself writes it (its Waiting condition), is told
    // to the caller.
    setStatus(
      w,
      await engineWaiting(
        restore!,
        'Validating',
        'TargetNotFound',
        'waiting up to 600s for the StatefulSet main',
      ),
    );
    expect((await failure(createVolume(w, fromSnapshot(snapshotId)))).message).toContain(
      'is Validating (waiting up to 600s for the StatefulSet main); retry',
    );

    setStatus(w, { phase: 'Completed' });
    const { volume } = await createVolume(w, fromSnapshot(snapshotId));
    expect(volume).toMatchObject({
      volume_id: 'default/restored',
      capacity_bytes: 1024 ** 2,
      volume_context: { 'etcd-namespace': 'default', 'etcd-cluster-name': 'main' },
      content_source: { snapshot: { snapshot_id: snapshotId } },
    });
    const [made] = [...w.volumesApi.objects.values()];
    expect(made!.spec.contentSource).toEqual({ snapshotId, restore: restore!.metadata!.name });
    // The volume is recorded: the restore need not be remembered for it any more.
    expect(restores(w)[0]!.metadata?.finalizers).toEqual([]);

    // Repeated: the same answer from the volume record, no write, no second restore.
    const writes = w.restoresApi.writes + w.volumesApi.writes;
    expect((await createVolume(w, fromSnapshot(snapshotId))).volume).toEqual(volume);
    expect(w.restoresApi.writes + w.volumesApi.writes).toBe(writes);
    expect(restores(w)).toHaveLength(1);
    // The same name without a source, or from another snapshot, is another volume.
    const noSource = { ...fromSnapshot(snapshotId), volume_content_source: null };
    expect((await failure(createVolume(w, noSource))).reason).toBe('VOLUME_ALREADY_EXISTS');
  });

  it('the claims of one Velero restore share one EtcdRestore of their cluster; another Velero restore gets its own', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    const velero = (restore: string, claim: string) =>
      w.stores.persistentVolumeClaims.upsert({
        metadata: {
          name: claim,
          namespace: 'default',
          annotations: { 'etcd.io/cluster': 'main' },
          labels: { 'velero.io/restore-name': restore },
        },
        status: { phase: 'Pending' },
      });
    velero('nightly-1', 'member-a');
    velero('nightly-1', 'member-b');
    const a = { ...fromSnapshot(snapshotId, 'member-a'), name: 'pvc-a' };
    const b = { ...fromSnapshot(snapshotId, 'member-b'), name: 'pvc-b' };
    expect((await failure(createVolume(w, a))).reason).toBe('VOLUME_RESTORE_IN_PROGRESS');
    expect((await failure(createVolume(w, b))).reason).toBe('VOLUME_RESTORE_IN_PROGRESS');
    expect(restores(w)).toHaveLength(1);

    setStatus(w, { phase: 'Completed' });
    expect((await createVolume(w, a)).volume.volume_id).toBe('default/member-a');
    expect((await createVolume(w, b)).volume.volume_id).toBe('default/member-b');

    velero('nightly-2', 'member-c');
    const c = { ...fromSnapshot(snapshotId, 'member-c'), name: 'pvc-c' };
    expect((await failure(createVolume(w, c))).reason).toBe('VOLUME_RESTORE_IN_PROGRESS');
    expect(restores(w)).toHaveLength(2);
  });

  it('a Failed or RolledBack restore answers its own final code; an unknown reason VOLUME_RESTORE_FAILED', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    addClaim(w, 'restored', { cluster: 'main', phase: 'Pending' });
    await failure(createVolume(w, fromSnapshot(snapshotId)));

    setStatus(w, {
      phase: 'Failed',
      failedPhase: 'VerifyingFile',
      reason: 'CHECKSUM_MISMATCH',
      message: 'sha256 differs',
    });
    const failed = await failure(createVolume(w, fromSnapshot(snapshotId)));
    expect(failed).toMatchObject({ reason: 'CHECKSUM_MISMATCH', code: 'INTERNAL' });
    expect(failed.message).toMatch(/ended Failed in VerifyingFile: sha256 differs$/);

    setStatus(w, {
      phase: 'RolledBack',
      reason: 'RESTORE_VERIFICATION_FAILED_X',
      message: 'key count 0, want 7',
    });
    const rolledBack = await failure(createVolume(w, fromSnapshot(snapshotId)));
    expect(rolledBack).toMatchObject({ reason: 'VOLUME_RESTORE_FAILED', code: 'INTERNAL' });
    expect(rolledBack.message).toContain('RESTORE_VERIFICATION_FAILED_X: key count 0, want 7');
    expect(rolledBack.message).toContain('runs on its previous data');
    expect(restores(w)).toHaveLength(1);
    expect(w.volumesApi.writes).toBe(0);

    // A reason whose own code csi-provisioner would retry as still in progress answers a final one.
    setStatus(w, { phase: 'RolledBack', reason: 'RESTORE_QUIESCE_TIMEOUT', message: 'pods did not go' });
    const timedOut = await failure(createVolume(w, fromSnapshot(snapshotId)));
    expect(timedOut).toMatchObject({ reason: 'VOLUME_RESTORE_FAILED', code: 'INTERNAL' });
    expect(timedOut.message).toContain('RESTORE_QUIESCE_TIMEOUT: pods did not go');
  });

  it('refuses a data-mover-style claim in another namespace, and claims that name no cluster, writing nothing', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    // Velero's backup PVC: in its own namespace, of the same class, no etcd.io annotations.
    addClaim(w, 'backup-pvc', { namespace: 'velero' });
    const moved = await failure(createVolume(w, fromSnapshot(snapshotId, 'backup-pvc', 'velero')));
    expect(moved).toMatchObject({ reason: 'RESTORE_TARGET_UNKNOWN', code: 'FAILED_PRECONDITION' });
    expect(moved.message).toContain('claim "velero/backup-pvc" is in namespace "velero", not default');
    expect(moved.message).toContain('nothing was restored');

    // In the right namespace but naming no cluster: the class parameter does not count.
    addClaim(w, 'bare');
    const bare = await failure(
      createVolume(w, fromSnapshot(snapshotId, 'bare', 'default', { 'etcd-cluster-name': 'main' })),
    );
    expect(bare.reason).toBe('RESTORE_TARGET_UNKNOWN');
    expect(bare.message).toContain('annotate or label it etcd.io/cluster=<StatefulSet>');

    addClaim(w, 'endpoints', { annotations: { 'etcd.io/endpoints': 'http://10.0.0.10:2379' } });
    expect((await failure(createVolume(w, fromSnapshot(snapshotId, 'endpoints')))).message).toContain(
      'etcd.io/endpoints names no StatefulSet',
    );

    const noClaim = await failure(createVolume(w, { ...fromSnapshot(snapshotId), parameters: {} }));
    expect(noClaim.reason).toBe('RESTORE_TARGET_UNKNOWN');
    expect(noClaim.message).toContain('names no claim');

    expect(w.restoresApi.calls).toBe(0);
    expect(w.volumesApi.writes).toBe(0);
  });

  it('refuses a snapshot that is not Ready, an unknown snapshot and a clone, writing nothing', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w, false);
    addClaim(w, 'restored', { cluster: 'main', phase: 'Pending' });
    const notReady = await failure(createVolume(w, fromSnapshot(snapshotId)));
    expect(notReady).toMatchObject({ reason: 'VOLUME_SOURCE_NOT_READY', code: 'FAILED_PRECONDITION' });
    expect(notReady.message).toContain('is Pending, not Ready');
    expect((await failure(createVolume(w, fromSnapshot('snap-unknown')))).code).toBe('NOT_FOUND');

    const clone = await failure(
      createVolume(w, {
        ...fromSnapshot(snapshotId),
        volume_content_source: { volume: { volume_id: 'default/data' }, type: 'volume' },
      }),
    );
    expect(clone).toMatchObject({ reason: 'VOLUME_CONTENT_SOURCE_UNSUPPORTED', code: 'INVALID_ARGUMENT' });
    expect(clone.message).toContain('cloning a volume is not supported');
    expect(w.restoresApi.calls).toBe(0);
  });
});

describe('decideRestoreTarget and restoreVerdict', () => {
  const snapshot = {
    metadata: { name: 'main-abc', namespace: 'etcd' },
    spec: { cluster: { key: 'etcd/main', namespace: 'etcd', name: 'main' } },
  } as unknown as EtcdSnapshot;
  const claim = (annotations: Record<string, string>, labels: Record<string, string> = {}) => ({
    metadata: { name: 'c', namespace: 'etcd', annotations, labels },
  });

  it('the cluster the claim names, by annotation or label, in the snapshot namespace: also another cluster (a restore into a new one)', () => {
    const base = { snapshot, snapshotId: 's', claimKey: { namespace: 'etcd', name: 'c' } };
    expect(decideRestoreTarget({ ...base, claim: claim({ 'etcd.io/cluster': 'main' }) })).toEqual({
      namespace: 'etcd',
      cluster: 'main',
    });
    expect(decideRestoreTarget({ ...base, claim: claim({}, { 'etcd.io/cluster': 'copy' }) })).toEqual({
      namespace: 'etcd',
      cluster: 'copy',
    });
    expect(decideRestoreTarget(base)).toMatchObject({ reason: 'claim-not-cached' });
    expect(
      decideRestoreTarget({ ...base, etcdNamespace: 'other', claim: claim({ 'etcd.io/cluster': 'main' }) }),
    ).toMatchObject({ reason: 'no-target', missing: expect.stringContaining('etcd-namespace="other"') });
    expect(decideRestoreTarget({ ...base, claim: claim({ 'etcd.io/cluster': 'Not_A_Name' }) })).toMatchObject(
      {
        reason: 'no-target',
        missing: expect.stringContaining('is not a StatefulSet name'),
      },
    );
  });

  it('every phase before Completed is in progress; Completed is the volume', () => {
    const restore = (phase?: EtcdRestoreStatus['phase']): EtcdRestore => ({
      metadata: { name: 'r', namespace: 'etcd' },
      spec: { source: { etcdSnapshot: { name: 'x' } }, target: { cluster: 'main' } },
      ...(phase ? { status: { phase } } : {}),
    });
    for (const phase of [undefined, 'Pending', 'Validating', 'Restoring', 'RollingBack'] as const) {
      expect(restoreVerdict(restore(phase))).toMatchObject({
        kind: 'in-progress',
        reason: 'VOLUME_RESTORE_IN_PROGRESS',
      });
    }
    expect(restoreVerdict(restore('Completed'))).toEqual({ kind: 'completed' });
    expect(restoreVerdict(restore('Failed'))).toMatchObject({
      kind: 'ended',
      reason: 'VOLUME_RESTORE_FAILED',
    });
  });
});
