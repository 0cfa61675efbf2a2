// The upstream snapshot stack on a local cluster, as a platform team runs it: the
// external-snapshotter CRDs from the tools cache, the real snapshot-controller, and the driver
// with its csi-snapshotter and csi-provisioner sidecars from a deploy/ overlay (through the
// process kubelet, under the driver's own ServiceAccount and RBAC), plus the executor account in
// each etcd namespace. Used by the upstream e2e (test/e2e/upstream), the HA e2e and local-up.
//
//   const stack = await startSnapshotStack(cluster, { overlay: 'local', etcdNamespaces: ['etcd'] });
//   await stack.createDynamicSource('etcd', 'main-source', 'main', { group: 'a' });
//   … stack.waitGroupSnapshotReady('etcd', 'g1') …
//   await stack.stop();
//
// snapshot-controller runs as a local process with the admin kubeconfig, not as a pod: it is the
// cluster's (not the driver's) component, installed by the cluster operator with its own upstream
// RBAC, which this project does not ship or test; running it beside the control plane keeps its
// logs with the cluster's and its start independent of the process kubelet.
//
// On an existing cluster (ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG, existing-cluster.ts) the stack is
// the one deployed there: its CRDs must be established and the driver's Deployment ready; the
// overlay is not applied, snapshot-controller not started, and stop() leaves the driver running.
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdSnapshot } from '../../src/records/etcd-snapshot.ts';
import { E2E_KUBECONFIG_ENV, existingClusterKubeconfig } from './existing-cluster.ts';
import { waitCrdsEstablished } from './kubectl.ts';
import type { KubectlResult, LocalCluster } from './local-cluster.ts';
import { type ManagedProcess, startProcess, waitFor } from './process.ts';
import { ensureTools, PROJECT_ROOT, tool, toolsDir } from './tools.ts';

export const DRIVER_NAMESPACE = 'etcd-snapshot-driver';
export const DRIVER_NAME = 'etcd-snapshot-driver';
export const SOURCE_STORAGE_CLASS = 'etcd-source';
export const VOLUME_SNAPSHOT_CLASS = 'etcd-snapshot';
export const GROUP_SNAPSHOT_CLASS = 'etcd-group-snapshot';
export const RECORDS = 'etcdsnapshots.snapshot.etcd-snapshot-driver.io';
export const LABEL_GROUP_SNAPSHOT_ID = 'snapshot.etcd-snapshot-driver.io/group-snapshot-id';
const DRIVER_POD_SELECTOR = 'app.kubernetes.io/name=etcd-snapshot-driver';

export type Overlay = 'local' | 'local-ha';

export interface SnapshotStackOptions {
  /** deploy/overlays/<overlay>; default 'local'. */
  overlay?: Overlay;
  /** Namespaces that get deploy/executor (created when missing). */
  etcdNamespaces?: readonly string[];
  /** Extra snapshot-controller flags. */
  snapshotControllerArgs?: readonly string[];
  /**
   * Which snapshot-controller runs: external-snapshotter v8.7.0's (default), or 'velero': v8.4.0,
   * the release Velero v1.18.3 is built against, whose group members' owner references Velero's
   * group backup accepts (hack/tools/snapshotter-velero/go.mod).
   */
  snapshotController?: 'default' | 'velero';
  /** How long to wait for every driver pod's three containers to be ready; default 240 s. */
  readyTimeoutMs?: number;
}

interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export interface PodInfo {
  metadata: ObjectMeta;
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { name: string; ready: boolean; restartCount: number }[];
  };
}

export interface VolumeSnapshotInfo {
  metadata: ObjectMeta;
  spec: { source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string } };
  status?: {
    boundVolumeSnapshotContentName?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    volumeGroupSnapshotName?: string;
    error?: { message?: string };
  };
}

export interface VolumeGroupSnapshotInfo {
  metadata: ObjectMeta;
  status?: {
    boundVolumeGroupSnapshotContentName?: string;
    readyToUse?: boolean;
    creationTime?: string;
    error?: { message?: string };
  };
}

export interface ContentInfo {
  metadata: ObjectMeta;
  spec: { deletionPolicy: 'Delete' | 'Retain'; driver: string };
  status?: { snapshotHandle?: string; volumeGroupSnapshotHandle?: string; readyToUse?: boolean };
}

