// Informers against a real kube-apiserver: pagination, watch events, an apiserver restart, a
// resourceVersion compacted away (410 → relist with deletes), and a watch that goes silent.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { discoverVolumeGroupSnapshotContents } from '../../../src/informers/discovery.ts';
import { Informer } from '../../../src/informers/informer.ts';
import { InformerFactory } from '../../../src/informers/informer-factory.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { kubeListWatch } from '../../../src/informers/kube-list-watch.ts';
import type { ReflectorOptions } from '../../../src/informers/list-watch.ts';
import { leases, type ResourceDefinition } from '../../../src/informers/resources.ts';
import { type InformerEvent, objectKey } from '../../../src/informers/store-types.ts';
import type { Wire } from '../../../src/informers/wire.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { toolsDir } from '../../harness/tools.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

type ConfigMap = Wire<import('@kubernetes/client-node').V1ConfigMap>;

const configMaps: ResourceDefinition<ConfigMap> = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};

const LABEL = 'informer-test';
let cluster: LocalCluster;
let client: KubeClient;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'informers', kubelet: false });
  client = new KubeClient(cluster.kubeConfig);
});

afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  client?.destroy();
  await cluster?.stop();
});

let namespaceCounter = 0;
async function freshNamespace(): Promise<string> {
  const name = `inf-${++namespaceCounter}`;
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name } } });
  return name;
}

async function createConfigMap(namespace: string, name: string, value = 'v1'): Promise<void> {
  await client.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, {
    body: { metadata: { name, labels: { [LABEL]: 'yes' } }, data: { value } },
  });
}

async function updateConfigMap(namespace: string, name: string, value: string): Promise<void> {
  await client.request('PATCH', `/api/v1/namespaces/${namespace}/configmaps/${name}`, {
    body: { data: { value } },
    contentType: 'application/merge-patch+json',
  });
}

async function deleteConfigMap(namespace: string, name: string): Promise<void> {
  await client.request('DELETE', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
}

/** key → resourceVersion of the labelled ConfigMaps of a namespace, as the server has them now. */
async function serverState(namespace: string): Promise<Map<string, string>> {
  const list = await client.request<{ items: ConfigMap[] }>(
    'GET',
    `/api/v1/namespaces/${namespace}/configmaps`,
    {
      query: { labelSelector: `${LABEL}=yes` },
    },
  );
  return new Map(list.items.map((o) => [objectKey(o), o.metadata!.resourceVersion!]));
}

function cacheState(informer: Informer<ConfigMap>): Map<string, string> {
  return new Map(informer.store.list().map((o) => [objectKey(o), o.metadata!.resourceVersion!]));
}

async function expectConverged(informer: Informer<ConfigMap>, namespace: string, timeout = 30_000) {
  await vi.waitFor(async () => expect(cacheState(informer)).toEqual(await serverState(namespace)), {
    timeout,
    interval: 200,
  });
}

function startInformer(via: KubeClient, namespace: string, reflector: Partial<ReflectorOptions> = {}) {
  const informer = new Informer(
    configMaps,
    kubeListWatch(via, configMaps, { namespace, labelSelector: `${LABEL}=yes` }),
    { reflector: { backoff: { initialMs: 200, maxMs: 2_000 }, ...reflector } },
  );
  const events: InformerEvent<ConfigMap>[] = [];
  informer.events$.subscribe((e) => events.push(e));
  informer.start();
  cleanup.push(() => informer.stop());
  return { informer, events };
}

/** A client whose requests go through the proxy. */
function clientVia(proxy: TcpProxy): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromString(cluster.kubeConfig.exportConfig());
  const current = kc.getCurrentCluster()!;
  kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server: proxy.url } : c));
  const proxied = new KubeClient(kc);
  cleanup.push(() => proxied.destroy());
  return proxied;
}

async function proxy(): Promise<TcpProxy> {
  const url = new URL(cluster.apiserverUrl);
  const p = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
  cleanup.push(() => p.close());
  return p;
}

