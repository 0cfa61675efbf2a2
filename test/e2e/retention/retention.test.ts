// Orphans and retention on the local cluster: the pipeline and the retention controller in-process
// over real informers, sweep Jobs running the driver image through the process kubelet, the
// snapshot CRDs installed (VolumeSnapshotContents made by hand stand in for the CO's).
// Cases share one cluster but not their state: each makes the volume (idempotent CreateVolume),
// snapshots and retention mode it needs, so any one runs alone or in any order.

import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverVolumeGroupSnapshotContents } from '../../../src/informers/discovery.ts';
import { jobs, persistentVolumeClaims, volumeSnapshotContents } from '../../../src/informers/resources.ts';
import { alwaysOwner } from '../../../src/leader/ownership.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import {
  createRetentionController,
  type RetentionController,
} from '../../../src/reconcile/retention/controller-factory.ts';
import type { RetentionMetrics } from '../../../src/reconcile/retention/metrics.ts';
import { type EtcdSnapshot, etcdSnapshotResource } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { installSnapshotCrds } from '../../harness/snapshot-stack.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  AGENT_IMAGE,
  claimDir,
  createVolume,
  EXECUTOR_SA,
  groupSnapshotUntilDone,
  pipelineLogger,
  recordsOfGroup,
  restrictNamespace,
  startPipeline,
} from '../pipeline/env.ts';

const NS = 'etcd';
const DRIVER = 'etcd-snapshot-driver';
const CLAIM = 'etcd-snapshots-main';
let cluster: LocalCluster;
let env: DriverEnv;
let pipeline: Controller;
let retention: RetentionController | undefined;
let deletingOrphanFiles = false;
const log = pipelineLogger();
const orphanCounts: number[] = [];
const metrics: RetentionMetrics = {
  orphanFiles: (_c, n) => void orphanCounts.push(n),
  remoteOrphans() {},
  reportedRecords() {},
  recordDeleted() {},
};

function startRetention(deleteOrphanFiles: boolean): RetentionController {
  const f = env.factory;
  const vgsc = vgscDefinition;
  const controller = createRetentionController({
    client: env.kubeClient,
    informers: {
      etcdSnapshots: f.informerFor(etcdSnapshotResource),
      jobs: f.informerFor(jobs),
      persistentVolumeClaims: f.informerFor(persistentVolumeClaims),
      volumeSnapshotContents: f.informerFor(volumeSnapshotContents),
      ...(vgsc ? { volumeGroupSnapshotContents: f.informerFor(vgsc) } : {}),
    },
    ownership: alwaysOwner,
    logger: log,
    metrics,
    options: {
      driverName: DRIVER,
      orphanGraceMs: 2_000,
      sweepIntervalMs: 4_000,
      orphanFileMinAgeSeconds: 0,
      deleteOrphanFiles,
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
  deletingOrphanFiles = deleteOrphanFiles;
  return controller;
}

/** Restarts the retention controller only if it runs with the other --delete-orphan-files. */
async function retentionDeletingOrphanFiles(deleteOrphanFiles: boolean): Promise<void> {
  if (retention && deletingOrphanFiles === deleteOrphanFiles) return;
  await retention?.stop({ deadlineMs: 5_000 });
  retention = startRetention(deleteOrphanFiles);
}

/** The volume of the `main` cluster: CreateVolume is idempotent, so every case asks for it. */
function mainVolume(): Promise<string> {
  return createVolume(env, 'main-data', 'main', NS);
}
let vgscDefinition: Awaited<ReturnType<typeof discoverVolumeGroupSnapshotContents>>;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'retention' });
  await installCrds(cluster);
  await installSnapshotCrds(cluster);
  const main = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 1 });
  await main.waitHealthy(120_000);
  await restrictNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  vgscDefinition = await discoverVolumeGroupSnapshotContents(env.kubeClient);
  pipeline = startPipeline(env, log);
  retention = startRetention(false);
  // The informers made after the factory started (contents, Jobs) must sync before the CSI serves.
  await env.factory.waitForSync(AbortSignal.timeout(60_000));
});

afterAll(async () => {
  await retention?.stop({ deadlineMs: 5_000 });
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await cluster?.stop();
});

async function snapshot(name: string, volume: string): Promise<EtcdSnapshot> {
  const { group, error } = await groupSnapshotUntilDone(env, name, [volume]);
  expect(error).toBeUndefined();
  const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
  expect(record?.status?.phase).toBe('Ready');
  return record!;
}

/** A VolumeSnapshotContent as the CO would have it for the record's member (no controller acts on it). */
async function createContent(name: string, record: EtcdSnapshot, policy: 'Delete' | 'Retain') {
  await env.kubeClient.request('POST', '/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents', {
    body: {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotContent',
      metadata: { name },
      spec: {
        deletionPolicy: policy,
        driver: DRIVER,
        source: { snapshotHandle: record.spec.members[0]!.snapshotId },
        volumeSnapshotRef: { name: `vs-${name}`, namespace: NS },
      },
    },
  });
}

