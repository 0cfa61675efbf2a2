import { describe, expect, it } from 'vitest';
import {
  type DiscoveryStores,
  type DruidEtcd,
  discoverEtcdCluster,
  etcdClusterIndexer,
  INDEX_ETCD_CLUSTER,
  referenceFromAnnotations,
} from '../../../src/etcd/discovery.ts';
import { LateStore } from '../../../src/informers/late-store.ts';
import type { Pod, StatefulSet } from '../../../src/informers/resources.ts';
import { etcdPod, FakeStore } from './fakes.ts';

function stores(withDruid = false): DiscoveryStores & {
  pods: FakeStore<Pod>;
  statefulSets: FakeStore<StatefulSet>;
  druidEtcds?: FakeStore<DruidEtcd>;
} {
  return {
    pods: new FakeStore<Pod>({ [INDEX_ETCD_CLUSTER]: etcdClusterIndexer }),
    statefulSets: new FakeStore<StatefulSet>({ [INDEX_ETCD_CLUSTER]: etcdClusterIndexer }),
    ...(withDruid ? { druidEtcds: new FakeStore<DruidEtcd>() } : {}),
  };
}

function statefulSet(name: string, cluster: string, replicas = 3, https = false): StatefulSet {
  return {
    metadata: { name, namespace: 'etcd', labels: { 'etcd.io/cluster': cluster } },
    spec: {
      replicas,
      serviceName: `${name}-headless`,
      selector: { matchLabels: { app: name } },
      template: {
        spec: {
          containers: [
            {
              name: 'etcd',
              env: [
                { name: 'ETCD_ADVERTISE_CLIENT_URLS', value: `${https ? 'https' : 'http'}://$(POD_IP):2379` },
              ],
              ports: [{ name: 'client', containerPort: 12379 }],
            },
          ],
        },
      },
    },
  };
}

describe('referenceFromAnnotations', () => {
  it('reads the etcd.io annotations, the cluster label as a fallback', () => {
    expect(
      referenceFromAnnotations(
        {
          'etcd.io/cluster': 'main',
          'etcd.io/endpoints': ' etcd-0.etcd:2379, https://10.0.0.9:2379 ,',
          'etcd.io/credentials-secret': 'etcd-client-tls',
          'etcd.io/snapshot-prefix': 'backup-',
        },
        { 'etcd.io/cluster': 'ignored' },
      ),
    ).toEqual({
      name: 'main',
      endpoints: ['etcd-0.etcd:2379', 'https://10.0.0.9:2379'],
      credentialsSecret: 'etcd-client-tls',
      snapshotPrefix: 'backup-',
    });
    expect(referenceFromAnnotations(undefined, { 'etcd.io/cluster': 'from-label' })).toEqual({
      name: 'from-label',
    });
    expect(referenceFromAnnotations({}, {})).toEqual({});
  });
});

