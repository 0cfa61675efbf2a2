// Disaster recovery, first half (issue 13, item 6): a group snapshot is taken and copied to a
// real versitygw on local cluster A; cluster A is torn down; a SECOND local cluster with the
// driver and `--import-from-store` (the store-import controller, in this process as the
// pipeline is) sees the copy as an EtcdSnapshot record: Ready, imported, the db's checksum,
// size and revision and the copy's place, the same CSI IDs — exactly once over several syncs,
// listed by ListSnapshots and found by GetVolumeGroupSnapshot. A bad manifest beside it is
// reported on the Secret and skipped. Deleting the imported record leaves the remote copy (and
// the next sync imports it again).
import { Writable } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListSnapshotsResponse } from '../../../src/csi/messages.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { deployEtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  createVolume,
  groupSnapshotUntilDone,
  pipelineLogger,
  putKeys,
  recordsOfGroup,
  restrictNamespace,
  startPipeline,
} from './env.ts';
import { createSecret, startStoreImport } from './store-import-env.ts';

const NS = 'etcd';
const RECORDS = `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`;
const log = pipelineLogger();
let s3: S3Server;
let outside: S3Client;
let clusterA: LocalCluster | undefined;
let clusterB: LocalCluster | undefined;
const stops: (() => Promise<unknown>)[] = [];
/** Cluster B's driver: what the tests ask. */
let driverB: DriverEnv;

/** What cluster A recorded of its snapshot, to compare the import with. */
let original: EtcdSnapshot;

/** Lines of the store import's log: each sync ends with one "store synced". */
const importLog: Record<string, unknown>[] = [];
const importLogger = createLogger({
  level: 'info',
  format: 'json',
  destination: new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) importLog.push(JSON.parse(line));
      cb();
    },
  }),
});
const syncs = () => importLog.filter((l) => l.message === 'store synced').length;

const skip = localClusterOnly(
  'test/e2e/pipeline/object-store-import.test.ts',
  'runs two local clusters one after the other and a versitygw on the first one’s host address',
);

beforeAll(async () => {
  if (skip) return;
  // Cluster A: a group snapshot copied to the store.
  clusterA = await startLocalCluster({ name: 'import-a' });
  await installCrds(clusterA);
  // The store outlives cluster A: its data directory is its own, not the cluster's.
  s3 = await startS3Server(clusterA.hostIP);
  outside = new S3Client(s3.clientConfig());
  const main = await deployEtcdFixture(clusterA, { name: 'main', namespace: NS, replicas: 1 });
  await main.waitHealthy(120_000);
  await restrictNamespace(clusterA, NS);
  const envA = await startDriver(clusterA, { etcdNamespace: NS, log });
  const pipelineA = startPipeline(envA, log);
  await createSecret(envA, NS, 'store', s3.storeSecretData({ maxAttempts: '2' }));
  const volume = await createVolume(envA, 'main-data', 'main', NS);
  await putKeys(main, { '/dr/a': '1', '/dr/b': '2' });
  const { group, error } = await groupSnapshotUntilDone(envA, 'before-disaster', [volume], 170_000, {
    'object-store-secret': 'store',
  });
  expect(error).toBeUndefined();
  const [made] = await recordsOfGroup(envA, group!.group_snapshot_id);
  expect(made?.status?.remote).toBeDefined();
  original = made!;

  // The disaster: cluster A and everything in it gone.
  await pipelineA.stop({ deadlineMs: 5_000 });
  await envA.stop();
  await clusterA.stop();
  clusterA = undefined;

  // A manifest no driver wrote, beside the good copy: reported and skipped.
  await outside.send(
    new PutObjectCommand({
      Bucket: s3.bucket,
      Key: `${NS}/main/not-a-copy/manifest.json`,
      Body: '{"formatVersion":1}',
    }),
  );

  // Cluster B: the driver installed, the same store configured, --import-from-store.
  clusterB = await startLocalCluster({ name: 'import-b' });
  await installCrds(clusterB);
  await clusterB.kubectl(['create', 'namespace', NS]);
  const envB = await startDriver(clusterB, { etcdNamespace: NS, log });
  stops.push(() => envB.stop());
  const pipelineB = startPipeline(envB, log);
  stops.push(() => pipelineB.stop({ deadlineMs: 5_000 }));
  await createSecret(envB, NS, 'store', s3.storeSecretData({ maxAttempts: '2' }));
  const importer = startStoreImport(envB, [`${NS}/store`], importLogger);
  stops.unshift(() => importer.stop({ deadlineMs: 5_000 }));
  driverB = envB;
}, 600_000);

