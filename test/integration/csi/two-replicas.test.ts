// Two driver instances (two replicas, each with its own caches) against the real apiserver:
// - two first CreateVolumeGroupSnapshot calls with one name and other sources spanning other etcd
//   clusters: exactly one wins, the other answers ALREADY_EXISTS, and nothing of the loser is
//   left — under many interleavings; the same for CreateSnapshot with sources in two namespaces;
// - DeleteSnapshot on a replica whose cache trails the create deletes the record all the same.
// Clusters are named by explicit endpoints on the claims, so no etcd is needed: nothing here
// talks to etcd.
import { status } from '@grpc/grpc-js';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVolumeGroupSnapshotResponse } from '../../../src/csi/messages.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import type { EtcdSnapshotName } from '../../../src/records/etcd-snapshot-name.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import {
  createBoundClaim,
  type DriverEnv,
  installCrds,
  startDriver,
  unreachableClusterAnnotations,
} from './driver-env.ts';

const NS = 'race';
const DRIVER = 'etcd-snapshot-driver';
const RECORDS = '/apis/snapshot.etcd-snapshot-driver.io/v1alpha1';
const ITERATIONS = 24;

let cluster: LocalCluster;
let admin: KubeClient;
let core: CoreV1Api;
let one: DriverEnv;
let two: DriverEnv;

/** A claim bound to a static PV of this driver, standing for etcd cluster `etcd` (by endpoints). */
const boundClaim = (name: string, etcd: string, ns = NS) =>
  createBoundClaim(core, {
    namespace: ns,
    name,
    annotations: unreachableClusterAnnotations(etcd),
    driver: DRIVER,
  });

const records = async (): Promise<EtcdSnapshot[]> =>
  (await admin.request<{ items: EtcdSnapshot[] }>('GET', `${RECORDS}/namespaces/${NS}/etcdsnapshots`)).items;
const claimOf = (groupId: string) =>
  admin.request<EtcdSnapshotName>('GET', `${RECORDS}/etcdsnapshotnames/${groupId}`).then(
    (c) => c,
    () => undefined,
  );

type Outcome = { ok: CreateVolumeGroupSnapshotResponse } | { code: number; details: string };

function create(env: DriverEnv, name: string, ids: string[]): Promise<Outcome> {
  return (
    env.client.GroupController.CreateVolumeGroupSnapshot!({
      name,
      source_volume_ids: ids,
    }) as Promise<CreateVolumeGroupSnapshotResponse>
  ).then(
    (ok) => ({ ok }),
    (err: { code: number; details: string }) => ({ code: err.code, details: err.details }),
  );
}

let sets: { a: string[]; b: string[] };
/** A claim in another namespace, of another cluster: a single snapshot of it gets a record there. */
let elsewhere: string;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'csi-race' });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  admin = new KubeClient(cluster.kubeConfig);
  await installCrds(cluster);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  // A spans clusters c1 and c2, B spans c1 and c3: they meet on c1's record only.
  sets = {
    a: [await boundClaim('a1', 'c1'), await boundClaim('a2', 'c2')],
    b: [await boundClaim('b1', 'c1'), await boundClaim('b3', 'c3')],
  };
  await core.createNamespace({ body: { metadata: { name: `${NS}-b` } } });
  elsewhere = await boundClaim('x1', 'c4', `${NS}-b`);
  [one, two] = [
    await startDriver(cluster, { etcdNamespace: NS }),
    await startDriver(cluster, { etcdNamespace: NS }),
  ];
  for (const env of [one, two]) {
    await waitFor('every claim Bound in the driver cache', () =>
      [...sets.a, ...sets.b].every(
        (id) => env.stores.persistentVolumeClaims.get(id)?.status?.phase === 'Bound',
      )
        ? true
        : undefined,
    );
  }
});

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  admin?.destroy();
  await cluster?.stop();
});

