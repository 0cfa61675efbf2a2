// The main job: a local Kubernetes built from the pinned upstream components, a 3-member etcd
// cluster, the snapshot stack as a platform team installs it (the snapshot CRDs and
// snapshot-controller, the driver with csi-snapshotter and csi-provisioner from
// deploy/overlays/local under its own RBAC), and a first VolumeGroupSnapshot of the etcd cluster,
// whose ready status, size, revision and file it prints. Runs until Ctrl-C (or SIGTERM), then
// tears everything down.
//
//   npm run local-up
import { deployEtcdFixture } from '../test/harness/etcd-fixture.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import {
  GROUP_SNAPSHOT_CLASS,
  type SnapshotStack,
  startSnapshotStack,
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
  say(`
The cluster is up. In another shell:

  export KUBECONFIG=${cluster.kubeconfigPath}
  export PATH=${cluster.toolsBinDir}:$PATH
  kubectl get nodes,pods -A -o wide
  kubectl -n ${NAMESPACE} get volumegroupsnapshots,volumesnapshots,etcdsnapshots
  kubectl -n ${NAMESPACE} logs demo-0
  etcdctl --endpoints=${(await etcd.endpoints()).join(',')} get /demo/hello

Component logs: ${cluster.dir}/logs
Press Ctrl-C to tear everything down.`);
} catch (err) {
  say(`[local-up] failed: ${err instanceof Error ? err.message : String(err)}`);
  await stop('failure', 1);
}
