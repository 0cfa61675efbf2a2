import { describe, expect, it } from 'vitest';
import { CsiError } from '../../../src/csi/errors.ts';
import type {
  CreateSnapshotResponse,
  CreateVolumeResponse,
  ListSnapshotsResponse,
  ValidateVolumeCapabilitiesResponse,
} from '../../../src/csi/messages.ts';
import type { Reason } from '../../../src/reasons/reasons.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { addClaim, addEtcdCluster, callContext, MOUNT_CAPABILITY, type World, world } from './fakes.ts';

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CsiError) return err.reason;
    throw err;
  }
  throw new Error('expected the call to fail');
}

const GiB = 1024 ** 3;
const volumeRequest = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  capacity_range: { required_bytes: 10 * GiB, limit_bytes: 0 },
  volume_capabilities: [MOUNT_CAPABILITY],
  parameters: { 'etcd-cluster-name': 'main' },
  ...extra,
});

const createVolume = (w: World, req: unknown) =>
  w.call<CreateVolumeResponse>('Controller', 'CreateVolume', req);
const createSnapshot = (w: World, name: string, source: string, parameters: Record<string, string> = {}) =>
  w.call<CreateSnapshotResponse>('Controller', 'CreateSnapshot', {
    name,
    source_volume_id: source,
    parameters,
  });
const list = (w: World, req: Record<string, unknown> = {}) =>
  w.call<ListSnapshotsResponse>('Controller', 'ListSnapshots', req);

describe('ControllerGetCapabilities', () => {
  it('offers volumes, snapshots and snapshot listing', async () => {
    const w = world();
    expect(await w.call('Controller', 'ControllerGetCapabilities')).toEqual({
      capabilities: [
        { rpc: { type: 'CREATE_DELETE_VOLUME' } },
        { rpc: { type: 'CREATE_DELETE_SNAPSHOT' } },
        { rpc: { type: 'LIST_SNAPSHOTS' } },
      ],
    });
  });
});

