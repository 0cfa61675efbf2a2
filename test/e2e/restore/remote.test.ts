// A restore from the object store on the local cluster: a real 3-member etcd StatefulSet, a group
// snapshot uploaded by the pipeline (zstd, encrypted) to a real versitygw on the cluster's host
// address, its local file then removed, and an EtcdRestore whose source is the copy's place in the
// store (spec.source.objectStore): the restore makes a snapshot claim that is not there yet (as on
// a new cluster), the fetch Job downloads and verifies the copy into it before anything
// destructive, and every key comes back. A flipped byte in the stored object fails
// the next restore with CHECKSUM_MISMATCH in FetchingRemote: the cluster's keys and pods unchanged,
// its StatefulSet never scaled.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterTurns } from '../../../src/reconcile/cluster-turns.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  claimDir,
  createVolume,
  groupSnapshotUntilDone,
  pipelineLogger,
  putKeys,
  recordsOfGroup,
  startPipeline,
} from '../pipeline/env.ts';
import { createRestore, keysWithValues, phaseLine, prepareNamespace, startRestoreController } from './env.ts';
import { followRestore } from './follow-restore.ts';

const NS = 'etcd';
let cluster: LocalCluster;
let main: EtcdFixture;
let env: DriverEnv;
let s3: S3Server;
let pipeline: Controller;
let restores: Controller;
const turns = new ClusterTurns();
const log = pipelineLogger();

async function createSecret(name: string, data: Record<string, string>): Promise<void> {
  await env.kubeClient.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
  });
}

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'rremote' });
  await installCrds(cluster);
  [main, s3] = await Promise.all([
    deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 }),
    startS3Server(cluster.hostIP, { dir: cluster.dir }),
  ]);
  await main.waitHealthy(120_000);
  await prepareNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  pipeline = startPipeline(env, log, { turns });
  restores = startRestoreController(env, log, turns, {
    snapshotClaim: { defaultStorageClass: 'local-path' },
  });
  await createSecret('store', s3.storeSecretData({ maxAttempts: '2' }));
  await createSecret('copy-key', { key: randomBytes(32).toString('base64') });
  await waitFor('the informers to sync', async () =>
    env.factory.informers().every((i) => i.hasSynced) ? true : undefined,
  );
});

afterAll(async () => {
  await restores?.stop({ deadlineMs: 5_000 });
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await s3?.stop();
  await cluster?.stop();
});

async function statefulSetGeneration(): Promise<number> {
  const s = await env.kubeClient.request<{ metadata: { generation: number } }>(
    'GET',
    `/apis/apps/v1/namespaces/${NS}/statefulsets/main`,
  );
  return s.metadata.generation;
}

async function memberPods(): Promise<string[]> {
  return (await main.pods()).map((p) => `${p.metadata?.name}/${p.metadata?.uid}`).sort();
}

const fromStore = (record: EtcdSnapshot) => ({
  objectStore: {
    secretName: 'store',
    encryptionKeySecret: 'copy-key',
    cluster: 'main',
    snapshot: record.metadata!.name!,
  },
});

describe.skipIf(
  localClusterOnly(
    'test/e2e/restore/remote.test.ts',
    'runs the pipeline and the restore controller in this process, a versitygw on the host address, and edits files on host paths',
  ),
)('EtcdRestore from the object store', () => {
  let record: EtcdSnapshot;

  it('restores every key from the remote copy alone, fetched and verified before the cluster is stopped', async () => {
    const volume = await createVolume(env, 'main-data', 'main', NS);
    const keys: Record<string, string> = {};
    for (let i = 0; i < 50; i++) keys[`/app/k${String(i).padStart(2, '0')}`] = `value-${i}`;
    await putKeys(main, keys);
    const { group, error } = await groupSnapshotUntilDone(env, 'uploaded', [volume], 170_000, {
      'object-store-secret': 'store',
      'encryption-key-secret': 'copy-key',
    });
    expect(error).toBeUndefined();
    [record] = (await recordsOfGroup(env, group!.group_snapshot_id)) as [EtcdSnapshot];
    expect(record.status?.remote?.keyId).toMatch(/^[0-9a-f]{16}$/);

    // The local copy gone: only the store holds the snapshot now.
    const claim = await claimDir(env, NS, record.spec.storage.claimName);
    rmSync(join(claim, record.spec.storage.path));
    await putKeys(main, { '/app/k00': 'changed', '/app/after': 'must-go' });

    // Into a snapshot claim that does not exist yet, as on a new cluster: the restore makes it.
    const source = { objectStore: { ...fromStore(record).objectStore, claimName: 'etcd-snapshots-dr' } };
    await createRestore(env, NS, 'from-store', { source, target: { cluster: 'main' } });
    const { restore, phases } = await followRestore(env, NS, 'from-store', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('restore from the store', phases));
    expect(restore.status?.phase, restore.status?.message).toBe('Completed');
    const seen = phases.map((p) => p.phase);
    expect(seen.indexOf('FetchingRemote')).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('FetchingRemote')).toBeLessThan(seen.indexOf('Quiescing'));
    expect(restore.status?.snapshot).toMatchObject({
      checksumSha256: record.status!.checksumSha256,
      revision: record.status!.revision,
      claimName: 'etcd-snapshots-dr',
      path: 'restore-from-store/snapshot.db',
    });
    const drClaim = await claimDir(env, NS, 'etcd-snapshots-dr');
    expect(existsSync(join(drClaim, 'restore-from-store', 'snapshot.db'))).toBe(true);
    await main.waitHealthy(120_000);
    expect(await keysWithValues(main, '/app/')).toEqual(keys);
  });

  it('a flipped byte in the stored object: Failed with CHECKSUM_MISMATCH before Quiesce, the cluster untouched', async () => {
    const key = record.status!.remote!.object.replace(`s3://${s3.bucket}/`, '');
    const backend = join(s3.dataDir, s3.bucket, key);
    const bytes = readFileSync(backend);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(backend, bytes);
    await putKeys(main, { '/app/later': 'stays' });
    const keysBefore = await keysWithValues(main, '/app/');
    const podsBefore = await memberPods();
    const generationBefore = await statefulSetGeneration();

    await createRestore(env, NS, 'damaged', { source: fromStore(record), target: { cluster: 'main' } });
    const { restore, phases } = await followRestore(env, NS, 'damaged', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('restore from a damaged copy', phases));
    expect(restore.status).toMatchObject({
      phase: 'Failed',
      reason: 'CHECKSUM_MISMATCH',
      failedPhase: 'FetchingRemote',
    });
    expect(restore.status?.recordedReplicas).toBeUndefined();
    expect(phases.map((p) => p.phase)).not.toContain('Quiescing');
    expect(await keysWithValues(main, '/app/')).toEqual(keysBefore);
    expect(await memberPods()).toEqual(podsBefore);
    expect(await statefulSetGeneration()).toBe(generationBefore);
    const claim = await claimDir(env, NS, record.spec.storage.claimName);
    expect(existsSync(join(claim, 'restore-damaged', 'snapshot.db'))).toBe(false);
  });
});
