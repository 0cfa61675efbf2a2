// The HA e2e's cluster: the upstream snapshot stack of test/harness/snapshot-stack.ts (snapshot
// CRDs, snapshot-controller) with the driver from test/e2e/ha/overlay — deploy/overlays/local-ha
// (3 replicas, 6 bucket Leases) with faster Lease timings. startSnapshotStack only applies
// deploy/overlays/<name>, and applying another overlay afterwards rolls all three replicas once
// more (minutes here), so this file starts the same pieces itself around its own overlay.
import { join } from 'node:path';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { type ManagedProcess, waitFor } from '../../harness/process.ts';
import {
  DRIVER_NAMESPACE,
  installSnapshotCrds,
  type PodInfo,
  RECORDS,
  SOURCE_STORAGE_CLASS,
  startSnapshotController,
  VOLUME_SNAPSHOT_CLASS,
  type VolumeSnapshotInfo,
} from '../../harness/snapshot-stack.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

export const ETCD_NAMESPACE = 'etcd';
export const REPLICAS = 3;
export const BUCKETS = 6;
/** The overlay's Lease timings (test/e2e/ha/overlay/fast-leases.yaml). */
export const LEASE_DURATION_MS = 6_000;
export const RETRY_PERIOD_MS = 1_000;
const OVERLAY = join(PROJECT_ROOT, 'test/e2e/ha/overlay');
const DRIVER_POD_SELECTOR = 'app.kubernetes.io/name=etcd-snapshot-driver';

export interface HaStack {
  cluster: LocalCluster;
  snapshotController: ManagedProcess;
  fixtures: Map<string, EtcdFixture>;
  getJson<T>(args: readonly string[]): Promise<T>;
  apply(objects: readonly object[]): Promise<void>;
  driverPods(): Promise<PodInfo[]>;
  /** Waits until exactly `want` driver pods exist, none terminating, every container ready. */
  waitDriverReady(want: number, timeoutMs?: number): Promise<PodInfo[]>;
  /** Creates a VolumeSnapshot of the source claim `<cluster>-source`. */
  createVolumeSnapshot(name: string, etcdCluster: string): Promise<void>;
  volumeSnapshots(): Promise<VolumeSnapshotInfo[]>;
  records(): Promise<EtcdSnapshot[]>;
  stop(): Promise<void>;
}

/**
 * A local cluster with the HA driver ready, one single-member etcd fixture per name in
 * `etcdClusters` (namespace `etcd`, executor account installed) and its source claim
 * `<name>-source` of class etcd-source, Bound through csi-provisioner.
 */
export async function startHaStack(name: string, etcdClusters: readonly string[]): Promise<HaStack> {
  const cluster = await startLocalCluster({ name });
  let snapshotController: ManagedProcess | undefined;
  try {
    const kubectl = cluster.kubectl;
    const getJson = async <T>(args: readonly string[]): Promise<T> =>
      JSON.parse((await kubectl(['get', ...args, '-o', 'json'])).stdout) as T;
    const apply = async (objects: readonly object[]) => {
      await kubectl(['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
    };
    await installSnapshotCrds(cluster);
    snapshotController = startSnapshotController(cluster);
    await kubectl(['apply', '-k', OVERLAY]);

    // The fixtures start while the replicas do (the first alone: the fixture's namespace creation
    // is not safe to run concurrently).
    const fixtures = new Map<string, EtcdFixture>();
    const [first, ...rest] = etcdClusters;
    if (first === undefined) throw new Error('startHaStack: etcdClusters must name at least one cluster');
    fixtures.set(
      first,
      await deployEtcdFixture(cluster, { name: first, namespace: ETCD_NAMESPACE, replicas: 1 }),
    );
    const others = await Promise.all(
      rest.map((etcd) => deployEtcdFixture(cluster, { name: etcd, namespace: ETCD_NAMESPACE, replicas: 1 })),
    );
    for (const f of others) fixtures.set(f.name, f);
    await kubectl(['apply', '-n', ETCD_NAMESPACE, '-k', join(PROJECT_ROOT, 'deploy/executor')]);
    for (const f of fixtures.values()) await f.waitHealthy(180_000);

    const controller = snapshotController;
    const driverPods = async () =>
      (await getJson<{ items: PodInfo[] }>(['pods', '-n', DRIVER_NAMESPACE, '-l', DRIVER_POD_SELECTOR]))
        .items;
    const waitDriverReady = (want: number, timeoutMs = 300_000) =>
      waitFor(
        `${want} ready driver pod(s)`,
        async () => {
          const pods = (await driverPods()).filter((p) => !p.metadata.deletionTimestamp);
          const ready = pods.filter((p) => {
            const cs = p.status.containerStatuses ?? [];
            return cs.length === 3 && cs.every((c) => c.ready);
          });
          return ready.length === want && pods.length === want ? ready : undefined;
        },
        {
          timeoutMs,
          intervalMs: 1_000,
          abortIf: () => (controller.hasExited ? 'snapshot-controller exited (see its log)' : undefined),
        },
      );
    await waitDriverReady(REPLICAS);

    await apply(
      etcdClusters.map((etcd) => ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: `${etcd}-source`,
          namespace: ETCD_NAMESPACE,
          annotations: { 'etcd.io/cluster': etcd },
        },
        spec: {
          storageClassName: SOURCE_STORAGE_CLASS,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Mi' } },
        },
      })),
    );
    for (const etcd of etcdClusters)
      await waitFor(
        `claim ${etcd}-source to be Bound`,
        async () =>
          (await getJson<{ status?: { phase?: string } }>(['pvc', `${etcd}-source`, '-n', ETCD_NAMESPACE]))
            .status?.phase === 'Bound'
            ? true
            : undefined,
        { timeoutMs: 120_000, intervalMs: 1_000 },
      );

    return {
      cluster,
      snapshotController: controller,
      fixtures,
      getJson,
      apply,
      driverPods,
      waitDriverReady,
      async createVolumeSnapshot(snapshot, etcdCluster) {
        await apply([
          {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshot',
            metadata: { name: snapshot, namespace: ETCD_NAMESPACE },
            spec: {
              volumeSnapshotClassName: VOLUME_SNAPSHOT_CLASS,
              source: { persistentVolumeClaimName: `${etcdCluster}-source` },
            },
          },
        ]);
      },
      async volumeSnapshots() {
        return (await getJson<{ items: VolumeSnapshotInfo[] }>(['volumesnapshots', '-n', ETCD_NAMESPACE]))
          .items;
      },
      async records() {
        return (await getJson<{ items: EtcdSnapshot[] }>([RECORDS, '-n', ETCD_NAMESPACE])).items;
      },
      async stop() {
        await controller.stop();
        await cluster.stop();
      },
    };
  } catch (err) {
    await snapshotController?.stop();
    await cluster.stop();
    throw err;
  }
}