describe('CreateVolume without a claim (csi-sanity, direct clients)', () => {
  it('records the volume under the parameters’ namespace and answers its ID, capacity and context', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const { volume } = await createVolume(w, volumeRequest('sanity Volume-1'));
    expect(volume.volume_id).toMatch(/^default\/vol-[a-z2-7]{20}$/);
    expect(volume.capacity_bytes).toBe(10 * GiB);
    expect(volume.volume_context).toEqual({ 'etcd-namespace': 'default', 'etcd-cluster-name': 'main' });
    const record = w.volumesApi.objects.get(volume.volume_id)!;
    expect(record.spec).toMatchObject({
      driverName: 'etcd-snapshot-driver',
      volumeName: 'sanity Volume-1',
      capacityBytes: 10 * GiB,
      parameters: { 'etcd-cluster-name': 'main' },
      cluster: { namespace: 'default', name: 'main' },
    });
  });

  it('answers a repeated request with the same volume and no write, even before the cache saw the first', async () => {
    const w = world({ propagate: false });
    addEtcdCluster(w, 'main');
    const first = await createVolume(w, volumeRequest('v'));
    const writes = w.volumesApi.writes;
    const again = await createVolume(w, volumeRequest('v'));
    expect(again).toEqual(first);
    expect(w.volumesApi.writes).toBe(writes);
  });

  it('refuses the same name with another capacity or other parameters (ALREADY_EXISTS)', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    await createVolume(w, volumeRequest('v', { capacity_range: { required_bytes: GiB, limit_bytes: GiB } }));
    expect(
      await reason(
        createVolume(
          w,
          volumeRequest('v', { capacity_range: { required_bytes: 2 * GiB, limit_bytes: 2 * GiB } }),
        ),
      ),
    ).toBe('VOLUME_ALREADY_EXISTS');
    expect(
      await reason(
        createVolume(
          w,
          volumeRequest('v', {
            capacity_range: { required_bytes: GiB },
            parameters: { 'etcd-cluster-name': 'main', 'retention-days': '5' },
          }),
        ),
      ),
    ).toBe('VOLUME_ALREADY_EXISTS');
  });

  it('refuses a volume that names no cluster, or a cluster that is not there (NOT_FOUND)', async () => {
    const w = world();
    expect(await reason(createVolume(w, volumeRequest('v', { parameters: {} })))).toBe(
      'ETCD_CLUSTER_NOT_FOUND',
    );
    expect(await reason(createVolume(w, volumeRequest('v')))).toBe('ETCD_CLUSTER_NOT_FOUND');
    expect(w.volumesApi.writes).toBe(0);
  });

  it('refuses a clone and a restore for no claim; NOT_FOUND when the source does not exist', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const source = addClaim(w, 'src', { cluster: 'main' });
    const { snapshot } = await createSnapshot(w, 'snap', source);
    const fromSnapshot = (id: string) =>
      volumeRequest('v', { volume_content_source: { snapshot: { snapshot_id: id }, type: 'snapshot' } });
    // No claim in the request (csi-sanity, direct clients): no restore target (restore-door.test.ts).
    expect(await reason(createVolume(w, fromSnapshot(snapshot.snapshot_id)))).toBe('RESTORE_TARGET_UNKNOWN');
    expect(await reason(createVolume(w, fromSnapshot('non-existing-snapshot-id')))).toBe(
      'CONTENT_SOURCE_NOT_FOUND',
    );
    const fromVolume = (id: string) =>
      volumeRequest('v', { volume_content_source: { volume: { volume_id: id }, type: 'volume' } });
    expect(await reason(createVolume(w, fromVolume(source)))).toBe('VOLUME_CONTENT_SOURCE_UNSUPPORTED');
    expect(await reason(createVolume(w, fromVolume('default/none')))).toBe('CONTENT_SOURCE_NOT_FOUND');
    expect(w.volumesApi.writes).toBe(0);
    expect(w.restoresApi.writes).toBe(0);
  });

  it('validates before anything else', async () => {
    const w = world();
    expect(await reason(createVolume(w, volumeRequest('')))).toBe('MISSING_NAME');
    expect(await reason(createVolume(w, volumeRequest('v', { volume_capabilities: [] })))).toBe(
      'MISSING_VOLUME_CAPABILITIES',
    );
    expect(await reason(createVolume(w, volumeRequest('v', { parameters: { bogus: 'x' } })))).toBe(
      'UNKNOWN_PARAMETER',
    );
    expect(await reason(createVolume(w, volumeRequest('v', { mutable_parameters: { a: 'b' } })))).toBe(
      'UNKNOWN_PARAMETER',
    );
  });

  it('answers UNAVAILABLE while the caches are not synced', async () => {
    const w = world();
    w.synced.value = false;
    expect(await reason(createVolume(w, volumeRequest('v')))).toBe('NOT_READY');
  });
});

