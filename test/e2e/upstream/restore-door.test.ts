// The CSI restore door end to end: the real snapshot-controller, csi-snapshotter and
// csi-provisioner (deploy/overlays/local) and the deployed driver with its restore engine. A
// claim of the source class whose dataSource is a VolumeSnapshot restores the etcd cluster it
// names and binds afterwards; a claim made like Velero's data-mover "backup PVC" — in another
// namespace, from a pre-provisioned content of the same snapshot — is refused and nothing is
// touched. Cases run in order on one cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdRestore } from '../../../src/records/etcd-restore.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import {
  type ContentInfo,
  type SnapshotStack,
  SOURCE_STORAGE_CLASS,
  startSnapshotStack,
  VOLUME_SNAPSHOT_CLASS,
} from '../../harness/snapshot-stack.ts';
import { putKeys } from '../pipeline/env.ts';

const NS = 'etcd';
const MOVER_NS = 'velero';
let cluster: LocalCluster;
let etcd: EtcdFixture;
let stack: SnapshotStack;

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'upstream-restore-door' });
  etcd = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 1 });
  stack = await startSnapshotStack(cluster, { overlay: 'local', etcdNamespaces: [NS, MOVER_NS] });
  // A restore restarts the fixture's own pods, which do not pass `restricted` (the agent Jobs do).
  await cluster.kubectl([
    'label',
    'namespace',
    NS,
    '--overwrite',
    'pod-security.kubernetes.io/warn=restricted',
  ]);
  await stack.createDynamicSource(NS, 'main-source', 'main');
  await stack.waitBound(NS, 'main-source');
  await etcd.waitHealthy(120_000);
}, 420_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

async function keys(prefix: string): Promise<string[]> {
  const out = await etcd.etcdctl(['get', prefix, '--prefix', '--keys-only']);
  return out.split('\n').filter((l) => l !== '');
}

async function restores(): Promise<EtcdRestore[]> {
  return (await stack.getJson<{ items: EtcdRestore[] }>(['etcdrestores', '-A'])).items;
}

function claimFrom(namespace: string, name: string, snapshot: string, size: string, annotations = {}) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, annotations },
    spec: {
      storageClassName: SOURCE_STORAGE_CLASS,
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshot },
    },
  };
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/upstream/restore-door.test.ts',
    'restores the etcd fixture of the local cluster in place',
  ),
)('the CSI restore door with the real csi-provisioner', () => {
  let snapshotId = '';
  let size = '';

  it('a PVC of the source class with a VolumeSnapshot dataSource restores its cluster, then binds', async () => {
    await putKeys(etcd, { '/door/a': '1', '/door/b': '2' });
    await stack.apply([
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'door-1', namespace: NS },
        spec: {
          volumeSnapshotClassName: VOLUME_SNAPSHOT_CLASS,
          source: { persistentVolumeClaimName: 'main-source' },
        },
      },
    ]);
    const vs = await stack.waitVolumeSnapshotReady(NS, 'door-1');
    const content = await stack.getJson<ContentInfo>([
      'volumesnapshotcontent',
      vs.status!.boundVolumeSnapshotContentName!,
    ]);
    snapshotId = content.status!.snapshotHandle!;
    size = vs.status!.restoreSize!;
    // Written after the snapshot: gone after the restore.
    await putKeys(etcd, { '/door/after': 'x' });

    const t = performance.now();
    await stack.apply([claimFrom(NS, 'main-restored', 'door-1', size, { 'etcd.io/cluster': 'main' })]);
    await stack.waitBound(NS, 'main-restored', 420_000);
    console.log(`claim from door-1 → restored and Bound: ${seconds(t)}`);

    const made = (await restores()).filter((r) => r.metadata?.namespace === NS);
    expect(made).toHaveLength(1);
    expect(made[0]!.spec.target.cluster).toBe('main');
    expect(made[0]!.status?.phase).toBe('Completed');
    // Held by the door until the volume was recorded, released with it (no CreateVolume follows).
    expect(made[0]!.metadata?.finalizers ?? []).toEqual([]);
    // The members were checked against the keys the snapshot held, counted when it was saved.
    expect(made[0]!.status?.snapshot?.keyCount).toBeGreaterThanOrEqual(2);
    expect(made[0]!.status?.result?.totalKeys).toBe(made[0]!.status?.snapshot?.keyCount);
    await etcd.waitHealthy(120_000);
    expect(await keys('/door')).toEqual(['/door/a', '/door/b']);
    const pv = await stack.getJson<{ spec: { csi: { volumeHandle: string } } }>([
      'pv',
      (await stack.getJson<{ spec: { volumeName: string } }>(['pvc', 'main-restored', '-n', NS])).spec
        .volumeName,
    ]);
    expect(pv.spec.csi.volumeHandle).toBe(`${NS}/main-restored`);
  });

  it('a data-mover-style claim in another namespace is refused and nothing is touched', async () => {
    expect(snapshotId).not.toBe('');
    // What Velero's data mover does: a pre-provisioned content of the same snapshot, bound to a
    // VolumeSnapshot in its own namespace, and a "backup PVC" from it there.
    await stack.apply([
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotContent',
        metadata: { name: 'door-mover-content' },
        spec: {
          deletionPolicy: 'Retain',
          driver: 'etcd-snapshot-driver',
          source: { snapshotHandle: snapshotId },
          volumeSnapshotClassName: VOLUME_SNAPSHOT_CLASS,
          volumeSnapshotRef: { name: 'door-mover', namespace: MOVER_NS },
        },
      },
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'door-mover', namespace: MOVER_NS },
        spec: { source: { volumeSnapshotContentName: 'door-mover-content' } },
      },
    ]);
    await stack.waitVolumeSnapshotReady(MOVER_NS, 'door-mover');
    const before = await restores();
    const podsBefore = await etcd.pods();
    await putKeys(etcd, { '/door/kept': 'y' });

    await stack.apply([claimFrom(MOVER_NS, 'backup-pvc', 'door-mover', size)]);
    const event = await waitFor(
      'csi-provisioner to report the refusal on the backup PVC',
      async () => {
        const { items } = await stack.getJson<{ items: { reason: string; message: string }[] }>([
          'events',
          '-n',
          MOVER_NS,
          '--field-selector',
          'involvedObject.name=backup-pvc',
        ]);
        return items.find(
          (e) => e.reason === 'ProvisioningFailed' && /RESTORE_TARGET_UNKNOWN/.test(e.message),
        );
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(event.message).toContain('nothing was restored');
    expect(
      (await stack.getJson<{ status: { phase: string } }>(['pvc', 'backup-pvc', '-n', MOVER_NS])).status
        .phase,
    ).toBe('Pending');
    expect((await restores()).map((r) => r.metadata?.uid)).toEqual(before.map((r) => r.metadata?.uid));
    expect((await etcd.pods()).map((p) => p.metadata?.uid)).toEqual(podsBefore.map((p) => p.metadata?.uid));
    expect(await keys('/door')).toEqual(['/door/a', '/door/b', '/door/kept']);
  });
});
