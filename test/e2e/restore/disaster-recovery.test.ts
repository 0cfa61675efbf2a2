// Disaster recovery end to end (issue 13, item 6), the runbook of docs/object-store.md as a user
// runs it: local cluster A's pipeline takes a group snapshot of its etcd with a zstd, encrypted
// copy in a real versitygw; cluster A is torn down (its etcd, claims and records gone with it); a
// SECOND local cluster gets the driver, the same store and key Secrets, a fresh empty etcd of the
// same name and `--import-from-store` (the store-import controller, in this process as the
// pipeline and the restore engine are). The copy becomes an imported record; an EtcdRestore
// naming it (source.etcdSnapshot, with the key Secret) fetches and verifies the copy into a
// snapshot claim the restore makes, before anything destructive, and every key comes back.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterTurns } from '../../../src/reconcile/cluster-turns.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
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
  startPipeline,
} from '../pipeline/env.ts';
import { createSecret, startStoreImport } from '../pipeline/store-import-env.ts';
import { createRestore, keysWithValues, phaseLine, prepareNamespace, startRestoreController } from './env.ts';
import { followRestore } from './follow-restore.ts';

const NS = 'etcd';
const RECORDS = `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`;
const log = pipelineLogger();
/** The key Secret's content: kept outside cluster A, as the runbook asks, and given to B. */
const KEY = randomBytes(32).toString('base64');
const KEYS: Record<string, string> = {};
for (let i = 1; i <= 40; i++) KEYS[`/dr/k${String(i).padStart(2, '0')}`] = `value-${i}`;

let s3: S3Server;
let clusterA: LocalCluster | undefined;
let clusterB: LocalCluster | undefined;
const stops: (() => Promise<unknown>)[] = [];
let envB: DriverEnv;
let mainB: EtcdFixture;
/** What cluster A recorded of its snapshot. */
let original: EtcdSnapshot;

const skip = localClusterOnly(
  'test/e2e/restore/disaster-recovery.test.ts',
  'runs two local clusters one after the other, the controllers in this process and a versitygw on the first one’s host address',
);

/** Cluster A: its etcd holds KEYS; a group snapshot copied to the store; then all of it gone. */
async function snapshotThenLoseClusterA(a: LocalCluster): Promise<void> {
  await installCrds(a);
  const main = await deployEtcdFixture(a, { name: 'main', namespace: NS, replicas: 1 });
  await main.waitHealthy(120_000);
  await prepareNamespace(a, NS);
  const envA = await startDriver(a, { etcdNamespace: NS, log });
  const pipelineA = startPipeline(envA, log);
  await createSecret(envA, NS, 'store', s3.storeSecretData({ maxAttempts: '2' }));
  await createSecret(envA, NS, 'copy-key', { key: KEY });
  const volume = await createVolume(envA, 'main-data', 'main', NS);
  await putKeys(main, KEYS);
  const { group, error } = await groupSnapshotUntilDone(envA, 'before-disaster', [volume], 170_000, {
    'object-store-secret': 'store',
    'encryption-key-secret': 'copy-key',
  });
  expect(error).toBeUndefined();
  const [made] = await recordsOfGroup(envA, group!.group_snapshot_id);
  expect(made?.status?.remote?.keyId).toMatch(/^[0-9a-f]{16}$/);
  original = made!;
  await pipelineA.stop({ deadlineMs: 5_000 });
  await envA.stop();
  await a.stop();
  clusterA = undefined;
}

beforeAll(async () => {
  if (skip) return;
  clusterA = await startLocalCluster({ name: 'dr-a' });
  // The store outlives cluster A: its data directory is its own, not the cluster's.
  s3 = await startS3Server(clusterA.hostIP);
  await snapshotThenLoseClusterA(clusterA);

  // Cluster B, runbook steps 1–3: the driver, a fresh etcd of the same name, the same Secrets,
  // --import-from-store.
  clusterB = await startLocalCluster({ name: 'dr-b' });
  await installCrds(clusterB);
  mainB = await deployEtcdFixture(clusterB, { name: 'main', namespace: NS, replicas: 1 });
  await mainB.waitHealthy(120_000);
  await prepareNamespace(clusterB, NS);
  envB = await startDriver(clusterB, { etcdNamespace: NS, log });
  stops.push(() => envB.stop());
  const turns = new ClusterTurns();
  const pipelineB = startPipeline(envB, log, { turns });
  stops.unshift(() => pipelineB.stop({ deadlineMs: 5_000 }));
  const restores = startRestoreController(envB, log, turns, {
    snapshotClaim: { defaultStorageClass: 'local-path' },
  });
  stops.unshift(() => restores.stop({ deadlineMs: 5_000 }));
  await createSecret(envB, NS, 'store', s3.storeSecretData({ maxAttempts: '2' }));
  await createSecret(envB, NS, 'copy-key', { key: KEY });
  const importer = startStoreImport(envB, [`${NS}/store`], log);
  stops.unshift(() => importer.stop({ deadlineMs: 5_000 }));
}, 600_000);

afterAll(async () => {
  for (const stop of stops) await stop().catch(() => undefined);
  await s3?.stop();
  await clusterA?.stop();
  await clusterB?.stop();
});

describe.skipIf(skip)('disaster recovery: import from the store, then restore', () => {
  it('a second cluster imports the lost cluster’s snapshot and restores every key from it', async () => {
    const name = original.metadata!.name!;
    // Runbook step 4: the record appears, Ready, imported; nothing of it is on this cluster.
    const imported = await waitFor(
      'the imported record to be Ready',
      async () => {
        const { items } = await envB.kubeClient.request<{ items: EtcdSnapshot[] }>('GET', RECORDS);
        return items.find((r) => r.metadata?.name === name && r.status?.phase === 'Ready');
      },
      { timeoutMs: 60_000 },
    );
    expect(imported.spec.imported?.secretName).toBe('store');
    expect(imported.status?.remote?.keyId).toBe(original.status!.remote!.keyId);
    const claim = imported.spec.storage.claimName;
    await expect(
      envB.kubeClient.request('GET', `/api/v1/namespaces/${NS}/persistentvolumeclaims/${claim}`),
    ).rejects.toMatchObject({ statusCode: 404 });
    expect(await keysWithValues(mainB, '/dr/')).toEqual({});

    // Runbook step 5: an EtcdRestore naming the imported record, with the copy's key Secret.
    await createRestore(envB, NS, 'after-disaster', {
      source: { etcdSnapshot: { name, encryptionKeySecret: 'copy-key' } },
      target: { cluster: 'main' },
    });
    const { restore, phases } = await followRestore(envB, NS, 'after-disaster', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('disaster recovery restore', phases));
    expect(restore.status?.phase, restore.status?.message).toBe('Completed');
    const seen = phases.map((p) => p.phase);
    expect(seen).toContain('FetchingRemote');
    expect(seen.indexOf('FetchingRemote')).toBeLessThan(seen.indexOf('Quiescing'));
    expect(restore.status?.snapshot).toMatchObject({
      record: name,
      checksumSha256: original.status!.checksumSha256,
      revision: original.status!.revision,
      claimName: claim,
      path: original.spec.storage.path,
    });
    await mainB.waitHealthy(120_000);
    expect(await keysWithValues(mainB, '/dr/')).toEqual(KEYS);
  });
});