export interface SnapshotStack {
  cluster: LocalCluster;
  overlay: Overlay;
  /** The harness's snapshot-controller; undefined on an existing cluster (it runs its own). */
  snapshotController: ManagedProcess | undefined;
  /** Admin kubectl (the driver itself runs under its own ServiceAccount). */
  kubectl(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** `kubectl get … -o json`, parsed. */
  getJson<T>(args: readonly string[]): Promise<T>;
  /** `kubectl apply -f -` of objects given as data. */
  apply(objects: readonly object[]): Promise<void>;
  /** Applies deploy/executor into a namespace (created when missing). */
  installExecutor(namespace: string): Promise<void>;
  driverPods(): Promise<PodInfo[]>;
  /** Waits until `replicas` driver pods (default the overlay's) have every container ready. */
  waitDriverReady(replicas?: number, timeoutMs?: number): Promise<PodInfo[]>;
  /** Deletes the driver pods and waits for their replacements to be ready (a RBAC change, a config). */
  restartDriver(timeoutMs?: number): Promise<PodInfo[]>;
  /** A PVC of class etcd-source, provisioned through csi-provisioner, annotated etcd.io/cluster. */
  createDynamicSource(
    namespace: string,
    name: string,
    etcdCluster: string,
    labels?: Record<string, string>,
  ): Promise<void>;
  /** A static PV (volumeHandle `<ns>/<pvc>`) and its PVC of class etcd-source. */
  createStaticSource(
    namespace: string,
    name: string,
    etcdCluster: string,
    labels?: Record<string, string>,
  ): Promise<void>;
  /** Waits until a claim is Bound. */
  waitBound(namespace: string, name: string, timeoutMs?: number): Promise<void>;
  waitVolumeSnapshotReady(namespace: string, name: string, timeoutMs?: number): Promise<VolumeSnapshotInfo>;
  waitGroupSnapshotReady(
    namespace: string,
    name: string,
    timeoutMs?: number,
  ): Promise<VolumeGroupSnapshotInfo>;
  /** VolumeSnapshots of a group (status.volumeGroupSnapshotName, or owned by it). */
  groupMembers(namespace: string, group: string): Promise<VolumeSnapshotInfo[]>;
  /** The driver's EtcdSnapshot records in a namespace (optionally by label selector). */
  records(namespace: string, selector?: string): Promise<EtcdSnapshot[]>;
  /** The records of a VolumeGroupSnapshot (one per etcd cluster), via its content's group handle. */
  groupRecords(namespace: string, group: string): Promise<EtcdSnapshot[]>;
  /** Names of the pipeline's Jobs in a namespace. */
  jobs(namespace: string): Promise<string[]>;
  /** Host directory of the snapshot claim `etcd-snapshots-<cluster>` (the local-path PV). */
  snapshotClaimDir(namespace: string, etcdCluster: string): Promise<string>;
  /** Host path of a Ready record's file (claim dir + status.backupPath). */
  recordFile(record: EtcdSnapshot): Promise<string>;
  /** Snapshot directories in the claim of a cluster (one per record with a file); [] without a claim. */
  snapshotDirs(namespace: string, etcdCluster: string): Promise<string[]>;
  /** Waits until a kubectl-named object is gone. */
  waitGone(args: readonly string[], timeoutMs?: number): Promise<void>;
  /**
   * Stops snapshot-controller and deletes the driver's Deployment (the cluster stays); on an
   * existing cluster, leaves its driver as it was.
   */
  stop(): Promise<void>;
}

export function snapshotCrdsDir(): string {
  return realpathSync(join(toolsDir(), 'snapshot-crds'));
}

/** The external-snapshotter CRDs from the tools cache, established. */
export async function installSnapshotCrds(cluster: LocalCluster): Promise<void> {
  await cluster.kubectl(['apply', '--server-side', '-f', snapshotCrdsDir()]);
  await waitSnapshotCrds(cluster);
}

/** Waits until the external-snapshotter CRDs are established (installed by whoever runs the cluster). */
export async function waitSnapshotCrds(cluster: LocalCluster): Promise<void> {
  await waitCrdsEstablished(
    (args) => cluster.kubectl(args),
    [
      'volumesnapshots.snapshot.storage.k8s.io',
      'volumesnapshotcontents.snapshot.storage.k8s.io',
      'volumesnapshotclasses.snapshot.storage.k8s.io',
      'volumegroupsnapshots.groupsnapshot.storage.k8s.io',
      'volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io',
      'volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io',
    ],
  );
}

/** snapshot-controller from the tools cache, as a local process with the admin kubeconfig. */
export function startSnapshotController(
  cluster: LocalCluster,
  extraArgs: readonly string[] = [],
  release: 'default' | 'velero' = 'default',
): ManagedProcess {
  return startProcess(
    'snapshot-controller',
    tool(release === 'velero' ? 'snapshot-controller-velero' : 'snapshot-controller'),
    [
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '--leader-election=false',
      // Retries back off from 1 s; the default 5 min ceiling would stall a test after a few
      // conflicts on a loaded machine.
      '--retry-interval-max=10s',
      '--v=4',
      // v8.4.0 handles VolumeGroupSnapshots only behind this gate (GA and gateless in v8.7.0).
      ...(release === 'velero' ? ['--feature-gates=CSIVolumeGroupSnapshot=true'] : []),
      ...extraArgs,
    ],
    { logFile: join(cluster.dir, 'logs', 'snapshot-controller.log') },
  );
}

export async function startSnapshotStack(
  cluster: LocalCluster,
  options: SnapshotStackOptions = {},
): Promise<SnapshotStack> {
  const release = options.snapshotController ?? 'default';
  await ensureTools([
    'snapshotter',
    'provisioner',
    ...(release === 'velero' ? (['snapshotter-velero'] as const) : []),
  ]);
  const overlay = options.overlay ?? 'local';
  const existing = existingClusterKubeconfig() !== undefined;
  const kubectl = cluster.kubectl;
  const getJson = async <T>(args: readonly string[]): Promise<T> =>
    JSON.parse((await kubectl(['get', ...args, '-o', 'json'])).stdout) as T;
  const replicas = existing ? await deployedReplicas(getJson) : overlay === 'local-ha' ? 3 : 1;
  const apply = async (objects: readonly object[]) => {
    await kubectl(['apply', '-f', '-'], {
      input: objects.map((o) => JSON.stringify(o)).join('\n'),
    });
  };

  let snapshotController: ManagedProcess | undefined;
  if (existing) {
    console.log(
      `[harness] existing cluster: using its snapshot CRDs, snapshot-controller and the driver deployed ` +
        `in ${DRIVER_NAMESPACE} (${replicas} replica(s)); deploy/overlays/${overlay} is not applied`,
    );
    await waitSnapshotCrds(cluster);
  } else {
    await installSnapshotCrds(cluster);
    snapshotController = startSnapshotController(cluster, options.snapshotControllerArgs, release);
  }

  const installExecutor = async (namespace: string) => {
    await kubectl(['create', 'namespace', namespace]).catch((err: Error) => {
      if (!/AlreadyExists/.test(err.message)) throw err;
    });
    await kubectl(['apply', '-n', namespace, '-k', join(PROJECT_ROOT, 'deploy/executor')]);
  };

  const driverPods = async () =>
    (await getJson<{ items: PodInfo[] }>(['pods', '-n', DRIVER_NAMESPACE, '-l', DRIVER_POD_SELECTOR])).items;

  const waitDriverReady = (want = replicas, timeoutMs = options.readyTimeoutMs ?? 240_000) =>
    waitFor(
      `${want} ready driver pod(s) (driver, csi-snapshotter, csi-provisioner)`,
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
        abortIf: () =>
          snapshotController?.hasExited ? 'snapshot-controller exited (see its log)' : undefined,
      },
    );