describe('CreateVolume from csi-provisioner (--extra-create-metadata)', () => {
  const provisioned = (pvc: string, namespace = 'apps') =>
    volumeRequest('pvc-1234', {
      parameters: {
        'csi.storage.k8s.io/pvc/name': pvc,
        'csi.storage.k8s.io/pvc/namespace': namespace,
        'csi.storage.k8s.io/pv/name': 'pvc-1234',
      },
    });

  it('uses <namespace>/<pvc> as the handle and the claim’s annotations for the cluster', async () => {
    const w = world();
    addEtcdCluster(w, 'main', 'apps');
    w.stores.persistentVolumeClaims.upsert({
      metadata: { name: 'etcd-main', namespace: 'apps', annotations: { 'etcd.io/cluster': 'main' } },
      status: { phase: 'Pending' },
    });
    const { volume } = await createVolume(w, provisioned('etcd-main'));
    expect(volume.volume_id).toBe('apps/etcd-main');
    expect(volume.volume_context).toEqual({ 'etcd-namespace': 'apps', 'etcd-cluster-name': 'main' });
    expect(w.volumesApi.objects.get('apps/etcd-main')?.spec.claim).toEqual({
      namespace: 'apps',
      name: 'etcd-main',
    });
  });

  it('a claim re-created under a deleted claim’s name gets a volume ID of its own while the old volume exists; each DeleteVolume removes its own record', async () => {
    const w = world();
    addEtcdCluster(w, 'main', 'apps');
    w.stores.persistentVolumeClaims.upsert({
      metadata: { name: 'etcd-main', namespace: 'apps', annotations: { 'etcd.io/cluster': 'main' } },
      status: { phase: 'Pending' },
    });
    const old = (await createVolume(w, provisioned('etcd-main'))).volume;
    expect(old.volume_id).toBe('apps/etcd-main');
    // The same claim name, another claim (csi-provisioner names the volume pvc-<claim uid>).
    const again = { ...provisioned('etcd-main'), name: 'pvc-5678' };
    const fresh = (await createVolume(w, again)).volume;
    expect(fresh.volume_id).toMatch(/^apps\/etcd-main-[a-z2-7]{16}$/);
    expect(fresh.volume_context).toEqual({ 'etcd-namespace': 'apps', 'etcd-cluster-name': 'main' });
    // Repeated: the same answer, no write.
    const writes = w.volumesApi.writes;
    expect((await createVolume(w, again)).volume).toEqual(fresh);
    expect((await createVolume(w, provisioned('etcd-main'))).volume).toEqual(old);
    expect(w.volumesApi.writes).toBe(writes);
    expect(w.volumesApi.objects.get(fresh.volume_id)?.spec).toMatchObject({
      volumeName: 'pvc-5678',
      claim: { namespace: 'apps', name: 'etcd-main' },
    });
    // The old volume's DeleteVolume (its PV goes) takes its own record, not the new one.
    await w.call('Controller', 'DeleteVolume', { volume_id: old.volume_id });
    expect([...w.volumesApi.objects.keys()]).toEqual([fresh.volume_id]);
  });

  it('a claim re-created under the name of a static source (a PV of handle <ns>/<claim>, no record) gets a volume ID of its own', async () => {
    const w = world();
    addEtcdCluster(w, 'main', 'apps');
    w.stores.persistentVolumeClaims.upsert({
      metadata: { name: 'etcd-main', namespace: 'apps', annotations: { 'etcd.io/cluster': 'main' } },
      status: { phase: 'Pending' },
    });
    w.stores.persistentVolumes.upsert({
      metadata: { name: 'etcd-source-apps-etcd-main' },
      spec: { csi: { driver: 'etcd-snapshot-driver', volumeHandle: 'apps/etcd-main' } },
      status: { phase: 'Released' },
    });
    const { volume } = await createVolume(w, provisioned('etcd-main'));
    expect(volume.volume_id).toMatch(/^apps\/etcd-main-[a-z2-7]{16}$/);
    // The static PV's DeleteVolume, were it ever made, finds no record of its ID.
    await w.call('Controller', 'DeleteVolume', { volume_id: 'apps/etcd-main' });
    expect([...w.volumesApi.objects.keys()]).toEqual([volume.volume_id]);
    // The volume's own PV (its handle, its name) is not another volume.
    w.stores.persistentVolumes.upsert({
      metadata: { name: 'pvc-1234' },
      spec: { csi: { driver: 'etcd-snapshot-driver', volumeHandle: volume.volume_id } },
    });
    expect((await createVolume(w, provisioned('etcd-main'))).volume).toEqual(volume);
  });

  it('refuses a claim it does not know, and a claim naming no cluster', async () => {
    const w = world();
    expect(await reason(createVolume(w, provisioned('missing')))).toBe('CLAIM_NOT_FOUND');
    w.stores.persistentVolumeClaims.upsert({ metadata: { name: 'plain', namespace: 'apps' } });
    const req = provisioned('plain');
    (req.parameters as Record<string, string>) = {
      'csi.storage.k8s.io/pvc/name': 'plain',
      'csi.storage.k8s.io/pvc/namespace': 'apps',
    };
    expect(await reason(createVolume(w, req))).toBe('ETCD_CLUSTER_NOT_FOUND');
  });
});

