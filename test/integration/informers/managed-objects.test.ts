// The driver's own informers (createSharedInformers) against a real kube-apiserver: an unrelated
// pod, claim or volume is never cached; etcd members, etcd-druid's pods, the driver's Job pods and
// the claims and volumes it manages are. A pod whose discovery label is removed leaves the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSharedInformers, type SharedInformers } from '../../../src/app/shared-informers.ts';
import { InformerFactory } from '../../../src/informers/informer-factory.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';

const DRIVER = 'etcd-snapshot.test.io';
const NS = 'default';
let cluster: LocalCluster;
let client: KubeClient;
let factory: InformerFactory;
let informers: SharedInformers;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'managed-objects', kubelet: false });
  client = new KubeClient(cluster.kubeConfig);
  // The ServiceAccount admission refuses pods until the namespace's default account exists.
  await waitFor('the default ServiceAccount', async () =>
    client
      .request('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`)
      .then(() => true)
      .catch(() => undefined),
  );
  factory = new InformerFactory(client);
  const log = createLogger({ level: 'error', format: 'json' });
  informers = await createSharedInformers(factory, client, undefined, { log, driverName: DRIVER });
  factory.start();
  await Promise.all([
    informers.pods.waitForSync(),
    informers.statefulSets.waitForSync(),
    informers.persistentVolumeClaims.waitForSync(),
    informers.persistentVolumes.waitForSync(),
  ]);
}, 180_000);

afterAll(async () => {
  await factory?.stop();
  client?.destroy();
  await cluster?.stop();
});

async function pod(name: string, labels: Record<string, string> = {}): Promise<void> {
  await client.request('POST', `/api/v1/namespaces/${NS}/pods`, {
    body: {
      metadata: { name, labels },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'etcd' }] },
    },
  });
}

async function claim(name: string, annotations: Record<string, string> = {}): Promise<void> {
  await client.request('POST', `/api/v1/namespaces/${NS}/persistentvolumeclaims`, {
    body: {
      metadata: { name, annotations },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  });
}

async function volume(name: string, source: Record<string, unknown>): Promise<void> {
  await client.request('POST', '/api/v1/persistentvolumes', {
    body: {
      metadata: { name },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], ...source },
    },
  });
}

const cachedPods = () => [...informers.pods.store.keys()].sort();

describe('the driver’s informers cache only what it manages', () => {
  it('leaves unrelated pods out and keeps etcd members, druid’s pods and the driver’s Job pods', async () => {
    await pod('unrelated-web', { app: 'web' });
    await pod('unrelated-plain');
    await pod('etcd-main-0', { 'etcd.io/cluster': 'main' });
    await pod('druid-main-0', { 'app.kubernetes.io/managed-by': 'etcd-druid' });
    await pod('snapshot-save-x', { app: 'etcd-snapshot-driver' });
    await waitFor('the managed pods cached', () => (cachedPods().length === 3 ? true : undefined));
    expect(cachedPods()).toEqual([`${NS}/druid-main-0`, `${NS}/etcd-main-0`, `${NS}/snapshot-save-x`]);
    expect(informers.pods.store.byIndex('etcd-cluster', `${NS}/main`).map((p) => p.metadata?.name)).toEqual([
      'etcd-main-0',
    ]);
  });

  it('drops a pod whose discovery label is removed', async () => {
    await pod('etcd-gone-0', { 'etcd.io/cluster': 'gone' });
    await waitFor('the pod cached', () => informers.pods.store.get(`${NS}/etcd-gone-0`));
    await client.request('PATCH', `/api/v1/namespaces/${NS}/pods/etcd-gone-0`, {
      body: { metadata: { labels: { 'etcd.io/cluster': null } } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('the pod dropped', () =>
      informers.pods.store.get(`${NS}/etcd-gone-0`) === undefined ? true : undefined,
    );
  });

  it('leaves unrelated claims and volumes out', async () => {
    await claim('unrelated-data');
    await claim('other-provisioner', { 'volume.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com' });
    await volume('unrelated-pv', { hostPath: { path: '/tmp/x' } });
    // Created after the unrelated ones: once these are cached, the watch has shown us those too.
    await claim('source', { 'etcd.io/cluster': 'main' });
    await claim('provisioned', { 'volume.kubernetes.io/storage-provisioner': DRIVER });
    await volume('driver-pv', { csi: { driver: DRIVER, volumeHandle: 'default/vol-1' } });
    const claims = () => [...informers.persistentVolumeClaims.store.keys()].sort();
    await waitFor('the managed claims cached', () => (claims().length === 2 ? true : undefined));
    await waitFor('the driver volume cached', () => informers.persistentVolumes.store.get('driver-pv'));
    expect(claims()).toEqual([`${NS}/provisioned`, `${NS}/source`]);
    expect([...informers.persistentVolumes.store.keys()]).toEqual(['driver-pv']);
  });
});