afterAll(async () => {
  for (const stop of stops) await stop().catch(() => undefined);
  outside?.destroy();
  await s3?.stop();
  await clusterA?.stop();
  await clusterB?.stop();
});

const listRecords = async () =>
  (await driverB.kubeClient.request<{ items: EtcdSnapshot[] }>('GET', RECORDS)).items;

describe.skipIf(skip)('disaster recovery: remote copies imported into a new cluster', () => {
  it('the copy becomes one Ready, imported record with cluster A’s IDs and results, across several syncs', async () => {
    const name = original.metadata?.name ?? '';
    const imported = await waitFor(
      'the imported record to be Ready',
      async () => (await listRecords()).find((r) => r.metadata?.name === name && r.status?.phase === 'Ready'),
      { timeoutMs: 60_000 },
    );
    expect(imported.spec.imported).toEqual({ secretName: 'store', importedAt: expect.any(String) });
    expect(imported.spec).toMatchObject({
      requestKind: 'group',
      requestName: original.spec.requestName,
      groupSnapshotId: original.spec.groupSnapshotId,
      members: original.spec.members.map((m) => ({
        snapshotId: m.snapshotId,
        sourceVolumeId: m.sourceVolumeId,
      })),
      storage: { claimName: original.spec.storage.claimName, path: original.spec.storage.path },
      objectStore: { secretName: 'store', compression: 'zstd' },
      cluster: { key: `${NS}/main`, discoveredBy: 'store-import' },
    });
    const o = original.status!;
    expect(imported.status).toMatchObject({
      phase: 'Ready',
      readyToUse: true,
      checksumSha256: o.checksumSha256,
      sizeBytes: o.sizeBytes,
      revision: o.revision,
      etcdVersion: o.etcdVersion,
      remote: {
        location: o.remote!.location,
        object: o.remote!.object,
        sha256: o.remote!.sha256,
        sizeBytes: o.remote!.sizeBytes,
        compression: o.remote!.compression,
      },
    });
    // No save ran here: the pipeline left the record as imported.
    expect(imported.status?.saveJob).toBeUndefined();

    // Exactly once, whatever the number of syncs.
    const after = syncs();
    await waitFor('three more syncs', () => (syncs() >= after + 3 ? true : undefined), { timeoutMs: 60_000 });
    const all = await listRecords();
    expect(all.map((r) => r.metadata?.name)).toEqual([name]);
    expect(all[0]?.metadata?.resourceVersion).toBe(imported.metadata?.resourceVersion);

    // The bad manifest: a Warning Event on the store Secret, nothing imported from it.
    const events = await driverB.kubeClient.request<{ items: { reason?: string; message?: string }[] }>(
      'GET',
      `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Secret,involvedObject.name=store')}`,
    );
    expect(events.items).toContainEqual(
      expect.objectContaining({
        reason: 'StoreCopyRefused',
        message: expect.stringContaining('not-a-copy/manifest.json'),
      }),
    );
  });

  it('ListSnapshots and GetVolumeGroupSnapshot answer with the imported snapshot', async () => {
    const list = (await driverB.client.Controller.ListSnapshots!({})) as ListSnapshotsResponse;
    const entries = list.entries.map((e) => e.snapshot);
    expect(entries.map((s) => s?.snapshot_id).sort()).toEqual(
      original.spec.members.map((m) => m.snapshotId).sort(),
    );
    for (const s of entries) {
      expect(s).toMatchObject({ ready_to_use: true, size_bytes: original.status!.sizeBytes });
    }
    const group = (await driverB.client.GroupController!.GetVolumeGroupSnapshot!({
      group_snapshot_id: original.spec.groupSnapshotId,
      snapshot_ids: original.spec.members.map((m) => m.snapshotId),
    })) as { group_snapshot?: { ready_to_use?: boolean } };
    expect(group.group_snapshot?.ready_to_use).toBe(true);
  });

  it('deleting the imported record leaves the remote copy; the next sync imports it again', async () => {
    const name = original.metadata?.name ?? '';
    const before = (await listRecords()).find((x) => x.metadata?.name === name);
    await driverB.kubeClient.request('DELETE', `${RECORDS}/${name}`);
    const manifestKey = `${original.status!.remote!.location.replace(`s3://${s3.bucket}/`, '')}manifest.json`;
    await waitFor(
      'the record to be deleted and imported again',
      async () => {
        const r = (await listRecords()).find((x) => x.metadata?.name === name);
        return r && r.metadata?.uid !== before?.metadata?.uid && r.status?.phase === 'Ready' ? r : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const head = await outside.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: manifestKey }));
    expect(head.ContentLength).toBeGreaterThan(0);
  });
});
