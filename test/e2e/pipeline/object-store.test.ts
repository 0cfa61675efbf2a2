// Off-cluster copies through the whole pipeline on the local cluster: a group snapshot of a class
// naming an object store is saved, verified, then uploaded by its own Job (the driver image as a
// host process of the process kubelet) to a real versitygw on the cluster's host address; the
// test reads the objects back from outside with the S3 client. Wrong credentials fail the
// snapshot with the documented reason and leave no multipart upload open.
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
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

const NS = 'etcd';
let cluster: LocalCluster;
let main: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
let s3: S3Server;
let outside: S3Client;
const log = pipelineLogger();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function createSecret(name: string, data: Record<string, string>): Promise<void> {
  await env.kubeClient.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
  });
}

const storeData = (overrides: Record<string, string> = {}) =>
  s3.storeSecretData({ maxAttempts: '2', ...overrides });

/** `s3://bucket/key` → the object's bytes, read by a client outside the cluster. */
async function objectBytes(url: string): Promise<Buffer> {
  const key = url.replace(`s3://${s3.bucket}/`, '');
  const r = await outside.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(
    await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'objstore' });
  await installCrds(cluster);
  [main, s3] = await Promise.all([
    deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 1 }),
    startS3Server(cluster.hostIP, { dir: cluster.dir }),
  ]);
  outside = new S3Client(s3.clientConfig());
  await main.waitHealthy(120_000);
  await restrictNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  pipeline = startPipeline(cluster, env, log);
  await createSecret('store', storeData());
  await createSecret('store-wrong-key', storeData({ secretAccessKey: 'not-the-secret-key' }));
  await createSecret('copy-key', { key: randomBytes(32).toString('base64') });
});

afterAll(async () => {
  outside?.destroy();
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await s3?.stop();
  await cluster?.stop();
});

describe.skipIf(
  localClusterOnly(
    'test/e2e/pipeline/object-store.test.ts',
    'runs the pipeline in this process and a versitygw on the host address of the cluster, for its Jobs',
  ),
)('off-cluster copies in the pipeline', () => {
  it('a group snapshot is Ready only with its copy: zstd + encrypted objects whose SHA-256 the record holds', async () => {
    const volume = await createVolume(env, 'main-data', 'main', NS);
    await putKeys(main, { '/app/a': '1', '/app/b': '2' });
    const started = performance.now();
    const { group, error } = await groupSnapshotUntilDone(env, 'copied', [volume], 170_000, {
      'object-store-secret': 'store',
      'encryption-key-secret': 'copy-key',
    });
    expect(error).toBeUndefined();
    console.log(
      `copied: Create → ready with the copy: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
    const remote = record!.status!.remote!;
    expect(record!.status).toMatchObject({ phase: 'Ready', readyToUse: true, step: 'Ready' });
    expect(remote.location).toBe(`s3://${s3.bucket}/${NS}/main/${record!.metadata!.name}/`);
    expect(remote.compression).toBe('zstd');
    expect(remote.keyId).toMatch(/^[0-9a-f]{16}$/);

    const stored = await objectBytes(remote.object);
    expect(sha256(stored)).toBe(remote.sha256);
    expect(stored.length).toBe(remote.sizeBytes);
    const manifest = JSON.parse((await objectBytes(`${remote.location}manifest.json`)).toString('utf8'));
    expect(manifest.db.sha256).toBe(record!.status!.checksumSha256);
    expect(manifest.object.sha256).toBe(remote.sha256);
    // The record names the Secrets, never holds their content.
    expect(JSON.stringify(record)).not.toContain(s3.credentials.secretAccessKey);
  });

  it('wrong credentials → OBJECT_STORE_AUTH_FAILED on the record, no multipart upload left open', async () => {
    const volume = await createVolume(env, 'main-data', 'main', NS);
    const { group, error } = await groupSnapshotUntilDone(env, 'refused', [volume], 170_000, {
      'object-store-secret': 'store-wrong-key',
    });
    expect(group).toBeUndefined();
    expect(error?.details).toContain('OBJECT_STORE_AUTH_FAILED');
    const list = await env.kubeClient.request<{ items: { status?: { reason?: string; step?: string } }[] }>(
      'GET',
      `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`,
    );
    expect(list.items.map((r) => r.status)).toContainEqual(
      expect.objectContaining({ reason: 'OBJECT_STORE_AUTH_FAILED', step: 'Upload' }),
    );
    const open = await outside.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
    expect(open.Uploads ?? []).toEqual([]);
  });
});