describe('discoverEtcdCluster', () => {
  it('1. explicit endpoints win, and <pod>.<service> names become the pod IP, checked for the name as written', () => {
    const s = stores();
    s.pods.upsert(etcdPod('etcd-0', { namespace: 'etcd', cluster: 'main', ip: '10.1.0.5' }));
    s.pods.upsert(etcdPod('etcd-1', { namespace: 'etcd', cluster: 'main', ip: '10.1.0.6' }));
    const result = discoverEtcdCluster(
      {
        namespace: 'etcd',
        name: 'main',
        endpoints: [
          'etcd-0.etcd-headless:2379',
          'https://etcd-9.etcd-headless.etcd.svc:2379',
          '10.9.9.9:2379',
          'https://etcd-1.etcd-headless:2379?tls-server-name=etcd.example.com',
        ],
        credentialsSecret: 'tls',
      },
      s,
    );
    expect(result).toEqual({
      found: true,
      cluster: {
        key: 'etcd/main',
        namespace: 'etcd',
        name: 'main',
        endpoints: [
          'https://10.1.0.5:2379?tls-server-name=etcd-0.etcd-headless',
          'https://etcd-9.etcd-headless.etcd.svc:2379',
          'https://10.9.9.9:2379',
          'https://10.1.0.6:2379?tls-server-name=etcd.example.com',
        ],
        credentialsSecret: 'tls',
        discoveredBy: 'pvc-annotation',
      },
    });
  });

  it('names a cluster given only by endpoints after the endpoints', () => {
    const a = discoverEtcdCluster(
      { namespace: 'x', endpoints: ['http://1.2.3.4:2379', 'http://1.2.3.5:2379'] },
      stores(),
    );
    const b = discoverEtcdCluster(
      { namespace: 'x', endpoints: ['http://1.2.3.5:2379', 'http://1.2.3.4:2379'] },
      stores(),
    );
    expect(a.found && b.found && a.cluster.key === b.cluster.key).toBe(true);
    expect(a.found && a.cluster.name).toMatch(/^endpoints-[0-9a-f]{12}$/);
  });

  it('2. an etcd-druid Etcd: its StatefulSet members by IP (checked for their peer-service names), TLS and secret from its spec', () => {
    const s = stores(true);
    s.druidEtcds!.upsert({
      metadata: { name: 'main', namespace: 'etcd' },
      spec: {
        replicas: 3,
        etcd: { clientPort: 2379, clientUrlTls: { clientTLSSecretRef: { name: 'main-client-tls' } } },
      },
      status: { etcd: { name: 'main' } },
    });
    for (const i of [0, 1, 2]) {
      s.pods.upsert(etcdPod(`main-${i}`, { namespace: 'etcd', ip: `10.2.0.${i + 1}` }));
    }
    // Pods labelled for the cluster exist too: druid comes first.
    s.pods.upsert(etcdPod('other-0', { namespace: 'etcd', cluster: 'main', ip: '10.3.0.1' }));
    const result = discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s);
    expect(result).toMatchObject({
      found: true,
      cluster: {
        endpoints: [
          'https://10.2.0.1:2379?tls-server-name=main-0.main-peer.etcd.svc',
          'https://10.2.0.2:2379?tls-server-name=main-1.main-peer.etcd.svc',
          'https://10.2.0.3:2379?tls-server-name=main-2.main-peer.etcd.svc',
        ],
        credentialsSecret: 'main-client-tls',
        discoveredBy: 'etcd-druid',
      },
    });
  });

  it('2. an etcd-druid Etcd’s client TLS: the client key pair’s Secret, and its CA Secret and key (dataKey, default ca.crt)', () => {
    const s = stores(true);
    const tls = (dataKey?: string) => ({
      tlsCASecretRef: { name: 'main-ca', ...(dataKey ? { dataKey } : {}) },
      serverTLSSecretRef: { name: 'main-server' },
      clientTLSSecretRef: { name: 'main-client' },
    });
    s.druidEtcds!.upsert({
      metadata: { name: 'main', namespace: 'etcd' },
      spec: { replicas: 1, etcd: { clientUrlTls: tls('bundle.crt') } },
    });
    s.druidEtcds!.upsert({
      metadata: { name: 'other', namespace: 'etcd' },
      spec: { replicas: 1, etcd: { clientUrlTls: tls() } },
    });
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s)).toMatchObject({
      cluster: { credentialsSecret: 'main-client', caSecret: { name: 'main-ca', key: 'bundle.crt' } },
    });
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'other' }, s)).toMatchObject({
      cluster: { caSecret: { name: 'main-ca', key: 'ca.crt' } },
    });
    // A Secret the user named brings its own ca.crt.
    const own = discoverEtcdCluster({ namespace: 'etcd', name: 'main', credentialsSecret: 'mine' }, s);
    expect(own.found && own.cluster).toMatchObject({ credentialsSecret: 'mine' });
    expect(own.found && own.cluster.caSecret).toBeUndefined();
  });

  it('2. a druid store that is not attached yet (CRD not installed) is skipped, and read once attached', () => {
    const s = stores();
    const late = new LateStore<DruidEtcd>();
    const druid = new FakeStore<DruidEtcd>();
    druid.upsert({ metadata: { name: 'main', namespace: 'etcd' }, spec: { replicas: 1 } });
    const withLate = { ...s, druidEtcds: late };
    const before = discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, withLate);
    expect(!before.found && before.tried.some((t) => t.includes('etcd-druid'))).toBe(false);
    late.attach(druid);
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, withLate)).toMatchObject({
      found: true,
      cluster: { discoveredBy: 'etcd-druid', endpoints: ['http://main-0.main-peer.etcd.svc:2379'] },
    });
  });

  it('2. an etcd-druid Etcd whose pods have no IPs yet: the peer service DNS names', () => {
    const s = stores(true);
    s.druidEtcds!.upsert({
      metadata: { name: 'main', namespace: 'etcd' },
      spec: { replicas: 1, tlsClientSecret: 'old' },
    });
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s)).toMatchObject({
      found: true,
      cluster: { endpoints: ['http://main-0.main-peer.etcd.svc:2379'], credentialsSecret: 'old' },
    });
  });

  it('3. pods labelled etcd.io/cluster that are Running with an IP, in name order, scheme from their flags', () => {
    const s = stores();
    s.pods.upsert(etcdPod('etcd-10', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.10', https: true }));
    s.pods.upsert(etcdPod('etcd-2', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.2', https: true }));
    s.pods.upsert(etcdPod('etcd-3', { namespace: 'etcd', cluster: 'main', phase: 'Pending', https: true }));
    s.pods.upsert(etcdPod('etcd-x', { namespace: 'other', cluster: 'main', ip: '10.9.0.1' }));
    s.pods.upsert(etcdPod('fe80', { namespace: 'etcd', cluster: 'v6', ip: 'fd00::1' }));
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s)).toEqual({
      found: true,
      cluster: {
        key: 'etcd/main',
        namespace: 'etcd',
        name: 'main',
        endpoints: ['https://10.0.0.2:2379', 'https://10.0.0.10:2379'],
        discoveredBy: 'pods',
      },
    });
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'v6' }, s)).toMatchObject({
      cluster: { endpoints: ['http://[fd00::1]:2379'] },
    });
  });

  it('3. TLS members are checked for the DNS name etcd advertises, else their name behind the headless Service', () => {
    const s = stores();
    const advertised = etcdPod('etcd-0', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.1', https: true });
    const etcd = advertised.spec!.containers[0]!;
    etcd.env = [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'HOST', value: '$(POD_NAME).clients.$(NS).svc' },
    ];
    etcd.args = ['--advertise-client-urls=https://$(HOST):2379,https://$(POD_IP):2379'];
    s.pods.upsert(advertised);
    const stable = etcdPod('etcd-1', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.2', https: true });
    stable.spec!.hostname = 'etcd-1';
    stable.spec!.subdomain = 'etcd-headless';
    s.pods.upsert(stable);
    // Advertising its IP, without a subdomain: nothing names it; dialled and checked by IP.
    s.pods.upsert(etcdPod('etcd-2', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.3', https: true }));
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s)).toMatchObject({
      cluster: {
        endpoints: [
          'https://10.0.0.1:2379?tls-server-name=etcd-0.clients.etcd.svc',
          'https://10.0.0.2:2379?tls-server-name=etcd-1.etcd-headless.etcd.svc',
          'https://10.0.0.3:2379',
        ],
      },
    });
  });

  it('3. narrows pods by the snapshot-label selector', () => {
    const s = stores();
    const a = etcdPod('a-0', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.1' });
    a.metadata!.labels!.tier = 'prod';
    s.pods.upsert(a);
    s.pods.upsert(etcdPod('b-0', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.2' }));
    expect(
      discoverEtcdCluster({ namespace: 'etcd', name: 'main', labelSelector: 'tier=prod' }, s),
    ).toMatchObject({
      cluster: { endpoints: ['http://10.0.0.1:2379'] },
    });
  });

  it('4. StatefulSets labelled etcd.io/cluster: member IPs (checked for their stable names), else stable DNS names', () => {
    const s = stores();
    s.statefulSets.upsert(statefulSet('etcd', 'main', 2, true));
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s)).toMatchObject({
      found: true,
      cluster: {
        endpoints: [
          'https://etcd-0.etcd-headless.etcd.svc:12379',
          'https://etcd-1.etcd-headless.etcd.svc:12379',
        ],
        discoveredBy: 'statefulset',
      },
    });
    // Members not labelled themselves but running: found by StatefulSet name and ordinal.
    s.pods.upsert(etcdPod('etcd-0', { namespace: 'etcd', ip: '10.4.0.1' }));
    s.pods.upsert(etcdPod('etcd-1', { namespace: 'etcd', ip: '10.4.0.2' }));
    expect(discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s)).toMatchObject({
      cluster: {
        endpoints: [
          'https://10.4.0.1:12379?tls-server-name=etcd-0.etcd-headless.etcd.svc',
          'https://10.4.0.2:12379?tls-server-name=etcd-1.etcd-headless.etcd.svc',
        ],
        discoveredBy: 'statefulset',
      },
    });
  });

  it('reports what it tried when nothing is found', () => {
    const s = stores(true);
    s.pods.upsert(etcdPod('etcd-0', { namespace: 'etcd', cluster: 'main', phase: 'Pending' }));
    const result = discoverEtcdCluster({ namespace: 'etcd', name: 'main' }, s);
    expect(result.found).toBe(false);
    expect(!result.found && result.tried).toEqual([
      'no etcd-druid Etcd etcd/main',
      '1 pod(s) labelled etcd.io/cluster=main in etcd, none Running with an IP',
      'no StatefulSets labelled etcd.io/cluster=main in etcd',
    ]);
    expect(discoverEtcdCluster({ namespace: 'etcd' }, s).found).toBe(false);
  });
});
