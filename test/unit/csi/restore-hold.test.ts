// The restore door remembers a restore until its volume is handed out: a door-made EtcdRestore
// deleted between Completed and the claim's binding binds the claim on the next call instead of
// restoring the cluster again; one deleted before it completed goes, and the next call starts a
// new one. And no check of the claim runs after the restore: a restore into a cluster the CSI
// discovery does not know (a new StatefulSet) binds once it completed.
import { describe, expect, it } from 'vitest';
import { restoreFinalizerOf } from '../../../src/csi/restore-hold.ts';
import { addClaim, world } from './fakes.ts';
import {
  createVolume,
  failure,
  fromSnapshot,
  readySnapshot,
  restores,
  setStatus,
} from './restore-fixtures.ts';

describe('the restore door holds its restore until the volume is recorded', () => {
  it('a Completed restore deleted before the claim bound binds on the next call, never restoring twice', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    addClaim(w, 'restored', { cluster: 'main', phase: 'Pending' });
    await failure(createVolume(w, fromSnapshot(snapshotId)));
    setStatus(w, { phase: 'Completed' });
    const [restore] = restores(w);
    await w.restoresApi.delete('default', restore!.metadata!.name!);
    expect(restores(w)[0]!.metadata?.deletionTimestamp).toBeDefined();

    const { volume } = await createVolume(w, fromSnapshot(snapshotId));
    expect(volume.content_source).toEqual({ snapshot: { snapshot_id: snapshotId } });
    // Released with the volume recorded: the deletion completes, and no second restore was made.
    expect(restores(w)).toHaveLength(0);
    expect((await createVolume(w, fromSnapshot(snapshotId))).volume).toEqual(volume);
    expect(restores(w)).toHaveLength(0);
  });

  it('a failed release is the call’s error; the next call, answered from the volume record, releases', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    addClaim(w, 'restored', { cluster: 'main', phase: 'Pending' });
    await failure(createVolume(w, fromSnapshot(snapshotId)));
    setStatus(w, { phase: 'Completed' });
    const patch = w.restoresApi.jsonPatch.bind(w.restoresApi);
    w.restoresApi.jsonPatch = async () => {
      throw Object.assign(new Error('503 ServiceUnavailable'), { statusCode: 503 });
    };
    expect((await failure(createVolume(w, fromSnapshot(snapshotId)))).code).not.toBe('OK');
    expect(w.volumesApi.objects.size).toBe(1);
    expect(restores(w)[0]!.metadata?.finalizers).toEqual([restoreFinalizerOf('pvc-0b5e3c1a')]);

    w.restoresApi.jsonPatch = patch;
    await createVolume(w, fromSnapshot(snapshotId));
    expect(restores(w)[0]!.metadata?.finalizers).toEqual([]);
  });

  it('a restore deleted before it completed goes on the next call; the one after starts a new restore', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    addClaim(w, 'restored', { cluster: 'main', phase: 'Pending' });
    await failure(createVolume(w, fromSnapshot(snapshotId)));
    setStatus(w, { phase: 'Failed', reason: 'CHECKSUM_MISMATCH', message: 'sha256 differs' });
    const first = restores(w)[0]!;
    await w.restoresApi.delete('default', first.metadata!.name!);

    const gone = await failure(createVolume(w, fromSnapshot(snapshotId)));
    expect(gone).toMatchObject({ reason: 'VOLUME_RESTORE_IN_PROGRESS', code: 'ABORTED' });
    expect(gone.message).toContain('is being deleted before it completed (Failed)');
    expect(restores(w)).toHaveLength(0);

    await failure(createVolume(w, fromSnapshot(snapshotId)));
    const [again] = restores(w);
    expect(again!.metadata?.uid).not.toBe(first.metadata?.uid);
    expect(again!.metadata?.finalizers).toEqual([restoreFinalizerOf('pvc-0b5e3c1a')]);
  });

  it('the claims of one Velero restore hold their shared restore each', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    for (const claim of ['member-a', 'member-b'])
      w.stores.persistentVolumeClaims.upsert({
        metadata: {
          name: claim,
          namespace: 'default',
          annotations: { 'etcd.io/cluster': 'main' },
          labels: { 'velero.io/restore-name': 'nightly-1' },
        },
        status: { phase: 'Pending' },
      });
    const a = { ...fromSnapshot(snapshotId, 'member-a'), name: 'pvc-a' };
    const b = { ...fromSnapshot(snapshotId, 'member-b'), name: 'pvc-b' };
    await failure(createVolume(w, a));
    await failure(createVolume(w, b));
    expect(restores(w)[0]!.metadata?.finalizers).toEqual([
      restoreFinalizerOf('pvc-a'),
      restoreFinalizerOf('pvc-b'),
    ]);

    setStatus(w, { phase: 'Completed' });
    await createVolume(w, a);
    await w.restoresApi.delete('default', restores(w)[0]!.metadata!.name!);
    // Still held for b: b binds from it, then it goes.
    expect(restores(w)[0]!.metadata?.finalizers).toEqual([restoreFinalizerOf('pvc-b')]);
    expect((await createVolume(w, b)).volume.volume_id).toBe('default/member-b');
    expect(restores(w)).toHaveLength(0);
  });

  it('a restore into a cluster the CSI discovery does not know binds once Completed', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    // A new StatefulSet `copy`: the restore's Validate finds it; the volume is not refused after.
    addClaim(w, 'restored', { cluster: 'copy', phase: 'Pending' });
    await failure(createVolume(w, fromSnapshot(snapshotId)));
    setStatus(w, { phase: 'Completed' });
    const { volume } = await createVolume(w, fromSnapshot(snapshotId));
    expect(volume.volume_context).toMatchObject({ 'etcd-namespace': 'default', 'etcd-cluster-name': 'copy' });
  });
});
