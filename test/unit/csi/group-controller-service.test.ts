import { describe, expect, it } from 'vitest';
import { createCsiServices } from '../../../src/csi/driver.ts';
import { CsiError } from '../../../src/csi/errors.ts';
import type {
  CreateVolumeGroupSnapshotResponse,
  GetVolumeGroupSnapshotResponse,
  ListSnapshotsResponse,
} from '../../../src/csi/messages.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { addClaim, addEtcdCluster, callContext, type World, world } from './fakes.ts';

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CsiError) return err.reason;
    throw err;
  }
  throw new Error('expected the call to fail');
}

const create = (w: World, name: string, ids: string[], parameters: Record<string, string> = {}) =>
  w.call<CreateVolumeGroupSnapshotResponse>('GroupController', 'CreateVolumeGroupSnapshot', {
    name,
    source_volume_ids: ids,
    parameters,
  });
const get = (w: World, id: string, snapshot_ids: string[] = []) =>
  w.call<GetVolumeGroupSnapshotResponse>('GroupController', 'GetVolumeGroupSnapshot', {
    group_snapshot_id: id,
    snapshot_ids,
  });
const del = (w: World, id: string, snapshot_ids: string[] = []) =>
  w.call('GroupController', 'DeleteVolumeGroupSnapshot', { group_snapshot_id: id, snapshot_ids });

/** Two etcd clusters: main (volumes a, b, c) and aux (volume d). */
function twoClusters(options: { propagate?: boolean } = {}): { w: World; main: string[]; aux: string[] } {
  const w = world(options);
  addEtcdCluster(w, 'main', 'default', 10);
  addEtcdCluster(w, 'aux', 'default', 20);
  const main = ['a', 'b', 'c'].map((n) => addClaim(w, n, { cluster: 'main' }));
  const aux = [addClaim(w, 'd', { cluster: 'aux' })];
  return { w, main, aux };
}

const records = (w: World) => [...w.snapshotsApi.objects.values()] as EtcdSnapshot[];

describe('GroupControllerGetCapabilities', () => {
  it('offers create/delete/get of group snapshots', async () => {
    expect(await world().call('GroupController', 'GroupControllerGetCapabilities')).toEqual({
      capabilities: [{ rpc: { type: 'CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT' } }],
    });
  });
});