async function deleteContent(name: string) {
  await env.kubeClient.request('DELETE', `/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${name}`);
}

async function recordExists(name: string): Promise<boolean> {
  return env.kubeClient
    .request('GET', `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots/${name}`)
    .then(
      () => true,
      (err: { statusCode?: number }) => {
        if (err.statusCode === 404) return false;
        throw err;
      },
    );
}

async function eventReasons(objectName: string): Promise<string[]> {
  const list = await env.kubeClient.request<{ items: { reason: string }[] }>(
    'GET',
    `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${objectName}`)}`,
  );
  return list.items.map((e) => e.reason);
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/retention/retention.test.ts',
    'runs the pipeline in this process and plants and reads files on the host path of the snapshot claim',
  ),
)('orphans and retention', () => {
  it('a record whose content went with deletionPolicy Delete is deleted, and its file with it', async () => {
    const volume = await mainVolume();
    const record = await snapshot('orphan-delete', volume);
    const name = record.metadata!.name!;
    const dir = await claimDir(env, NS, record.spec.storage.claimName);
    const file = join(dir, record.status!.backupPath!);
    expect(existsSync(file)).toBe(true);
    await createContent('content-orphan-delete', record, 'Delete');
    // Referenced: kept past the grace. A sentinel of the same cluster, made later and never
    // referenced, is reported only by a pass that judges every record of the cluster after the
    // sentinel's grace, so after the referenced record's grace too.
    const sentinel = await snapshot('grace-sentinel', volume);
    await waitFor(
      'the sentinel to be reported after its grace',
      async () =>
        (await eventReasons(sentinel.metadata!.name!)).includes('OrphanPolicyUnknown') ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(await recordExists(name)).toBe(true);
    expect(await eventReasons(name)).not.toContain('OrphanPolicyUnknown');
    await deleteContent('content-orphan-delete');
    await waitFor(
      'the orphaned record to be gone',
      async () => ((await recordExists(name)) ? undefined : true),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    expect(existsSync(join(file, '..'))).toBe(false);
    expect(await eventReasons(name)).toContain('OrphanDeletePolicy');
  });

  it('unknown policy → kept and reported; expired while referenced → reported; expired unreferenced → deleted', async () => {
    const record = await snapshot('expiring', await mainVolume());
    const name = record.metadata!.name!;
    const dir = await claimDir(env, NS, record.spec.storage.claimName);
    const recordDir = join(dir, record.status!.backupPath!, '..');
    await waitFor(
      'the never-referenced record to be reported',
      async () => ((await eventReasons(name)).includes('OrphanPolicyUnknown') ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(await recordExists(name)).toBe(true);

    await createContent('content-expiring', record, 'Retain');
    // 40 days old by its snapshot time (retention-days defaults to 30).
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await cluster.kubectl([
      'patch',
      'etcdsnapshots.snapshot.etcd-snapshot-driver.io',
      name,
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { creationTime: old } }),
    ]);
    await waitFor(
      'the expired but referenced record to be reported',
      async () => ((await eventReasons(name)).includes('RetentionExpiredReferenced') ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(await recordExists(name)).toBe(true);
    expect(existsSync(recordDir)).toBe(true);

    // Its content goes (with Retain): nothing references it any more and it is expired → deleted.
    await deleteContent('content-expiring');
    await waitFor(
      'the expired record to be gone',
      async () => ((await recordExists(name)) ? undefined : true),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    expect(existsSync(recordDir)).toBe(false);
  });

  it('a planted directory no record owns is reported, survives sweeps without the flag, and is deleted with it', async () => {
    await retentionDeletingOrphanFiles(false);
    const kept = await snapshot('kept', await mainVolume());
    const dir = await claimDir(env, NS, kept.spec.storage.claimName);
    const keptDir = join(dir, kept.status!.backupPath!, '..');
    const planted = join(dir, 'planted-orphan');
    // Writable by the agent's user (65532), as the claim's fsGroup makes the pipeline's own files.
    mkdirSync(planted, { mode: 0o777 });
    chmodSync(planted, 0o777);
    writeFileSync(join(planted, 'snapshot.db'), 'not a snapshot anyone owns', { mode: 0o666 });
    orphanCounts.length = 0;
    await waitFor(
      'two sweeps reporting the planted directory',
      async () => (orphanCounts.filter((n) => n === 1).length >= 2 ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(await eventReasons(CLAIM)).toContain('OrphanedSnapshotFiles');
    expect(existsSync(planted)).toBe(true);

    await retentionDeletingOrphanFiles(true);
    await waitFor(
      'the planted directory to be deleted',
      async () => (existsSync(planted) ? undefined : true),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    await waitFor(
      'the deletion Event',
      async () => ((await eventReasons(CLAIM)).includes('OrphanedSnapshotFilesDeleted') ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // The record's own directory is untouched.
    expect(existsSync(join(keptDir, 'snapshot.db'))).toBe(true);
    expect(await recordExists(kept.metadata!.name!)).toBe(true);
  });
});