describe('Informer against kube-apiserver', () => {
  it('lists page by page with a label selector, then follows creates, updates and deletes', async () => {
    const ns = await freshNamespace();
    for (let i = 0; i < 23; i++) await createConfigMap(ns, `cm-${i}`);
    await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: { metadata: { name: 'unlabelled' }, data: {} },
    });
    const { informer, events } = startInformer(client, ns, { pageSize: 5 });
    await informer.waitForSync();
    expect(informer.stats.lists).toBe(5);
    expect(informer.store.size).toBe(23);
    expect(informer.store.get(`${ns}/cm-0`)?.kind).toBe('ConfigMap');
    expect(informer.store.get(`${ns}/cm-0`)?.metadata?.managedFields).toBeUndefined();
    events.length = 0;
    await createConfigMap(ns, 'new');
    await updateConfigMap(ns, 'cm-1', 'v2');
    await deleteConfigMap(ns, 'cm-2');
    await vi.waitFor(() => expect(events).toHaveLength(3));
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual([
      'added new',
      'modified cm-1',
      'deleted cm-2',
    ]);
    const modified = events[1] as Extract<InformerEvent<ConfigMap>, { type: 'modified' }>;
    expect([modified.old.data?.value, modified.object.data?.value]).toEqual(['v1', 'v2']);
    await expectConverged(informer, ns);
  });

  it('survives an apiserver restart and ends holding exactly the server’s objects', async () => {
    const ns = await freshNamespace();
    for (let i = 0; i < 5; i++) await createConfigMap(ns, `cm-${i}`);
    const { informer } = startInformer(client, ns);
    await informer.waitForSync();
    await cluster.restartApiserver();
    await createConfigMap(ns, 'after-restart');
    await updateConfigMap(ns, 'cm-0', 'changed');
    await deleteConfigMap(ns, 'cm-1');
    await expectConverged(informer, ns);
    expect(informer.stats.watches).toBeGreaterThan(1);
  });

  it('relists after its resourceVersion was compacted away (410), emitting deletes for vanished objects', async () => {
    const p = await proxy();
    const ns = await freshNamespace();
    for (let i = 0; i < 6; i++) await createConfigMap(ns, `cm-${i}`);
    const { informer, events } = startInformer(clientVia(p), ns);
    await informer.waitForSync();
    await vi.waitFor(() => expect(informer.stats.watches).toBe(1));
    // The informer hears nothing while its objects change, then its version is compacted away
    // in etcd and (by the restart) in the apiserver's watch cache.
    p.pause();
    await deleteConfigMap(ns, 'cm-0');
    await deleteConfigMap(ns, 'cm-1');
    await updateConfigMap(ns, 'cm-2', 'changed');
    await createConfigMap(ns, 'created-meanwhile');
    await cluster.compactEtcd();
    await cluster.restartApiserver();
    events.length = 0;
    p.resume();
    await expectConverged(informer, ns);
    expect(informer.stats.expired).toBeGreaterThanOrEqual(1);
    expect(informer.stats.lists).toBeGreaterThanOrEqual(2);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`).sort()).toEqual([
      'added created-meanwhile',
      'deleted cm-0',
      'deleted cm-1',
      'modified cm-2',
    ]);
  });

  it('detects a watch that went silent and restarts it from where it was, without relisting', async () => {
    const p = await proxy();
    const ns = await freshNamespace();
    await createConfigMap(ns, 'before');
    const { informer } = startInformer(clientVia(p), ns, { inactivityTimeoutMs: 3_000 });
    await informer.waitForSync();
    // The watch counts as started before its request is sent; an event heard on it proves its
    // connection exists, so the blackhole below catches that connection and not a later one.
    await createConfigMap(ns, 'watch-open');
    await vi.waitFor(() => expect(informer.store.get(`${ns}/watch-open`)).toBeDefined(), {
      timeout: 30_000,
      interval: 50,
    });
    expect(informer.stats.watches).toBe(1);
    p.blackholeExisting(); // the watch's connection is now half-open
    const changedAt = performance.now();
    await createConfigMap(ns, 'during-silence');
    await vi.waitFor(() => expect(informer.store.get(`${ns}/during-silence`)).toBeDefined(), {
      timeout: 30_000,
      interval: 100,
    });
    expect(performance.now() - changedAt).toBeGreaterThan(2_000);
    expect(informer.stats.stalls).toBeGreaterThanOrEqual(1);
    expect(informer.stats.lists).toBe(1);
    await expectConverged(informer, ns);
  });
});

describe('resource discovery and shared informers', () => {
  it('discovers the served VolumeGroupSnapshot version once the CRDs exist', async () => {
    expect(await discoverVolumeGroupSnapshotContents(client)).toBeUndefined();
    const crds = join(toolsDir(), 'snapshot-crds');
    const files = readdirSync(crds).filter((f) => f.startsWith('groupsnapshot.'));
    for (const f of files) await cluster.kubectl(['apply', '--server-side', '-f', join(crds, f)]);
    await vi.waitFor(async () => expect(await discoverVolumeGroupSnapshotContents(client)).toBeDefined(), {
      timeout: 30_000,
      interval: 500,
    });
    const resource = (await discoverVolumeGroupSnapshotContents(client))!;
    const { stdout } = await cluster.kubectl(['api-versions']);
    const served = stdout.split('\n').filter((l) => l.startsWith('groupsnapshot.storage.k8s.io/'));
    const newest = ['v1', 'v1beta2', 'v1beta1'].find((v) =>
      served.includes(`groupsnapshot.storage.k8s.io/${v}`),
    );
    expect(resource.version).toBe(newest);
    const factory = new InformerFactory(client);
    const vgsc = factory.informerFor(resource);
    factory.start();
    cleanup.push(() => factory.stop());
    await vgsc.waitForSync();
    expect(vgsc.store.size).toBe(0);
  });

  it('a factory informer of Leases syncs the cluster’s Leases', async () => {
    const factory = new InformerFactory(client);
    const informer = factory.informerFor(leases, { namespace: 'kube-node-lease' });
    expect(factory.informerFor(leases, { namespace: 'kube-node-lease' })).toBe(informer);
    factory.start();
    cleanup.push(() => factory.stop());
    await factory.waitForSync();
    const { stdout } = await cluster.kubectl(['get', 'leases', '-n', 'kube-node-lease', '-o', 'name']);
    expect(informer.store.size).toBe(stdout.split('\n').filter(Boolean).length);
  });
});