describe('CreateVolumeGroupSnapshot', () => {
  it('writes one record per etcd cluster; volumes of one cluster share it', async () => {
    const { w, main, aux } = twoClusters();
    const { group_snapshot: g } = await create(w, 'groupsnapshot-1', [...main, ...aux]);
    expect(records(w)).toHaveLength(2);
    const byCluster = Object.fromEntries(records(w).map((r) => [r.spec.cluster.name, r]));
    expect(byCluster.main!.spec.members.map((m) => m.sourceVolumeId)).toEqual(main);
    expect(byCluster.aux!.spec.members.map((m) => m.sourceVolumeId)).toEqual(aux);
    for (const r of records(w)) {
      expect(r.metadata?.labels?.['snapshot.etcd-snapshot-driver.io/group-snapshot-id']).toBe(
        g.group_snapshot_id,
      );
      expect(r.spec.groupSnapshotId).toBe(g.group_snapshot_id);
      expect(r.spec.requestKind).toBe('group');
    }
    expect(g.group_snapshot_id).toMatch(/^grp-/);
    expect(g.ready_to_use).toBe(false);
    expect(g.creation_time.seconds).toBeGreaterThan(0);
    expect(g.snapshots.map((s) => s.source_volume_id)).toEqual([...main, ...aux].sort());
    for (const s of g.snapshots) {
      expect(s.snapshot_id.startsWith(`${g.group_snapshot_id}-`)).toBe(true);
      expect(s.group_snapshot_id).toBe(g.group_snapshot_id);
      expect(s.ready_to_use).toBe(false);
      expect(s.size_bytes).toBe(0);
      expect(s.creation_time.seconds).toBeGreaterThan(0);
    }
  });

  it('gives the same IDs and state for the same sources in any order, and a re-call writes nothing', async () => {
    const { w, main, aux } = twoClusters({ propagate: false });
    const first = await create(w, 'g', [...main, ...aux]);
    const writes = w.snapshotsApi.writes;
    const calls = w.snapshotsApi.calls;
    const again = await create(w, 'g', [...aux, ...main].reverse());
    expect(again).toEqual(first);
    w.snapshotsApi.flush();
    expect(await create(w, 'g', [main[2]!, aux[0]!, main[0]!, main[1]!])).toEqual(first);
    expect(w.snapshotsApi.writes).toBe(writes);
    expect(w.snapshotsApi.calls).toBe(calls);
  });

  it('refuses the same name with other sources or parameters (ALREADY_EXISTS)', async () => {
    const { w, main, aux } = twoClusters();
    await create(w, 'g', main);
    expect(await reason(create(w, 'g', [...main, ...aux]))).toBe('GROUP_SNAPSHOT_ALREADY_EXISTS');
    expect(await reason(create(w, 'g', main.slice(0, 2)))).toBe('GROUP_SNAPSHOT_ALREADY_EXISTS');
    expect(await reason(create(w, 'g', main, { 'retention-days': '3' }))).toBe(
      'GROUP_SNAPSHOT_ALREADY_EXISTS',
    );
  });

  it('never changes the member list of its first answer, while the pipeline makes the group ready', async () => {
    const { w, main, aux } = twoClusters();
    const first = await create(w, 'g', [...main, ...aux]);
    for (const r of records(w)) {
      w.snapshotsApi.put({ ...r, status: { phase: 'Ready', readyToUse: true, sizeBytes: 1000 } });
    }
    const ready = await create(w, 'g', [...main, ...aux]);
    expect(ready.group_snapshot.ready_to_use).toBe(true);
    expect(ready.group_snapshot.snapshots.map((s) => [s.snapshot_id, s.source_volume_id])).toEqual(
      first.group_snapshot.snapshots.map((s) => [s.snapshot_id, s.source_volume_id]),
    );
    expect(ready.group_snapshot.snapshots.every((s) => s.ready_to_use && s.size_bytes === 1000)).toBe(true);
  });

  it('is ready only when every cluster’s record is', async () => {
    const { w, main, aux } = twoClusters();
    await create(w, 'g', [...main, ...aux]);
    const [one] = records(w);
    w.snapshotsApi.put({ ...one!, status: { phase: 'Ready', readyToUse: true } });
    expect((await create(w, 'g', [...main, ...aux])).group_snapshot.ready_to_use).toBe(false);
  });

  it('completes a group whose first call stopped half-way', async () => {
    const { w, main, aux } = twoClusters();
    await create(w, 'g', [...main, ...aux]);
    const aux0 = records(w).find((r) => r.spec.cluster.name === 'aux')!;
    w.snapshotsApi.objects.delete(`${aux0.metadata?.namespace}/${aux0.metadata?.name}`);
    w.stores.etcdSnapshots.remove(`${aux0.metadata?.namespace}/${aux0.metadata?.name}`);
    // A restarted driver (its read-your-writes memory is gone) sees the half-made group.
    const restarted = createCsiServices(w.options);
    const { group_snapshot: g } = await restarted.GroupController.CreateVolumeGroupSnapshot!(
      { name: 'g', source_volume_ids: [...main, ...aux], parameters: {} },
      callContext(),
    );
    expect(records(w)).toHaveLength(2);
    expect(g.snapshots).toHaveLength(4);
  });

  it('reports a failed cluster with the code of its reason', async () => {
    const { w, main } = twoClusters();
    await create(w, 'g', main);
    const [r] = records(w);
    w.snapshotsApi.put({ ...r!, status: { phase: 'Failed', reason: 'STORAGE_QUOTA_EXCEEDED' } });
    expect(await reason(create(w, 'g', main))).toBe('STORAGE_QUOTA_EXCEEDED');
  });

  it('validates the request', async () => {
    const { w, main } = twoClusters();
    expect(await reason(create(w, '', main))).toBe('MISSING_NAME');
    expect(await reason(create(w, 'g', []))).toBe('MISSING_SOURCE_VOLUMES');
    expect(await reason(create(w, 'g', [main[0]!, main[0]!]))).toBe('DUPLICATE_SOURCE_VOLUME');
    expect(await reason(create(w, 'g', [main[0]!, '']))).toBe('MISSING_VOLUME_ID');
    const many = Array.from({ length: 65 }, (_, i) => `default/v${i}`);
    expect(await reason(create(w, 'g', many))).toBe('TOO_MANY_VOLUMES');
    expect(await reason(create(w, 'g', main, { nope: '1' }))).toBe('UNKNOWN_PARAMETER');
    expect(await reason(create(w, 'g', [main[0]!, 'Bad/ID']))).toBe('MALFORMED_VOLUME_ID');
    expect(await reason(create(w, 'g', [main[0]!, 'default/missing']))).toBe('VOLUME_NOT_FOUND');
    expect(w.snapshotsApi.writes).toBe(0);
  });
});

describe('GetVolumeGroupSnapshot', () => {
  it('answers the group from the cache, NOT_FOUND for unknown IDs', async () => {
    const { w, main, aux } = twoClusters();
    const { group_snapshot: g } = await create(w, 'g', [...main, ...aux]);
    const calls = w.snapshotsApi.calls;
    expect((await get(w, g.group_snapshot_id)).group_snapshot).toEqual(g);
    expect(
      (
        await get(
          w,
          g.group_snapshot_id,
          g.snapshots.map((s) => s.snapshot_id),
        )
      ).group_snapshot.snapshots,
    ).toHaveLength(4);
    expect(w.snapshotsApi.calls).toBe(calls);
    expect(await reason(get(w, 'fake-vol-id'))).toBe('GROUP_SNAPSHOT_NOT_FOUND');
    expect(await reason(get(w, ''))).toBe('MISSING_GROUP_SNAPSHOT_ID');
    expect(await reason(get(w, g.group_snapshot_id, ['snap-someone-else']))).toBe('SNAPSHOT_IDS_MISMATCH');
  });
});

