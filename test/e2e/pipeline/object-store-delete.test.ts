// Deletion, retention and the orphan sweep of off-cluster copies through the whole pipeline on the
// local cluster, against a real versitygw on the cluster's host address; the test checks the
// bucket from outside with the S3 client. Deleting a snapshot with a copy removes the local
// directory and every remote object (no multipart upload left open); a store that refuses the
// delete keeps the record, with the reason on it, until the store accepts it again.
import { join } from 'node:path';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, persistentVolumeClaims } from '../../../src/informers/resources.ts';
import { alwaysOwner } from '../../../src/leader/ownership.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import {
  createRetentionController,
  type RetentionController,
} from '../../../src/reconcile/retention/controller-factory.ts';
import { type EtcdSnapshot, etcdSnapshotResource } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  AGENT_IMAGE,
  claimDir,
  createVolume,
  EXECUTOR_SA,
  existsSync,
  groupSnapshotUntilDone,
  pipelineLogger,
  putKeys,
  recordsOfGroup,
  restrictNamespace,
  startPipeline,
} from './env.ts';

const NS = 'etcd';
let cluster: LocalCluster;
let main: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
let s3: S3Server;
let outside: S3Client;
let volume: string;
let retention: RetentionController | undefined;
const remoteOrphanCounts: number[] = [];
const log = pipelineLogger();

/** The retention controller with a fast sweep that deletes confirmed orphans (--delete-orphan-files). */
function startRetention(): RetentionController {
  const f = env.factory;
  const controller = createRetentionController({
    client: env.kubeClient,
    informers: {
      etcdSnapshots: f.informerFor(etcdSnapshotResource),
      jobs: f.informerFor(jobs),
      persistentVolumeClaims: f.informerFor(persistentVolumeClaims),
    },
    ownership: alwaysOwner,
    logger: log,
    metrics: {
      orphanFiles() {},
      remoteOrphans: (_c, n) => void remoteOrphanCounts.push(n),
      reportedRecords() {},
      recordDeleted() {},
    },
    options: {
      driverName: 'etcd-snapshot-driver',
      orphanGraceMs: 2_000,
      sweepIntervalMs: 4_000,
      orphanFileMinAgeSeconds: 0,
      deleteOrphanFiles: true,
      resyncMs: 2_000,
      pollIntervalMs: 1_000,
      job: {
        agentImage: AGENT_IMAGE,
        executorServiceAccount: EXECUTOR_SA,
        jobActiveDeadlineSeconds: 120,
        jobTtlSecondsAfterFinished: 600,
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      },
    },
  });
  controller.start();
  return controller;
}

async function eventReasons(objectName: string): Promise<string[]> {
  const list = await env.kubeClient.request<{ items: { reason: string }[] }>(
    'GET',
    `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${objectName}`)}`,
  );
  return list.items.map((e) => e.reason);
}

async function putSecret(name: string, data: Record<string, string>, method: 'POST' | 'PUT' = 'POST') {
  const path = `/api/v1/namespaces/${NS}/secrets${method === 'PUT' ? `/${name}` : ''}`;
  await env.kubeClient.request(method, path, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
  });
}

const storeData = (overrides: Record<string, string> = {}) =>
  s3.storeSecretData({ maxAttempts: '2', ...overrides });

/** Keys under `<namespace>/<cluster>/<snapshot>/`, and the multipart uploads open there. */
const remoteLeft = (snapshot: string) => s3.keysUnder(`${NS}/main/${snapshot}/`);

async function recordNamed(name: string): Promise<EtcdSnapshot | undefined> {
  return env.kubeClient
    .request<EtcdSnapshot>(
      'GET',
      `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots/${name}`,
    )
    .catch(() => undefined);
}

/** A group snapshot of the main cluster copied to `secret`'s store: its one record. */
async function copiedSnapshot(name: string, secret: string) {
  const { group, error } = await groupSnapshotUntilDone(env, name, [volume], 170_000, {
    'object-store-secret': secret,
  });
  expect(error).toBeUndefined();
  const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
  expect(record!.status?.remote?.location).toBe(`s3://${s3.bucket}/${NS}/main/${record!.metadata!.name}/`);
  return { group: group!, record: record! };
}

async function deleteGroup(group: { group_snapshot_id: string; snapshots: { snapshot_id: string }[] }) {
  await env.client.GroupController.DeleteVolumeGroupSnapshot!({
    group_snapshot_id: group.group_snapshot_id,
    snapshot_ids: group.snapshots.map((s) => s.snapshot_id),
  });
}

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'objdel' });
  await installCrds(cluster);
  [main, s3] = await Promise.all([
    deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 1 }),
    startS3Server(cluster.hostIP, { dir: cluster.dir }),
  ]);
  outside = new S3Client(s3.clientConfig());
  await main.waitHealthy(120_000);
  await restrictNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  pipeline = startPipeline(env, log);
  await putSecret('store', storeData());
  await putSecret('store-flaky', storeData());
  volume = await createVolume(env, 'main-data', 'main', NS);
  await putKeys(main, { '/app/a': '1', '/app/b': '2' });
});

