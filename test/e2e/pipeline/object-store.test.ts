// Off-cluster copies through the whole pipeline on the local cluster: group snapshots of classes
// naming an object store are saved, verified, then uploaded by their own Job (the driver image as
// a host process of the process kubelet) to a real versitygw on the cluster's host address —
// plain, zstd, and zstd + encrypted. The test reads the objects back from outside with its own S3
// client and decodes them to the db whose SHA-256 the record holds. A store that does not answer
// and wrong credentials fail the snapshot with the documented reason and leave no multipart
// upload open; a flipped byte in a pipeline-made copy is found by `agent verify --remote` run as
// a Job. The pipeline's metrics (a real registry) count each outcome.
import { createHash, randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../../src/reconcile/controller.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { PromPipelineMetrics } from '../../../src/telemetry/driver-metrics.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { freePort } from '../../harness/free-port.ts';
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
import { flipByte, objectBytes, plainBytes, runVerifyJob } from './remote-checks.ts';

const NS = 'etcd';
let cluster: LocalCluster;
let main: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
let s3: S3Server;
let outside: S3Client;
const registry = new Registry();
const log = pipelineLogger();
const copyKey = randomBytes(32);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The records the copy cases made, by case: the verify case damages one of them. */
const copied = new Map<string, EtcdSnapshot>();

async function createSecret(name: string, data: Record<string, string>): Promise<void> {
  await env.kubeClient.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
  });
}

const storeData = (overrides: Record<string, string> = {}) =>
  s3.storeSecretData({ maxAttempts: '2', ...overrides });