describe('DeleteVolume', () => {
  it('deletes the volume record; unknown and malformed IDs are OK', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const { volume } = await createVolume(w, volumeRequest('v'));
    expect(await w.call('Controller', 'DeleteVolume', { volume_id: volume.volume_id })).toEqual({});
    expect(w.volumesApi.objects.has(volume.volume_id)).toBe(false);
    expect(await w.call('Controller', 'DeleteVolume', { volume_id: volume.volume_id })).toEqual({});
    expect(await w.call('Controller', 'DeleteVolume', { volume_id: 'fake-vol-id' })).toEqual({});
    expect(await w.call('Controller', 'DeleteVolume', { volume_id: 'default/unknown' })).toEqual({});
    expect(await reason(w.call('Controller', 'DeleteVolume', { volume_id: '' }))).toBe('MISSING_VOLUME_ID');
  });

  it('finds a volume the cache has not seen yet through the API', async () => {
    const w = world({ propagate: false });
    w.volumesApi.put({
      metadata: { name: 'vol-x', namespace: 'default' },
      spec: {
        driverName: 'etcd-snapshot-driver',
        volumeName: 'x',
        capacityBytes: 0,
        requiredBytes: 0,
        limitBytes: 0,
        parameters: {},
        cluster: { namespace: 'default', name: 'main' },
      },
    });
    await w.call('Controller', 'DeleteVolume', { volume_id: 'default/vol-x' });
    expect(w.volumesApi.objects.size).toBe(0);
  });
});

describe('ValidateVolumeCapabilities', () => {
  it('confirms the capabilities of a volume or a claim', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const { volume } = await createVolume(w, volumeRequest('v'));
    const res = await w.call<ValidateVolumeCapabilitiesResponse>('Controller', 'ValidateVolumeCapabilities', {
      volume_id: volume.volume_id,
      volume_capabilities: [MOUNT_CAPABILITY],
    });
    expect(res.confirmed?.volume_capabilities).toEqual([MOUNT_CAPABILITY]);
    const claim = addClaim(w, 'static', { cluster: 'main' });
    const res2 = await w.call<ValidateVolumeCapabilitiesResponse>(
      'Controller',
      'ValidateVolumeCapabilities',
      {
        volume_id: claim,
        volume_capabilities: [MOUNT_CAPABILITY],
        parameters: { bogus: '1' },
      },
    );
    expect(res2.confirmed).toBeNull();
    expect(res2.message).toContain('bogus');
  });

  it('answers NOT_FOUND for a volume that does not exist, whatever its ID looks like', async () => {
    const w = world();
    for (const volume_id of ['default/none', 'fake-vol-id-1234567890']) {
      expect(
        await reason(
          w.call('Controller', 'ValidateVolumeCapabilities', {
            volume_id,
            volume_capabilities: [MOUNT_CAPABILITY],
          }),
        ),
      ).toBe('VOLUME_NOT_FOUND');
    }
    expect(
      await reason(w.call('Controller', 'ValidateVolumeCapabilities', { volume_id: 'default/none' })),
    ).toBe('MISSING_VOLUME_CAPABILITIES');
    expect(
      await reason(
        w.call('Controller', 'ValidateVolumeCapabilities', { volume_capabilities: [MOUNT_CAPABILITY] }),
      ),
    ).toBe('MISSING_VOLUME_ID');
  });
});