afterAll(async () => {
  outside?.destroy();
  await retention?.stop({ deadlineMs: 5_000 });
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await s3?.stop();
  await cluster?.stop();
});

describe.skipIf(
  localClusterOnly(
    'test/e2e/pipeline/object-store-delete.test.ts',
    'runs the pipeline in this process and a versitygw on the host address of the cluster, for its Jobs',
  ),
)('deleting and sweeping off-cluster copies in the pipeline', () => {
  it('deleting a snapshot with a copy removes its directory and every remote object, no upload left open', async () => {
    const { group, record } = await copiedSnapshot('to-delete', 'store');
    const name = record.metadata!.name!;
    const dir = join(await claimDir(env, NS, record.spec.storage.claimName), name);
    expect(existsSync(dir)).toBe(true);
    expect((await remoteLeft(name)).objects.length).toBeGreaterThanOrEqual(2);

    const started = performance.now();
    await deleteGroup(group);
    await waitFor('the record to be gone', async () => ((await recordNamed(name)) ? undefined : true), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    console.log(`to-delete: Delete → record gone: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(existsSync(dir)).toBe(false);
    expect(await remoteLeft(name)).toEqual({ objects: [], uploads: [] });
  });

  it('a store refusing the delete keeps the record with FilesRemoved=False and the reason, until it accepts', async () => {
    const { group, record } = await copiedSnapshot('refused-delete', 'store-flaky');
    const name = record.metadata!.name!;
    await putSecret('store-flaky', storeData({ secretAccessKey: 'not-the-secret-key' }), 'PUT');
    await deleteGroup(group);
    const blocked = await waitFor(
      'the refusal on the record',
      async () => {
        const r = await recordNamed(name);
        const c = r?.status?.conditions?.find((x) => x.type === 'FilesRemoved');
        return c?.status === 'False' ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(blocked.status).toMatchObject({ reason: 'OBJECT_STORE_AUTH_FAILED' });
    expect(blocked.metadata?.deletionTimestamp).toBeDefined();
    // Nothing was lost: the copy is whole, the local directory still there.
    expect((await remoteLeft(name)).objects).toContain(`${NS}/main/${name}/manifest.json`);
    const dir = join(await claimDir(env, NS, record.spec.storage.claimName), name);
    expect(existsSync(dir)).toBe(true);

    await putSecret('store-flaky', storeData(), 'PUT');
    await waitFor('the record to be gone', async () => ((await recordNamed(name)) ? undefined : true), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    expect(existsSync(dir)).toBe(false);
    expect(await remoteLeft(name)).toEqual({ objects: [], uploads: [] });
  });

  it('a remote snapshot no record owns is reported (metric, Warning on the claim), then deleted with the flag; owned copies stay', async () => {
    const { record } = await copiedSnapshot('keeper', 'store');
    const keeper = record.metadata!.name!;
    const orphan = 'planted-orphan';
    const base = `${NS}/main/${orphan}/`;
    await outside.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${base}snapshot-x.db`, Body: 'db' }));
    await outside.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${base}manifest.json`, Body: '{}' }));
    await outside.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: `${base}snapshot-y.db` }));
    expect((await remoteLeft(orphan)).uploads).toHaveLength(1);

    retention = startRetention();
    const claim = record.spec.storage.claimName;
    await waitFor(
      'the remote orphan to be reported',
      async () => ((await eventReasons(claim)).includes('OrphanedRemoteSnapshots') ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(remoteOrphanCounts).toContain(1);
    await waitFor(
      'the remote orphan to be deleted at a later sweep',
      async () => ((await eventReasons(claim)).includes('OrphanedRemoteSnapshotsDeleted') ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(await remoteLeft(orphan)).toEqual({ objects: [], uploads: [] });
    // The record's own copy is untouched.
    expect((await remoteLeft(keeper)).objects).toContain(`${NS}/main/${keeper}/manifest.json`);
    await waitFor(
      'the gauge to fall to 0',
      async () => (remoteOrphanCounts.at(-1) === 0 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
  });

  it('the scheduled verify finds a flipped byte in the remote object: RemoteCopyVerified=False, CHECKSUM_MISMATCH, a Warning', async () => {
    const { record } = await copiedSnapshot('flipped', 'store');
    const name = record.metadata!.name!;
    const key = record.status!.remote!.object.replace(`s3://${s3.bucket}/`, '');
    const got = await outside.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const bytes = Buffer.from(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await outside.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes }));

    // The same pipeline, now with the schedule on.
    await pipeline.stop({ deadlineMs: 5_000 });
    pipeline = startPipeline(env, log, { options: { remoteVerifyIntervalMs: 5_000 } });
    const marked = await waitFor(
      'the verify to mark the record',
      async () => {
        const r = await recordNamed(name);
        const c = r?.status?.conditions?.find((x) => x.type === 'RemoteCopyVerified');
        return c ? { r, c } : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    expect(marked.c).toMatchObject({ status: 'False', reason: 'CHECKSUM_MISMATCH' });
    expect(marked.r!.status).toMatchObject({ phase: 'Ready', remoteVerifiedAt: expect.any(String) });
    expect(await eventReasons(name)).toContain('RemoteCopyVerifyFailed');
  });
});
