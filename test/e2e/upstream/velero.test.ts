// Velero and this driver on one local cluster, against the real snapshot-controller and
// csi-snapshotter (external-snapshotter v8.7.0): first Velero ≥ 1.17's group backup and its
// deletion replayed as API calls (velero-replay.cases.ts), then the real Velero server v1.18.3
// (velero-server.cases.ts and the cases it runs). One cluster and one etcd fixture for all: the
// cases run in order. The source claims carry `velero.io/volume-group-snapshot`, which the replay
// uses as its group label and which Velero 1.18 (key `velero.io/volume-group`) does not group by.
import { afterAll, beforeAll } from 'vitest';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { type SnapshotStack, startSnapshotStack } from '../../harness/snapshot-stack.ts';
import { NS, seconds } from './velero-context.ts';
import { GROUP_LABEL, veleroReplayCases } from './velero-replay.cases.ts';
import { realVeleroServer } from './velero-server.cases.ts';

let cluster: LocalCluster;
let etcd: EtcdFixture;
let stack: SnapshotStack;

beforeAll(async () => {
  const t0 = performance.now();
  cluster = await startLocalCluster({ name: 'upstream-velero' });
  etcd = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 1 });
  stack = await startSnapshotStack(cluster, { overlay: 'local', etcdNamespaces: [NS] });
  await stack.createDynamicSource(NS, 'main-dynamic', 'main', { [GROUP_LABEL]: 'etcd-main' });
  await stack.createStaticSource(NS, 'main-static', 'main', { [GROUP_LABEL]: 'etcd-main' });
  await stack.waitBound(NS, 'main-dynamic');
  await stack.waitBound(NS, 'main-static');
  await etcd.waitHealthy(120_000);
  console.log(`setup (cluster, etcd, stack, sources): ${seconds(t0)}`);
}, 420_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

veleroReplayCases(() => ({ cluster, etcd, stack }));
realVeleroServer(() => ({ cluster, etcd, stack }));
