// The upstream flow on the local cluster: the real snapshot-controller, csi-snapshotter and
// csi-provisioner (deploy/overlays/local, under the driver's own ServiceAccount and RBAC) drive
// the driver through VolumeGroupSnapshot and VolumeSnapshot objects, as users and Velero do.
// Source claims of class etcd-source: one provisioned dynamically through csi-provisioner (the
// claim's etcd.io/cluster annotation names the cluster), one static PV+PVC pair whose volumeHandle
// is `<ns>/<pvc>`. Cases run in order on one cluster.
// On an existing cluster (ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG) every case runs against the driver
// deployed there; the checks of the snapshot files on the claim's host path are left out, each
// with a line saying so (test/harness/existing-cluster.ts).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { withHostAccess } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import {
  type ContentInfo,
  GROUP_SNAPSHOT_CLASS,
  LABEL_GROUP_SNAPSHOT_ID,
  type SnapshotStack,
  startSnapshotStack,
  VOLUME_SNAPSHOT_CLASS,
  type VolumeGroupSnapshotInfo,
  type VolumeSnapshotInfo,
} from '../../harness/snapshot-stack.ts';
import { tool } from '../../harness/tools.ts';
import { putKeys, restoredKeys, sha256File } from '../pipeline/env.ts';

const execFileAsync = promisify(execFile);
const NS = 'etcd';
const RETAIN_GROUP_CLASS = 'etcd-group-snapshot-retain';
let cluster: LocalCluster;
let etcd: EtcdFixture;
let stack: SnapshotStack;

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

beforeAll(async () => {
  const t0 = performance.now();
  cluster = await startLocalCluster({ name: 'upstream-snapshots' });
  etcd = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 });
  stack = await startSnapshotStack(cluster, { overlay: 'local', etcdNamespaces: [NS] });
  // A group class with deletionPolicy Retain, otherwise as the base's.
  const base = await stack.getJson<{ parameters: Record<string, string> }>([
    'volumegroupsnapshotclass',
    GROUP_SNAPSHOT_CLASS,
  ]);
  await stack.apply([
    {
      apiVersion: 'groupsnapshot.storage.k8s.io/v1',
      kind: 'VolumeGroupSnapshotClass',
      metadata: { name: RETAIN_GROUP_CLASS },
      driver: 'etcd-snapshot-driver',
      deletionPolicy: 'Retain',
      parameters: base.parameters,
    },
  ]);
  await stack.createDynamicSource(NS, 'main-dynamic', 'main', { 'backup.example.com/group': 'main' });
  await stack.createStaticSource(NS, 'main-static', 'main', { 'backup.example.com/group': 'main' });
  await stack.waitBound(NS, 'main-dynamic');
  await stack.waitBound(NS, 'main-static');
  await etcd.waitHealthy(120_000);
  console.log(`setup (cluster, etcd, stack, sources): ${seconds(t0)}`);
}, 420_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

function groupSnapshot(name: string, className: string) {
  return {
    apiVersion: 'groupsnapshot.storage.k8s.io/v1',
    kind: 'VolumeGroupSnapshot',
    metadata: { name, namespace: NS },
    spec: {
      volumeGroupSnapshotClassName: className,
      source: { selector: { matchLabels: { 'backup.example.com/group': 'main' } } },
    },
  };
}

function volumeSnapshot(name: string, claim: string, className: string) {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name, namespace: NS },
    spec: { volumeSnapshotClassName: className, source: { persistentVolumeClaimName: claim } },
  };
}

async function groupRecord(group: VolumeGroupSnapshotInfo): Promise<EtcdSnapshot> {
  const content = await stack.getJson<ContentInfo>([
    'volumegroupsnapshotcontent',
    group.status!.boundVolumeGroupSnapshotContentName!,
  ]);
  const handle = content.status?.volumeGroupSnapshotHandle;
  expect(handle).toMatch(/^grp-/);
  const records = await stack.records(NS, `${LABEL_GROUP_SNAPSHOT_ID}=${handle}`);
  expect(records).toHaveLength(1);
  return records[0]!;
}

/**
 * A Ready record, and its file (with host access): exists, its SHA-256 is the record's, etcdutl
 * reads it. Returns the file's host path ('' when it was not checked).
 */
async function verifyFile(record: EtcdSnapshot): Promise<string> {
  expect(record.status).toMatchObject({ phase: 'Ready', readyToUse: true });
  expect(record.status?.checksumSha256).toMatch(/^[0-9a-f]{64}$/);
  let checked = '';
  await withHostAccess(`the file of record ${record.metadata?.name} (SHA-256, etcdutl status)`, async () => {
    const file = await stack.recordFile(record);
    expect(existsSync(file)).toBe(true);
    expect(sha256File(file)).toBe(record.status!.checksumSha256);
    const { stdout } = await execFileAsync(tool('etcdutl'), ['snapshot', 'status', file, '-w', 'json']);
    const status = JSON.parse(stdout) as { revision: number; totalKey: number; totalSize: number };
    expect(status.revision).toBe(record.status!.revision);
    expect(status.totalKey).toBeGreaterThan(0);
    checked = file;
  });
  return checked;
}

/**
 * The group's two member VolumeSnapshots, ready. csi-snapshotter makes them ready by re-checking
 * their contents (ListSnapshots) — after the group is ready that happens on its resync, which
 * deploy/base sets to 30 s (the default 15 min would fail this wait).
 */