  const restartDriver = async (timeoutMs?: number) => {
    const before = new Set((await driverPods()).map((p) => p.metadata.uid));
    await kubectl(['delete', 'pods', '-n', DRIVER_NAMESPACE, '-l', DRIVER_POD_SELECTOR, '--wait=false']);
    await waitFor(
      'the old driver pods to be gone',
      async () => ((await driverPods()).some((p) => before.has(p.metadata.uid)) ? undefined : true),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    return waitDriverReady(replicas, timeoutMs);
  };

  const sourceClaim = (
    namespace: string,
    name: string,
    etcdCluster: string,
    labels: Record<string, string>,
    volumeName?: string,
  ) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels, annotations: { 'etcd.io/cluster': etcdCluster } },
    spec: {
      storageClassName: SOURCE_STORAGE_CLASS,
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Mi' } },
      ...(volumeName ? { volumeName } : {}),
    },
  });

  const claimPv = async (namespace: string, claim: string) => {
    const pvc = await getJson<{ spec?: { volumeName?: string } }>(['pvc', claim, '-n', namespace]);
    if (!pvc.spec?.volumeName) throw new Error(`claim ${namespace}/${claim} is not bound`);
    return getJson<{ spec?: { hostPath?: { path?: string }; local?: { path?: string } } }>([
      'pv',
      pvc.spec.volumeName,
    ]);
  };

  const snapshotClaimDir = async (namespace: string, etcdCluster: string) => {
    const pv = await claimPv(namespace, `etcd-snapshots-${etcdCluster}`);
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!path) throw new Error(`snapshot claim of ${namespace}/${etcdCluster} has no host path PV`);
    return path;
  };

  const records = async (namespace: string, selector?: string) =>
    (
      await getJson<{ items: EtcdSnapshot[] }>([
        RECORDS,
        '-n',
        namespace,
        ...(selector ? ['-l', selector] : []),
      ])
    ).items;

  const stack: SnapshotStack = {
    cluster,
    overlay,
    snapshotController,
    kubectl,
    getJson,
    apply,
    installExecutor,
    driverPods,
    waitDriverReady,
    restartDriver,
    async createDynamicSource(namespace, name, etcdCluster, labels = {}) {
      await apply([sourceClaim(namespace, name, etcdCluster, labels)]);
    },
    async createStaticSource(namespace, name, etcdCluster, labels = {}) {
      const pvName = `etcd-source-${namespace}-${name}`;
      await apply([
        {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: pvName },
          spec: {
            storageClassName: SOURCE_STORAGE_CLASS,
            capacity: { storage: '1Mi' },
            accessModes: ['ReadWriteOnce'],
            // Static: nothing to delete through the driver when the claim goes.
            persistentVolumeReclaimPolicy: 'Retain',
            claimRef: { namespace, name },
            csi: {
              driver: DRIVER_NAME,
              volumeHandle: `${namespace}/${name}`,
              volumeAttributes: { 'etcd-namespace': namespace, 'etcd-cluster-name': etcdCluster },
            },
          },
        },
        sourceClaim(namespace, name, etcdCluster, labels, pvName),
      ]);
    },
    async waitBound(namespace, name, timeoutMs = 120_000) {
      await waitFor(
        `claim ${namespace}/${name} to be Bound`,
        async () => {
          const pvc = await getJson<{ status?: { phase?: string } }>(['pvc', name, '-n', namespace]);
          return pvc.status?.phase === 'Bound' ? true : undefined;
        },
        { timeoutMs, intervalMs: 500 },
      );
    },
    waitVolumeSnapshotReady(namespace, name, timeoutMs = 180_000) {
      return waitFor(
        `VolumeSnapshot ${namespace}/${name} to be readyToUse`,
        async () => {
          const vs = await getJson<VolumeSnapshotInfo>(['volumesnapshot', name, '-n', namespace]);
          if (vs.status?.readyToUse === true) return vs;
          if (vs.status?.error?.message) throw new Error(`status.error: ${vs.status.error.message}`);
          return undefined;
        },
        { timeoutMs, intervalMs: 1_000 },
      );
    },
    waitGroupSnapshotReady(namespace, name, timeoutMs = 180_000) {
      return waitFor(
        `VolumeGroupSnapshot ${namespace}/${name} to be readyToUse`,
        async () => {
          const g = await getJson<VolumeGroupSnapshotInfo>(['volumegroupsnapshot', name, '-n', namespace]);
          if (g.status?.readyToUse === true) return g;
          if (g.status?.error?.message) throw new Error(`status.error: ${g.status.error.message}`);
          return undefined;
        },
        { timeoutMs, intervalMs: 1_000 },
      );
    },
    async groupMembers(namespace, group) {
      const all = (await getJson<{ items: VolumeSnapshotInfo[] }>(['volumesnapshots', '-n', namespace]))
        .items;
      return all.filter(
        (vs) =>
          vs.status?.volumeGroupSnapshotName === group ||
          (vs.metadata as { ownerReferences?: { kind: string; name: string }[] }).ownerReferences?.some(
            (o) => o.kind === 'VolumeGroupSnapshot' && o.name === group,
          ),
      );
    },
    records,
    async groupRecords(namespace, group) {
      const g = await getJson<VolumeGroupSnapshotInfo>(['volumegroupsnapshot', group, '-n', namespace]);
      const contentName = g.status?.boundVolumeGroupSnapshotContentName;
      if (!contentName) throw new Error(`VolumeGroupSnapshot ${namespace}/${group} has no content yet`);
      const content = await getJson<ContentInfo>(['volumegroupsnapshotcontent', contentName]);
      const handle = content.status?.volumeGroupSnapshotHandle;
      if (!handle)
        throw new Error(`VolumeGroupSnapshotContent ${contentName} has no group snapshot handle yet`);
      return records(namespace, `${LABEL_GROUP_SNAPSHOT_ID}=${handle}`);
    },
    async jobs(namespace) {
      return (
        await getJson<{ items: { metadata: ObjectMeta }[] }>([
          'jobs',
          '-n',
          namespace,
          '-l',
          'app=etcd-snapshot-driver',
        ])
      ).items.map((j) => j.metadata.name);
    },
    snapshotClaimDir,
    async recordFile(record) {
      const path = record.status?.backupPath;
      if (!path) throw new Error(`record ${record.metadata?.name} has no status.backupPath`);
      const pv = await claimPv(record.metadata!.namespace!, record.spec.storage.claimName);
      const dir = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
      if (!dir) throw new Error(`claim ${record.spec.storage.claimName} has no host path PV`);
      return join(dir, path);
    },
    async snapshotDirs(namespace, etcdCluster) {
      let dir: string;
      try {
        dir = await snapshotClaimDir(namespace, etcdCluster);
      } catch {
        return [];
      }
      return existsSync(dir) ? readdirSync(dir).sort() : [];
    },
    async waitGone(args, timeoutMs = 120_000) {
      await waitFor(
        `${args.join(' ')} to be gone`,
        async () => {
          try {
            await kubectl(['get', ...args, '-o', 'name']);
            return undefined;
          } catch (err) {
            if (/NotFound|not found/.test((err as Error).message)) return true;
            throw err;
          }
        },
        { timeoutMs, intervalMs: 1_000 },
      );
    },
    async stop() {
      if (existing) return;
      await snapshotController?.stop();
      await kubectl(['delete', 'deployment', DRIVER_NAME, '-n', DRIVER_NAMESPACE, '--wait=false']).catch(
        () => undefined,
      );
    },
  };

  try {
    if (!existing) await kubectl(['apply', '-k', join(PROJECT_ROOT, 'deploy/overlays', overlay)]);
    for (const ns of options.etcdNamespaces ?? []) await installExecutor(ns);
    await waitDriverReady();
  } catch (err) {
    await snapshotController?.stop();
    throw err;
  }
  return stack;
}

/** spec.replicas of the driver's Deployment in an existing cluster; a clear error when it is missing. */
async function deployedReplicas(getJson: <T>(args: readonly string[]) => Promise<T>): Promise<number> {
  let deployment: { spec?: { replicas?: number } };
  try {
    deployment = await getJson(['deployment', DRIVER_NAME, '-n', DRIVER_NAMESPACE]);
  } catch (err) {
    throw new Error(
      `${E2E_KUBECONFIG_ENV}: no Deployment ${DRIVER_NAMESPACE}/${DRIVER_NAME} in that cluster; deploy the ` +
        `driver first (docs/install.md): ${(err as Error).message.slice(0, 300)}`,
    );
  }
  return deployment.spec?.replicas ?? 1;
}