describe('DeleteVolumeGroupSnapshot and per-member DeleteSnapshot', () => {
  it('requests deletion of every record of the group; unknown IDs are OK; a repeat writes nothing', async () => {
    const { w, main, aux } = twoClusters();
    const { group_snapshot: g } = await create(w, 'g', [...main, ...aux]);
    await del(
      w,
      g.group_snapshot_id,
      g.snapshots.map((s) => s.snapshot_id),
    );
    expect(records(w).every((r) => r.metadata?.deletionTimestamp)).toBe(true);
    const writes = w.snapshotsApi.writes;
    await del(w, g.group_snapshot_id);
    await del(w, 'fake-vol-id');
    expect(w.snapshotsApi.writes).toBe(writes);
    expect(await reason(get(w, g.group_snapshot_id))).toBe('GROUP_SNAPSHOT_NOT_FOUND');
    expect(await reason(del(w, ''))).toBe('MISSING_GROUP_SNAPSHOT_ID');
  });

  it('refuses snapshot_ids that belong to another group', async () => {
    const { w, main } = twoClusters();
    const { group_snapshot: g } = await create(w, 'g', main);
    expect(await reason(del(w, g.group_snapshot_id, ['snap-aaaaaaaaaaaaaaaaaaaa']))).toBe(
      'SNAPSHOT_IDS_MISMATCH',
    );
    expect(records(w).some((r) => r.metadata?.deletionTimestamp)).toBe(false);
  });

  it('lets members go one by one (Velero ≥ 1.17); the shared record goes with its last member', async () => {
    const { w, main } = twoClusters({ propagate: false });
    const { group_snapshot: g } = await create(w, 'g', main);
    const ids = g.snapshots.map((s) => s.snapshot_id);
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: ids[0] });
    let listed = await w.call<ListSnapshotsResponse>('Controller', 'ListSnapshots', {});
    expect(listed.entries.map((e) => e.snapshot.snapshot_id)).toEqual(ids.slice(1).sort());
    expect(records(w)[0]!.metadata?.deletionTimestamp).toBeUndefined();
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: ids[0] });
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: ids[1] });
    expect(records(w)[0]!.metadata?.deletionTimestamp).toBeUndefined();
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: ids[2] });
    expect(records(w)[0]!.metadata?.deletionTimestamp).toBeTruthy();
    listed = await w.call<ListSnapshotsResponse>('Controller', 'ListSnapshots', {});
    expect(listed.entries).toEqual([]);
    // The group delete that follows finds nothing left to do.
    const writes = w.snapshotsApi.writes;
    await del(w, g.group_snapshot_id, ids);
    expect(w.snapshotsApi.writes).toBe(writes);
  });

  it('lists group members without their group ID, so a pre-provisioned content of one can be deleted on its own', async () => {
    const { w, main } = twoClusters();
    const { group_snapshot: g } = await create(w, 'g', main);
    expect(g.snapshots.every((s) => s.snapshot_id && s.group_snapshot_id === g.group_snapshot_id)).toBe(true);
    const one = await w.call<ListSnapshotsResponse>('Controller', 'ListSnapshots', {
      snapshot_id: g.snapshots[0]!.snapshot_id,
    });
    expect(one.entries.map((e) => [e.snapshot.snapshot_id, e.snapshot.group_snapshot_id])).toEqual([
      [g.snapshots[0]!.snapshot_id, ''],
    ]);
    const all = await w.call<ListSnapshotsResponse>('Controller', 'ListSnapshots', {});
    expect(all.entries.map((e) => e.snapshot.group_snapshot_id)).toEqual(['', '', '']);
    expect(
      (await get(w, g.group_snapshot_id)).group_snapshot.snapshots.map((s) => s.group_snapshot_id),
    ).toEqual([g.group_snapshot_id, g.group_snapshot_id, g.group_snapshot_id]);
  });

  it('retries a member delete that raced another writer (409)', async () => {
    const { w, main } = twoClusters();
    const { group_snapshot: g } = await create(w, 'g', main);
    const [r] = records(w);
    // Someone else (the pipeline) updates the record; the cache still has the older version.
    w.snapshotsApi.propagate = false;
    w.snapshotsApi.put({ ...r!, status: { phase: 'Running' } });
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: g.snapshots[0]!.snapshot_id });
    expect(records(w)[0]!.spec.members.filter((m) => m.deletionRequested)).toHaveLength(1);
    expect(records(w)[0]!.status?.phase).toBe('Running');
  });
});