async function membersReady(group: string): Promise<VolumeSnapshotInfo[]> {
  return waitFor(
    `both member VolumeSnapshots of ${group} to be ready`,
    async () => {
      const list = await stack.groupMembers(NS, group);
      return list.length === 2 && list.every((m) => m.status?.readyToUse === true) ? list : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
}

async function contentOf(vs: VolumeSnapshotInfo): Promise<ContentInfo> {
  return stack.getJson<ContentInfo>(['volumesnapshotcontent', vs.status!.boundVolumeSnapshotContentName!]);
}

describe('upstream snapshot-controller + csi-snapshotter + csi-provisioner', () => {
  let firstGroupFile = '';

  it('a VolumeGroupSnapshot (matchLabels) and its member VolumeSnapshots become ready; the file is verified and restores', async () => {
    await putKeys(etcd, { '/app/a': '1', '/app/b': '2' });
    const t = performance.now();
    await stack.apply([groupSnapshot('group-1', GROUP_SNAPSHOT_CLASS)]);
    const group = await stack.waitGroupSnapshotReady(NS, 'group-1');
    console.log(`group-1 ready: ${seconds(t)}`);
    await putKeys(etcd, { '/app/after': 'x' });

    const members = await membersReady('group-1');
    console.log(`group-1 members ready: ${seconds(t)}`);
    expect(members.map((m) => m.spec.source.persistentVolumeClaimName ?? '').sort()).toEqual([
      'main-dynamic',
      'main-static',
    ]);
    const record = await groupRecord(group);
    expect(record.spec.members.map((m) => m.sourceVolumeId).sort()).toEqual([
      `${NS}/main-dynamic`,
      `${NS}/main-static`,
    ]);
    firstGroupFile = await verifyFile(record);
    await withHostAccess('restoring the file of group-1 (its keys)', async () => {
      expect(await restoredKeys(firstGroupFile, cluster.dir)).toEqual(['/app/a', '/app/b']);
    });
  });

  it('a VolumeSnapshot of one source claim becomes ready', async () => {
    const t = performance.now();
    await stack.apply([volumeSnapshot('single-1', 'main-dynamic', VOLUME_SNAPSHOT_CLASS)]);
    const vs = await stack.waitVolumeSnapshotReady(NS, 'single-1');
    console.log(`single-1 ready: ${seconds(t)}`);
    const content = await contentOf(vs);
    expect(content.status?.snapshotHandle).toMatch(/^snap-/);
    const records = (await stack.records(NS)).filter((r) =>
      r.spec.members.some((m) => m.snapshotId === content.status?.snapshotHandle),
    );
    expect(records).toHaveLength(1);
    await verifyFile(records[0]!);
  });

  it('deleting a VolumeGroupSnapshot of deletionPolicy Delete removes its file, record and Jobs; with Retain they stay', async () => {
    const group = await stack.getJson<VolumeGroupSnapshotInfo>(['volumegroupsnapshot', 'group-1', '-n', NS]);
    const record = await groupRecord(group);
    const name = record.metadata!.name!;
    expect((await stack.jobs(NS)).some((j) => j.endsWith(name))).toBe(true);

    // Retain first: a second group of the same claims, deleted; its file and record stay.
    await stack.apply([groupSnapshot('group-retain', RETAIN_GROUP_CLASS)]);
    const retained = await stack.waitGroupSnapshotReady(NS, 'group-retain');
    const retainedRecord = await groupRecord(retained);
    const retainedFile = await verifyFile(retainedRecord);
    await stack.kubectl(['delete', 'volumegroupsnapshot', 'group-retain', '-n', NS, '--timeout=120s']);
    const retainedContent = retained.status!.boundVolumeGroupSnapshotContentName!;
    expect(
      (await stack.getJson<ContentInfo>(['volumegroupsnapshotcontent', retainedContent])).spec.deletionPolicy,
    ).toBe('Retain');

    const t = performance.now();
    await stack.kubectl(['delete', 'volumegroupsnapshot', 'group-1', '-n', NS, '--wait=false']);
    await waitFor(
      'the record of group-1 to be gone',
      async () => ((await stack.records(NS)).some((r) => r.metadata?.name === name) ? undefined : true),
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    console.log(`group-1 deleted → record gone: ${seconds(t)}`);
    await withHostAccess('that the snapshot directory of group-1 is gone', async () => {
      expect(existsSync(dirname(await stack.recordFile(record)))).toBe(false);
    });
    await stack.waitGone(['volumegroupsnapshot', 'group-1', '-n', NS]);
    await waitFor(
      'the garbage collector to remove the Jobs of the deleted record',
      async () => ((await stack.jobs(NS)).some((j) => j.endsWith(name)) ? undefined : true),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    await waitFor(
      'the member VolumeSnapshots of group-1 to be gone',
      async () => ((await stack.groupMembers(NS, 'group-1')).length === 0 ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );

    // Long after the Delete group went, the retained one's record and file are untouched.
    const still = (await stack.records(NS)).find((r) => r.metadata?.name === retainedRecord.metadata!.name);
    expect(still?.status?.readyToUse).toBe(true);
    await withHostAccess('that the file of group-retain is still there, unchanged', () => {
      expect(existsSync(retainedFile)).toBe(true);
      expect(sha256File(retainedFile)).toBe(retainedRecord.status!.checksumSha256);
    });
  });
});
