// Group claims (src/csi/name-claims.ts) over the fakes: who may write a group's records, and
// when the claim goes. The race itself runs on the real apiserver in
// test/integration/csi/two-replicas.test.ts.
import { describe, expect, it } from 'vitest';
import { createCsiServices } from '../../../src/csi/driver.ts';
import { CsiError } from '../../../src/csi/errors.ts';
import type { CreateVolumeGroupSnapshotResponse } from '../../../src/csi/messages.ts';
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

const create = (w: World, name: string, ids: string[]) =>
  w.call<CreateVolumeGroupSnapshotResponse>('GroupController', 'CreateVolumeGroupSnapshot', {
    name,
    source_volume_ids: ids,
  });

function setup(): { w: World; a: string; b: string; d: string; e: string } {
  const w = world();
  addEtcdCluster(w, 'main', 'default', 10);
  addEtcdCluster(w, 'aux', 'default', 20);
  addEtcdCluster(w, 'other', 'default', 30);
  return {
    w,
    a: addClaim(w, 'a', { cluster: 'main' }),
    b: addClaim(w, 'b', { cluster: 'main' }),
    d: addClaim(w, 'd', { cluster: 'aux' }),
    e: addClaim(w, 'e', { cluster: 'other' }),
  };
}

describe('group claims', () => {
  it('are written before the records, holding the full source set', async () => {
    const { w, a, d } = setup();
    const { group_snapshot: g } = await create(w, 'g', [d, a]);
    const [claim] = [...w.nameClaimsApi.objects.values()];
    expect(claim?.metadata?.name).toBe(g.group_snapshot_id);
    expect(claim?.spec).toMatchObject({ requestName: 'g', sourceVolumeIds: [a, d], sourceCount: 2 });
  });

  it('make a call with other sources ALREADY_EXISTS without writing a record, even when its cache has none', async () => {
    const { w, a, b, d, e } = setup();
    await create(w, 'g', [a, d]);
    // Another replica whose caches saw nothing yet: only the claim on the API server stops it.
    for (const r of w.stores.etcdSnapshots.list()) {
      w.stores.etcdSnapshots.remove(`${r.metadata?.namespace}/${r.metadata?.name}`);
    }
    const replica = createCsiServices(w.options);
    const writes = w.snapshotsApi.writes;
    const call = replica.GroupController.CreateVolumeGroupSnapshot!(
      // main's record is A's, but other's would be new: without the claim, B would write it.
      { name: 'g', source_volume_ids: [b, e], parameters: {} },
      callContext(),
    );
    expect(await reason(call)).toBe('GROUP_SNAPSHOT_ALREADY_EXISTS');
    expect(w.snapshotsApi.writes).toBe(writes);
  });

  it('leave nothing behind for a call refused for its sources', async () => {
    const { w, a } = setup();
    expect(await reason(create(w, 'g', [a, 'default/no-such-claim']))).toBe('VOLUME_NOT_FOUND');
    expect(w.nameClaimsApi.objects.size).toBe(0);
    expect(w.snapshotsApi.objects.size).toBe(0);
  });

  it('let the holder complete a group whose first call stopped after the claim', async () => {
    const { w, a, d } = setup();
    w.snapshotsApi.failWith = new RangeError('crashed');
    await reason(create(w, 'g', [a, d])).catch(() => undefined);
    expect(w.nameClaimsApi.objects.size).toBe(1);
    expect(w.snapshotsApi.objects.size).toBe(0);
    w.snapshotsApi.failWith = undefined;
    const { group_snapshot: g } = await create(w, 'g', [a, d]);
    expect(g.snapshots.map((s) => s.source_volume_id)).toEqual([a, d]);
  });

  it('go with DeleteVolumeGroupSnapshot, and with DeleteSnapshot of the last member of the last record', async () => {
    const { w, a, b, d } = setup();
    const { group_snapshot: g1 } = await create(w, 'g1', [a, d]);
    await w.call('GroupController', 'DeleteVolumeGroupSnapshot', { group_snapshot_id: g1.group_snapshot_id });
    expect([...w.nameClaimsApi.objects.keys()]).toEqual([]);

    const { group_snapshot: g2 } = await create(w, 'g2', [a, b, d]);
    const [sa, sb, sd] = g2.snapshots.map((s) => s.snapshot_id);
    for (const id of [sa, sd]) await w.call('Controller', 'DeleteSnapshot', { snapshot_id: id });
    expect(w.nameClaimsApi.objects.size).toBe(1); // b's member keeps main's record alive
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: sb });
    expect(w.nameClaimsApi.objects.size).toBe(0);
  });

  it('stay while another record of the group lives, though the cache of this replica does not hold it', async () => {
    const { w, a, d } = setup();
    const { group_snapshot: g } = await create(w, 'g', [a, d]);
    const [sa] = g.snapshots.map((s) => s.snapshot_id);
    // This replica's cache lost aux's record (it trails a peer's view): only the API knows it lives.
    const aux = w.stores.etcdSnapshots.list().find((r) => r.spec.cluster.key !== 'default/main')!;
    w.stores.etcdSnapshots.remove(`${aux.metadata?.namespace}/${aux.metadata?.name}`);
    const replica = createCsiServices(w.options);
    await replica.Controller.DeleteSnapshot!({ snapshot_id: sa!, secrets: {} }, callContext());
    expect(w.snapshotsApi.objects.has(`${aux.metadata?.namespace}/${aux.metadata?.name}`)).toBe(true);
    expect(w.nameClaimsApi.objects.size).toBe(1);
  });
});

