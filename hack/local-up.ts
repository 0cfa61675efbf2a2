// The main job: a local Kubernetes built from the pinned upstream components, a 3-member etcd
// cluster, the snapshot stack as a platform team installs it (the snapshot CRDs and
// snapshot-controller, the driver with csi-snapshotter and csi-provisioner from
// deploy/overlays/local under its own RBAC), and a first VolumeGroupSnapshot of the etcd cluster,
// whose ready status, size, revision and file it prints; then an hourly EtcdSnapshotSchedule of
// the cluster, once the driver finds it valid (its first run comes at the next full hour: waiting
// for it would keep local-up up to an hour). Runs until Ctrl-C (or SIGTERM), then tears
// everything down.
//
//   npm run local-up
import type { EtcdSnapshotSchedule } from '../src/records/etcd-snapshot-schedule.ts';
import { deployEtcdFixture } from '../test/harness/etcd-fixture.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import { waitFor } from '../test/harness/process.ts';
import {
  GROUP_SNAPSHOT_CLASS,
  type SnapshotStack,
  startSnapshotStack,
  VOLUME_SNAPSHOT_CLASS,
} from '../test/harness/snapshot-stack.ts';
import { ensureTools } from '../test/harness/tools.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const NAMESPACE = 'etcd-demo';
const GROUP_LABEL = 'backup.etcd-snapshot-driver.io/group';

await ensureTools(['etcd', 'kubernetes', 'snapshotter', 'provisioner']);
say('[local-up] starting the local cluster …');
const cluster = await startLocalCluster({ name: 'local-up', keepDir: true });
let stack: SnapshotStack | undefined;

let stopping = false;
const stop = async (signal: string, exitCode = 0) => {
  if (stopping) return;
  stopping = true;
  say(`\n[local-up] ${signal}: tearing down …`);
  await stack?.stop();
  await cluster.stop();
  say(`[local-up] stopped. Logs stay in ${cluster.dir}/logs`);
  process.exit(exitCode);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

try {
  say(`[local-up] deploying a 3-member etcd StatefulSet (etcd.io/cluster=demo) in ${NAMESPACE} …`);
  const etcd = await deployEtcdFixture(cluster, { name: 'demo', namespace: NAMESPACE });
  await etcd.etcdctl(['put', '/demo/hello', 'world']);
  const members = await etcd.etcdctl(['member', 'list', '-w', 'table']);
  say(`[local-up] etcd is healthy:\n${members}`);

  say('[local-up] installing the snapshot CRDs and snapshot-controller, and deploy/overlays/local …');
  stack = await startSnapshotStack(cluster, { overlay: 'local', etcdNamespaces: [NAMESPACE] });
  say('[local-up] the driver, csi-snapshotter and csi-provisioner are ready');

  // The etcd source volume: a claim of class etcd-source that stands for the etcd cluster.
  await stack.createDynamicSource(NAMESPACE, 'demo-etcd', 'demo', { [GROUP_LABEL]: 'demo' });
  await stack.waitBound(NAMESPACE, 'demo-etcd');
  say('[local-up] taking VolumeGroupSnapshot demo-1 …');
  await stack.apply([
    {
      apiVersion: 'groupsnapshot.storage.k8s.io/v1',
      kind: 'VolumeGroupSnapshot',
      metadata: { name: 'demo-1', namespace: NAMESPACE },
      spec: {
        volumeGroupSnapshotClassName: GROUP_SNAPSHOT_CLASS,
        source: { selector: { matchLabels: { [GROUP_LABEL]: 'demo' } } },
      },
    },
  ]);
  const started = performance.now();
  await stack.waitGroupSnapshotReady(NAMESPACE, 'demo-1', 300_000);
  const [record] = await stack.groupRecords(NAMESPACE, 'demo-1');
  if (!record?.status?.readyToUse)
    throw new Error('VolumeGroupSnapshot demo-1 is ready but its record is not');
  const status = record.status;
  say(`[local-up] VolumeGroupSnapshot ${NAMESPACE}/demo-1 is ready (${((performance.now() - started) / 1000).toFixed(1)} s):
  readyToUse: ${status.readyToUse}
  size:       ${status.sizeBytes} bytes
  revision:   ${status.revision}
  sha256:     ${status.checksumSha256}
  record:     etcdsnapshot ${NAMESPACE}/${record.metadata?.name}
  file:       ${status.backupPath} in claim ${NAMESPACE}/${record.spec.storage.claimName}
  on host:    ${await stack.recordFile(record)}`);
  say('[local-up] applying EtcdSnapshotSchedule demo-hourly (every hour, keep the last 24) …');
  await stack.apply([
    {
      apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
      kind: 'EtcdSnapshotSchedule',
      metadata: { name: 'demo-hourly', namespace: NAMESPACE },
      spec: {
        schedule: '0 * * * *',
        target: { cluster: 'demo' },
        snapshot: { className: VOLUME_SNAPSHOT_CLASS },
        retention: { keepLast: 24 },
      },
    },
  ]);
  const valid = await waitFor(
    'EtcdSnapshotSchedule demo-hourly to be judged valid',
    async () => {
      const s = await stack?.getJson<EtcdSnapshotSchedule>([
        'etcdsnapshotschedules.snapshot.etcd-snapshot-driver.io',
        'demo-hourly',
        '-n',
        NAMESPACE,
      ]);
      const c = s?.status?.conditions?.find((x) => x.type === 'Valid');
      if (c?.status === 'False') throw new Error(`demo-hourly is not valid: ${c.reason}: ${c.message}`);
      return c?.status === 'True' ? c : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  say(`[local-up] EtcdSnapshotSchedule ${NAMESPACE}/demo-hourly is valid (${valid.message}); its first
  run, a VolumeSnapshot demo-hourly-demo-<hash>-<yyyymmdd>t<hh>0000z, comes at the next full hour`);
  say(`
The cluster is up. In another shell:

  export KUBECONFIG=${cluster.kubeconfigPath}
  export PATH=${cluster.toolsBinDir}:$PATH
  kubectl get nodes,pods -A -o wide
  kubectl -n ${NAMESPACE} get volumegroupsnapshots,volumesnapshots,etcdsnapshots
  kubectl -n ${NAMESPACE} describe etcdsnapshotschedule demo-hourly
  kubectl -n ${NAMESPACE} logs demo-0
  etcdctl --endpoints=${(await etcd.endpoints()).join(',')} get /demo/hello

Component logs: ${cluster.dir}/logs
Press Ctrl-C to tear everything down.`);
} catch (err) {
  say(`[local-up] failed: ${err instanceof Error ? err.message : String(err)}`);
  await stop('failure', 1);
}