describe('CreateSnapshot', () => {
  it('writes one record in the cluster’s namespace and answers not ready, with a creation time', async () => {
    const w = world();
    const endpoints = addEtcdCluster(w, 'main', 'etcd');
    const volume = addClaim(w, 'data', { namespace: 'etcd', cluster: 'main' });
    const { snapshot } = await createSnapshot(w, 'snapshot-1', volume, { 'retention-days': '7' });
    expect(snapshot).toMatchObject({
      snapshot_id: expect.stringMatching(/^snap-/),
      source_volume_id: volume,
      ready_to_use: false,
      size_bytes: 0,
      group_snapshot_id: '',
    });
    expect(snapshot.creation_time.seconds).toBeGreaterThan(1_600_000_000);
    const [record] = [...w.snapshotsApi.objects.values()] as EtcdSnapshot[];
    expect(record!.metadata).toMatchObject({
      namespace: 'etcd',
      finalizers: ['snapshot.etcd-snapshot-driver.io/backup-file'],
      labels: {
        'snapshot.etcd-snapshot-driver.io/cluster': 'main',
        'snapshot.etcd-snapshot-driver.io/driver': 'etcd-snapshot-driver',
      },
      annotations: { 'snapshot.etcd-snapshot-driver.io/traceparent': expect.stringMatching(/^00-/) },
    });
    expect(record!.spec).toMatchObject({
      requestKind: 'snapshot',
      requestName: 'snapshot-1',
      cluster: { key: 'etcd/main', endpoints, discoveredBy: 'pods' },
      members: [
        {
          snapshotId: snapshot.snapshot_id,
          sourceVolumeId: volume,
          sourceNamespace: 'etcd',
          sourcePvcName: 'data',
        },
      ],
      parameters: { 'retention-days': '7' },
      retentionDays: 7,
      snapshotTimeoutSeconds: 300,
      // One claim per etcd cluster, one directory per snapshot (docs/pipeline.md).
      storage: { storageClassName: 'standard', claimName: 'etcd-snapshots-main' },
    });
    expect(record!.spec.storage.path).toBe(`${record!.metadata!.name}/snapshot.db`);
  });

  it('is idempotent by name and refuses the name with another source (ALREADY_EXISTS)', async () => {
    const w = world({ propagate: false });
    addEtcdCluster(w, 'main');
    const a = addClaim(w, 'a', { cluster: 'main' });
    const b = addClaim(w, 'b', { cluster: 'main' });
    const first = await createSnapshot(w, 's', a);
    const writes = w.snapshotsApi.writes;
    expect(await createSnapshot(w, 's', a)).toEqual(first);
    expect(w.snapshotsApi.writes).toBe(writes);
    expect(await reason(createSnapshot(w, 's', b))).toBe('SNAPSHOT_ALREADY_EXISTS');
    expect(await reason(createSnapshot(w, 's', a, { 'retention-days': '2' }))).toBe(
      'SNAPSHOT_ALREADY_EXISTS',
    );
  });

  it('answers from the record the pipeline updates: ready, size and taken-at time', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const a = addClaim(w, 'a', { cluster: 'main' });
    await createSnapshot(w, 's', a);
    const [record] = [...w.snapshotsApi.objects.values()];
    w.snapshotsApi.put({
      ...record!,
      status: { phase: 'Ready', readyToUse: true, sizeBytes: 4096, creationTime: '2030-01-02T03:04:05.250Z' },
    });
    const { snapshot } = await createSnapshot(w, 's', a);
    expect(snapshot).toMatchObject({
      ready_to_use: true,
      size_bytes: 4096,
      creation_time: { seconds: Date.parse('2030-01-02T03:04:05Z') / 1000, nanos: 250_000_000 },
    });
  });

  it('answers a failed record with the code of its reason', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const a = addClaim(w, 'a', { cluster: 'main' });
    await createSnapshot(w, 's', a);
    const [record] = [...w.snapshotsApi.objects.values()];
    w.snapshotsApi.put({
      ...record!,
      status: { phase: 'Failed', reason: 'ETCD_QUORUM_LOST', message: '1 of 3' },
    });
    expect(await reason(createSnapshot(w, 's', a))).toBe('ETCD_QUORUM_LOST');
    // A record as the API may hold it, written by another version: a name outside the vocabulary.
    w.snapshotsApi.put({ ...record!, status: { phase: 'Failed', reason: 'SOMETHING_NEW' as Reason } });
    expect(await reason(createSnapshot(w, 's', a))).toBe('SNAPSHOT_FAILED');
  });

  it('resolves the source volume: malformed, unknown, unbound, no cluster', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    expect(await reason(createSnapshot(w, 's', 'not-a-volume-id'))).toBe('MALFORMED_VOLUME_ID');
    expect(await reason(createSnapshot(w, 's', 'default/nothing'))).toBe('VOLUME_NOT_FOUND');
    const pending = addClaim(w, 'pending', { cluster: 'main', phase: 'Pending' });
    expect(await reason(createSnapshot(w, 's', pending))).toBe('PVC_NOT_BOUND');
    const bare = addClaim(w, 'bare');
    expect(await reason(createSnapshot(w, 's', bare))).toBe('ETCD_CLUSTER_NOT_FOUND');
    // … unless the class names the cluster.
    const { snapshot } = await createSnapshot(w, 's2', bare, { 'etcd-cluster-name': 'main' });
    expect(snapshot.source_volume_id).toBe(bare);
    expect(await reason(createSnapshot(w, '', bare))).toBe('MISSING_NAME');
    expect(await reason(createSnapshot(w, 's', ''))).toBe('MISSING_VOLUME_ID');
  });

  it('takes the cluster from a static PV’s volumeAttributes when the claim has no annotations', async () => {
    const w = world();
    addEtcdCluster(w, 'main', 'etcd');
    const claim = addClaim(w, 'static', { namespace: 'apps' });
    w.stores.persistentVolumes.upsert({
      metadata: { name: 'pv-static' },
      spec: {
        csi: {
          driver: 'etcd-snapshot-driver',
          volumeHandle: claim,
          volumeAttributes: { 'etcd-namespace': 'etcd', 'etcd-cluster-name': 'main' },
        },
      },
    });
    await createSnapshot(w, 's', claim);
    expect([...w.snapshotsApi.objects.values()][0]!.spec.cluster.key).toBe('etcd/main');
  });

  it('answers ABORTED while the record of that name is being deleted', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const a = addClaim(w, 'a', { cluster: 'main' });
    const { snapshot } = await createSnapshot(w, 's', a);
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: snapshot.snapshot_id });
    expect(await reason(createSnapshot(w, 's', a))).toBe('SNAPSHOT_DELETION_IN_PROGRESS');
  });

  it('uses a volume created without a claim', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const { volume } = await createVolume(w, volumeRequest('v'));
    const { snapshot } = await createSnapshot(w, 's', volume.volume_id);
    expect(snapshot.source_volume_id).toBe(volume.volume_id);
  });
});