describe('two first calls of one group name with other sources', () => {
  it(`leave exactly one winner and nothing of the loser (${ITERATIONS} interleavings)`, async () => {
    const deadline = Date.now() + 120_000;
    const winners = { a: 0, b: 0 };
    for (let i = 0; i < ITERATIONS && Date.now() < deadline; i++) {
      const name = `race-${i}`;
      // Vary who starts first, by how much, and whether the two calls share a replica.
      const [first, second] = i % 2 ? ([one, two] as const) : ([two, one] as const);
      const other = i % 4 === 3 ? first : second;
      const lead = i % 3; // 0, 1 or 2 event-loop turns of head start
      const pa = create(first, name, sets.a);
      for (let t = 0; t < lead; t++) await new Promise((r) => setImmediate(r));
      const pb = create(other, name, sets.b);
      const [ra, rb] = await Promise.all([pa, pb]);
      const oks = [ra, rb].filter((r) => 'ok' in r);
      expect(oks, `${name}: ${JSON.stringify([ra, rb])}`).toHaveLength(1);
      const loser = ('ok' in ra ? rb : ra) as { code: number; details: string };
      expect(loser.code, loser.details).toBe(status.ALREADY_EXISTS);
      expect(loser.details).toMatch(/^GROUP_SNAPSHOT_ALREADY_EXISTS: /);
      const won = 'ok' in ra ? sets.a : sets.b;
      winners['ok' in ra ? 'a' : 'b']++;
      const groupId = (oks[0] as { ok: CreateVolumeGroupSnapshotResponse }).ok.group_snapshot
        .group_snapshot_id;
      // Only the winner's records exist, covering exactly its sources.
      const mine = (await records()).filter((r) => r.spec.groupSnapshotId === groupId);
      expect(mine.flatMap((r) => r.spec.members.map((m) => m.sourceVolumeId)).sort()).toEqual(
        [...won].sort(),
      );
      expect((await claimOf(groupId))?.spec.sourceVolumeIds).toEqual([...won].sort());
      // The winner's re-calls succeed on either replica; the loser's keep failing.
      for (const env of [one, two]) {
        const again = await create(env, name, won);
        expect('ok' in again, JSON.stringify(again)).toBe(true);
        const lost = await create(env, name, won === sets.a ? sets.b : sets.a);
        expect('code' in lost && lost.code).toBe(status.ALREADY_EXISTS);
      }
    }
    expect(winners.a + winners.b).toBeGreaterThanOrEqual(ITERATIONS / 2);
  });

  it('converge after a crash between the claim and the records; a loser then writes nothing', async () => {
    const name = 'crashed-after-claim';
    const first = await create(one, name, sets.a);
    expect('ok' in first).toBe(true);
    const groupId = (first as { ok: CreateVolumeGroupSnapshotResponse }).ok.group_snapshot.group_snapshot_id;
    // What a crash right after the claim leaves: the claim, no records.
    for (const r of (await records()).filter((x) => x.spec.groupSnapshotId === groupId)) {
      const path = `${RECORDS}/namespaces/${NS}/etcdsnapshots/${r.metadata!.name}`;
      await admin.request('PATCH', path, {
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      });
      await admin.request('DELETE', path);
    }
    for (const env of [one, two]) {
      await waitFor('the records gone from the cache', () =>
        env.stores.etcdSnapshots.byIndex('group-snapshot-id', groupId).length === 0 ? true : undefined,
      );
    }
    const lost = await create(two, name, sets.b);
    expect('code' in lost && lost.code).toBe(status.ALREADY_EXISTS);
    expect((await records()).filter((x) => x.spec.groupSnapshotId === groupId)).toEqual([]);
    const again = await create(two, name, sets.a);
    expect('ok' in again, JSON.stringify(again)).toBe(true);
    const rebuilt = (await records()).filter((x) => x.spec.groupSnapshotId === groupId);
    expect(rebuilt.flatMap((r) => r.spec.members.map((m) => m.sourceVolumeId)).sort()).toEqual(
      [...sets.a].sort(),
    );
  });

  it('DeleteVolumeGroupSnapshot removes the claim, so the name is free again', async () => {
    const name = 'deleted-group';
    const first = await create(one, name, sets.a);
    const groupId = (first as { ok: CreateVolumeGroupSnapshotResponse }).ok.group_snapshot.group_snapshot_id;
    expect(await claimOf(groupId)).toBeDefined();
    await one.client.GroupController.DeleteVolumeGroupSnapshot!({ group_snapshot_id: groupId });
    expect(await claimOf(groupId)).toBeUndefined();
  });
});