describe('snapshot name claims', () => {
  it('make a CreateSnapshot of the same name with another source ALREADY_EXISTS on a replica that saw nothing', async () => {
    const { w, a, e } = setup();
    const { snapshot } = await w.call<{ snapshot: { snapshot_id: string } }>('Controller', 'CreateSnapshot', {
      name: 's',
      source_volume_id: a,
    });
    expect([...w.nameClaimsApi.objects.values()].map((c) => [c.metadata?.name, c.spec.requestKind])).toEqual([
      [snapshot.snapshot_id, 'snapshot'],
    ]);
    for (const r of w.stores.etcdSnapshots.list()) {
      w.stores.etcdSnapshots.remove(`${r.metadata?.namespace}/${r.metadata?.name}`);
    }
    const replica = createCsiServices(w.options);
    const writes = w.snapshotsApi.writes;
    // e is of another etcd cluster: its record would have another name, so only the claim stops it.
    const call = replica.Controller.CreateSnapshot!(
      { name: 's', source_volume_id: e, parameters: {} },
      callContext(),
    );
    expect(await reason(call)).toBe('SNAPSHOT_ALREADY_EXISTS');
    expect(w.snapshotsApi.writes).toBe(writes);
  });

  it('go with the snapshot', async () => {
    const { w, a } = setup();
    const { snapshot } = await w.call<{ snapshot: { snapshot_id: string } }>('Controller', 'CreateSnapshot', {
      name: 's',
      source_volume_id: a,
    });
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: snapshot.snapshot_id });
    expect(w.nameClaimsApi.objects.size).toBe(0);
  });

  it('go on a retried DeleteSnapshot when the first one deleted the record but not the claim', async () => {
    const { w, a } = setup();
    const { snapshot } = await w.call<{ snapshot: { snapshot_id: string } }>('Controller', 'CreateSnapshot', {
      name: 's',
      source_volume_id: a,
    });
    // The first DeleteSnapshot's record delete went through, its claim release did not.
    const failing = w.nameClaimsApi.delete.bind(w.nameClaimsApi);
    w.nameClaimsApi.delete = async () => {
      throw new RangeError('the API went away');
    };
    await w
      .call('Controller', 'DeleteSnapshot', { snapshot_id: snapshot.snapshot_id })
      .catch(() => undefined);
    w.nameClaimsApi.delete = failing;
    expect(w.nameClaimsApi.objects.size).toBe(1);
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: snapshot.snapshot_id });
    expect(w.nameClaimsApi.objects.size).toBe(0);
  });
});