describe('the call’s AbortSignal', () => {
  it('reaches every API call a handler makes', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const a = addClaim(w, 'a', { cluster: 'main' });
    const call = callContext();
    const { snapshot } = (await w.services.Controller.CreateSnapshot!(
      { name: 's', source_volume_id: a, parameters: {} },
      call,
    )) as CreateSnapshotResponse;
    await w.services.Controller.DeleteSnapshot!({ snapshot_id: snapshot.snapshot_id }, call);
    const { volume } = (await w.services.Controller.CreateVolume!(
      volumeRequest('v'),
      call,
    )) as CreateVolumeResponse;
    await w.services.Controller.DeleteVolume!({ volume_id: volume.volume_id }, call);
    expect(w.snapshotsApi.signals.length).toBeGreaterThan(1);
    expect(w.volumesApi.signals.length).toBeGreaterThan(1);
    expect([...w.snapshotsApi.signals, ...w.volumesApi.signals].every((s) => s === call.signal)).toBe(true);
  });
});

describe('DeleteSnapshot', () => {
  it('requests deletion of the record (the pipeline removes the file); repeats and unknown IDs are OK', async () => {
    const w = world();
    addEtcdCluster(w, 'main');
    const a = addClaim(w, 'a', { cluster: 'main' });
    const { snapshot } = await createSnapshot(w, 's', a);
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: snapshot.snapshot_id });
    const [record] = [...w.snapshotsApi.objects.values()];
    expect(record!.metadata?.deletionTimestamp).toBeTruthy();
    const writes = w.snapshotsApi.writes;
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: snapshot.snapshot_id });
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: 'none-exist-id' });
    expect(w.snapshotsApi.writes).toBe(writes);
    expect(await reason(w.call('Controller', 'DeleteSnapshot', {}))).toBe('MISSING_SNAPSHOT_ID');
  });
});