describe('two first CreateSnapshot calls of one name with sources in other namespaces', () => {
  it('leave exactly one winner and nothing of the loser (12 interleavings)', async () => {
    const allRecords = async () =>
      (await admin.request<{ items: EtcdSnapshot[] }>('GET', `${RECORDS}/etcdsnapshots`)).items;
    for (let i = 0; i < 12; i++) {
      const name = `single-race-${i}`;
      const [first, second] = i % 2 ? ([one, two] as const) : ([two, one] as const);
      const pa = first.client.Controller.CreateSnapshot!({ name, source_volume_id: sets.a[0] }).then(
        () => 'ok',
        (e: { code: number }) => e.code,
      );
      for (let t = 0; t < i % 3; t++) await new Promise((r) => setImmediate(r));
      const pb = second.client.Controller.CreateSnapshot!({ name, source_volume_id: elsewhere }).then(
        () => 'ok',
        (e: { code: number }) => e.code,
      );
      const outcomes = await Promise.all([pa, pb]);
      expect(
        outcomes.filter((o) => o === 'ok'),
        `${name}: ${outcomes}`,
      ).toHaveLength(1);
      expect(outcomes.filter((o) => o === status.ALREADY_EXISTS)).toHaveLength(1);
      const won = outcomes[0] === 'ok' ? sets.a[0] : elsewhere;
      const mine = (await allRecords()).filter((r) => r.spec.requestName === name);
      expect(mine.map((r) => r.spec.members[0]!.sourceVolumeId)).toEqual([won]);
    }
  });
});

describe('DeleteSnapshot on a replica whose cache trails the create', () => {
  let stale: DriverEnv;
  beforeAll(async () => {
    // Its informers stop now: it never sees the records made below.
    stale = await startDriver(cluster, { etcdNamespace: NS, cachesSynced: () => true });
    await stale.factory.stop();
  });
  afterAll(async () => {
    await stale?.stop();
  });

  const record = async (snapshotId: string) =>
    (await records()).find((r) => r.spec.members.some((m) => m.snapshotId === snapshotId));

  it('deletes a single snapshot’s record, asking the API', async () => {
    const { snapshot } = (await one.client.Controller.CreateSnapshot!({
      name: 'lagging-single',
      source_volume_id: sets.a[0],
    })) as { snapshot: { snapshot_id: string } };
    expect(stale.stores.etcdSnapshots.byIndex('snapshot-id', snapshot.snapshot_id)).toEqual([]);
    await stale.client.Controller.DeleteSnapshot!({ snapshot_id: snapshot.snapshot_id });
    expect((await record(snapshot.snapshot_id))?.metadata?.deletionTimestamp).toBeTruthy();
  });

  it('marks a group member, asking the API', async () => {
    const { group_snapshot: g } = (await one.client.GroupController.CreateVolumeGroupSnapshot!({
      name: 'lagging-group',
      source_volume_ids: [sets.a[0], sets.b[0]], // both of cluster c1: one record, two members
    })) as CreateVolumeGroupSnapshotResponse;
    const first = g.snapshots[0]!.snapshot_id;
    await stale.client.Controller.DeleteSnapshot!({ snapshot_id: first });
    const marked = await record(first);
    expect(marked?.spec.members.find((m) => m.snapshotId === first)?.deletionRequested).toBe(true);
    expect(marked?.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('answers OK without an API call for an ID this driver never makes', async () => {
    const reads = stale.apiCalls.reads;
    await stale.client.Controller.DeleteSnapshot!({ snapshot_id: 'fake-snapshot-id' });
    expect(stale.apiCalls.reads).toBe(reads);
  });
});