/** The value of one sample of the pipeline's registry (0 when absent). */
async function sample(series: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.slice(0, l.lastIndexOf(' ')) === series);
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function openUploads(): Promise<unknown[]> {
  return (await outside.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads ?? [];
}

async function failedRecordsStatus(): Promise<{ reason?: string; step?: string }[]> {
  const list = await env.kubeClient.request<{ items: EtcdSnapshot[] }>(
    'GET',
    `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`,
  );
  return list.items.flatMap((r) => (r.status?.phase === 'Failed' ? [r.status] : []));
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
  pipeline = startPipeline(env, log, { metrics: new PromPipelineMetrics(registry) });
  await createSecret('store', storeData());
  await createSecret('store-wrong-key', storeData({ secretAccessKey: 'not-the-secret-key' }));
  // A port of the host address nobody listens on: the store does not answer.
  const nowhere = `http://${cluster.hostIP}:${await freePort(cluster.hostIP)}`;
  await createSecret('store-nowhere', storeData({ endpoint: nowhere }));
  await createSecret('copy-key', { key: copyKey.toString('base64') });
  await putKeys(main, { '/app/a': '1', '/app/b': '2' });
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
  it.each<{
    name: string;
    parameters: Record<string, string>;
    compression: 'none' | 'zstd';
    encrypted: boolean;
  }>([
    { name: 'plain', parameters: { compression: 'none' }, compression: 'none', encrypted: false },
    { name: 'zstd', parameters: { compression: 'zstd' }, compression: 'zstd', encrypted: false },
    {
      name: 'encrypted',
      parameters: { 'encryption-key-secret': 'copy-key' },
      compression: 'zstd',
      encrypted: true,
    },
  ])(
    'a group snapshot is Ready only with its $name copy, whose bytes decode to the recorded db',
    async (c) => {
      const volume = await createVolume(env, 'main-data', 'main', NS);
      const started = performance.now();
      const { group, error } = await groupSnapshotUntilDone(env, `copied-${c.name}`, [volume], 170_000, {
        'object-store-secret': 'store',
        ...c.parameters,
      });
      expect(error).toBeUndefined();
      console.log(
        `${c.name}: Create → ready with the copy: ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
      copied.set(c.name, record!);
      const status = record!.status!;
      const remote = status.remote!;
      expect(status).toMatchObject({ phase: 'Ready', readyToUse: true, step: 'Ready' });
      expect(remote.location).toBe(`s3://${s3.bucket}/${NS}/main/${record!.metadata!.name}/`);
      expect(remote.compression).toBe(c.compression);
      if (c.encrypted) expect(remote.keyId).toMatch(/^[0-9a-f]{16}$/);
      else expect(remote.keyId).toBeUndefined();

      const stored = await objectBytes(outside, remote.object);
      expect(sha256(stored)).toBe(remote.sha256);
      expect(stored.length).toBe(remote.sizeBytes);
      const db = await plainBytes(stored, c.compression, c.encrypted ? copyKey : undefined);
      expect(sha256(db)).toBe(status.checksumSha256);
      expect(db.length).toBe(status.sizeBytes);
      const manifest = JSON.parse(
        (await objectBytes(outside, `${remote.location}manifest.json`)).toString('utf8'),
      );
      expect(manifest.db).toEqual({ sha256: status.checksumSha256, sizeBytes: status.sizeBytes });
      expect(manifest.object).toMatchObject({ sha256: remote.sha256, sizeBytes: remote.sizeBytes });
      expect(manifest.compression.algorithm).toBe(c.compression);
      expect(manifest.encryption.algorithm === 'none').toBe(!c.encrypted);
      // The record names the Secrets, never holds their content.
      expect(JSON.stringify(record)).not.toContain(s3.credentials.secretAccessKey);
      expect(JSON.stringify(record)).not.toContain(copyKey.toString('base64'));
    },
  );

  it('counts the copies in the pipeline metrics: outcome, duration by compression, stored bytes', async () => {
    expect(copied.size).toBe(3);
    expect(await sample('etcd_snapshot_remote_copies_total{cluster="etcd/main",status="success"}')).toBe(3);
    expect(await sample('etcd_snapshot_remote_copy_duration_seconds_count{compression="none"}')).toBe(1);
    expect(await sample('etcd_snapshot_remote_copy_duration_seconds_count{compression="zstd"}')).toBe(2);
    const stored = [...copied.values()].reduce((sum, r) => sum + (r.status?.remote?.sizeBytes ?? 0), 0);
    expect(await sample('etcd_snapshot_remote_copy_bytes_total{cluster="etcd/main"}')).toBe(stored);
    expect(await sample('etcd_snapshot_remote_size_bytes{cluster="etcd/main"}')).toBe(
      copied.get('encrypted')?.status?.remote?.sizeBytes,
    );
  });

  // UNAVAILABLE is non-final for csi-snapshotter (docs/csi.md): it calls again and gets the same
  // answer, so the test waits for the answer that names the reason, whatever its code.
  it.each([
    ['a store that does not answer', 'OBJECT_STORE_UNREACHABLE', 'store-nowhere', 14],
    ['wrong credentials', 'OBJECT_STORE_AUTH_FAILED', 'store-wrong-key', 9],
  ])(
    '%s → %s at step Upload, counted, no multipart upload left open',
    async (_what, reason, secret, code) => {
      const volume = await createVolume(env, 'main-data', 'main', NS);
      const refused = await waitFor(
        `group snapshot refused-${secret} to be refused with ${reason}`,
        async () => {
          try {
            await env.client.GroupController.CreateVolumeGroupSnapshot!({
              name: `refused-${secret}`,
              source_volume_ids: [volume],
              parameters: { 'storage-class': 'local-path', 'object-store-secret': secret },
            });
            return undefined;
          } catch (err) {
            const e = err as { code: number; details: string };
            return e.details?.includes(reason) ? e : undefined;
          }
        },
        { timeoutMs: 170_000, intervalMs: 1_000 },
      );
      expect(refused.code).toBe(code);
      expect(await failedRecordsStatus()).toContainEqual(expect.objectContaining({ reason, step: 'Upload' }));
      expect(await openUploads()).toEqual([]);
      expect(
        await sample(`etcd_snapshot_remote_copy_errors_total{cluster="etcd/main",reason="${reason}"}`),
      ).toBe(1);
    },
  );

  it('agent verify --remote, run as a Job, passes the copy the pipeline made and finds a flipped byte in it', async () => {
    const record = copied.get('plain');
    expect(record?.status?.remote).toBeDefined();
    const intact = await runVerifyJob(env, record!, 'verify-intact');
    expect(intact).toMatchObject({ ok: true, sha256: record!.status!.checksumSha256 });

    await flipByte(outside, record!.status!.remote!.object);
    const damaged = await runVerifyJob(env, record!, 'verify-damaged');
    expect(damaged.ok).toBe(false);
    expect(damaged.error?.reason).toBe('CHECKSUM_MISMATCH');
  });
});