describe('ListSnapshots', () => {
  async function fiveSnapshots(w: World): Promise<string[]> {
    addEtcdCluster(w, 'main');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = addClaim(w, `v${i}`, { cluster: 'main' });
      ids.push((await createSnapshot(w, `s${i}`, v)).snapshot.snapshot_id);
    }
    return ids.sort();
  }

  it('lists what was just created, before the cache saw it, and omits what was just deleted', async () => {
    const w = world({ propagate: false });
    const ids = await fiveSnapshots(w);
    expect((await list(w)).entries.map((e) => e.snapshot.snapshot_id)).toEqual(ids);
    await w.call('Controller', 'DeleteSnapshot', { snapshot_id: ids[0] });
    expect((await list(w)).entries).toHaveLength(4);
  });

  it('pages with max_entries and starting_token in ID order', async () => {
    const w = world();
    const ids = await fiveSnapshots(w);
    const first = await list(w, { max_entries: 2 });
    expect(first.entries.map((e) => e.snapshot.snapshot_id)).toEqual(ids.slice(0, 2));
    expect(first.next_token).not.toBe('');
    const rest = await list(w, { starting_token: first.next_token });
    expect(rest.entries.map((e) => e.snapshot.snapshot_id)).toEqual(ids.slice(2));
    expect(rest.next_token).toBe('');
    const exact = await list(w, { max_entries: 5 });
    expect(exact.next_token).toBe('');
  });

  it('filters by snapshot_id and source_volume_id', async () => {
    const w = world();
    const ids = await fiveSnapshots(w);
    expect((await list(w, { snapshot_id: ids[3] })).entries.map((e) => e.snapshot.snapshot_id)).toEqual([
      ids[3],
    ]);
    expect((await list(w, { snapshot_id: 'none-exist-id' })).entries).toEqual([]);
    expect(
      (await list(w, { source_volume_id: 'default/v2' })).entries.map((e) => e.snapshot.source_volume_id),
    ).toEqual(['default/v2']);
    expect((await list(w, { source_volume_id: 'fake-vol-id-123' })).entries).toEqual([]);
    expect((await list(w, { snapshot_id: ids[0], source_volume_id: 'default/nope' })).entries).toEqual([]);
  });

  it('answers ABORTED for a token it did not issue, INVALID_ARGUMENT for negative max_entries', async () => {
    const w = world();
    expect(await reason(list(w, { starting_token: 'invalid-token' }))).toBe('INVALID_STARTING_TOKEN');
    expect(await reason(list(w, { max_entries: -1 }))).toBe('INVALID_MAX_ENTRIES');
  });

  it('lists only this driver’s records', async () => {
    const w = world();
    await fiveSnapshots(w);
    const [record] = [...w.snapshotsApi.objects.values()];
    w.snapshotsApi.put({
      ...record!,
      metadata: { name: 'foreign', namespace: 'default' },
      spec: {
        ...record!.spec,
        driverName: 'another-driver',
        members: [{ snapshotId: 'snap-foreign', sourceVolumeId: 'x/y' }],
      },
    });
    expect((await list(w)).entries).toHaveLength(5);
  });
});
