// The CSI side of the driver on a real local cluster, wired the way main.ts wires it: the CRDs
// applied, informers over the real apiserver, records written through the informer layer's
// KubeClient, the server on a unix socket, and a real gRPC client. Optionally the 3-member etcd
// fixture. Used by the CSI integration tests, the csi-sanity run and bench/csi-latency.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { druidEtcds } from '../../../src/app/druid-etcds.ts';
import { type CsiClient, createCsiClient } from '../../../src/csi/csi-client.ts';
import { type CsiDriverOptions, type CsiRecordApis, startCsiDriver } from '../../../src/csi/driver.ts';
import type { CsiServer } from '../../../src/csi/server.ts';
import { etcdClusterIndexer, INDEX_ETCD_CLUSTER } from '../../../src/etcd/discovery.ts';
import { InformerFactory } from '../../../src/informers/informer-factory.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import {
  persistentVolumeClaims,
  persistentVolumes,
  pods,
  statefulSets,
} from '../../../src/informers/resources.ts';
import { type ApiHealth, startApiHealth, versionPing } from '../../../src/kube/api-health.ts';
import { type JsonRequester, namespacedCustomObjects } from '../../../src/kube/custom-objects.ts';
import { ETCD_RESTORE, type EtcdRestore, etcdRestoreResource } from '../../../src/records/etcd-restore.ts';
import {
  ETCD_SNAPSHOT,
  type EtcdSnapshot,
  etcdSnapshotIndexers,
  etcdSnapshotResource,
} from '../../../src/records/etcd-snapshot.ts';
import { snapshotNameClaims } from '../../../src/records/etcd-snapshot-name.ts';
import {
  ETCD_SOURCE_VOLUME,
  type EtcdSourceVolume,
  etcdSourceVolumeIndexers,
  etcdSourceVolumeResource,
} from '../../../src/records/etcd-source-volume.ts';
import { createLogger, type Logger } from '../../../src/telemetry/logger.ts';
import { deployEtcdFixture, type EtcdFixture, type EtcdFixtureOptions } from '../../harness/etcd-fixture.ts';
import { waitCrdsEstablished } from '../../harness/kubectl.ts';
import type { LocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

export const CRD_FILES = [
  resolve(PROJECT_ROOT, 'deploy/crds/etcdsnapshots.yaml'),
  resolve(PROJECT_ROOT, 'deploy/crds/etcdsourcevolumes.yaml'),
  resolve(PROJECT_ROOT, 'deploy/crds/etcdsnapshotnames.yaml'),
  resolve(PROJECT_ROOT, 'deploy/crds/etcdrestores.yaml'),
];

/** Applies the driver's CRDs and waits until the apiserver serves them. */
export async function installCrds(cluster: LocalCluster): Promise<void> {
  for (const file of CRD_FILES) await cluster.kubectl(['apply', '-f', file]);
  await waitCrdsEstablished(
    (args) => cluster.kubectl(args),
    [
      'etcdsnapshots.snapshot.etcd-snapshot-driver.io',
      'etcdsourcevolumes.snapshot.etcd-snapshot-driver.io',
      'etcdsnapshotnames.snapshot.etcd-snapshot-driver.io',
      'etcdrestores.snapshot.etcd-snapshot-driver.io',
    ],
    60_000,
  );
}

/** Counts API calls of the record clients: `writes` are creates, patches and deletes. */
export interface ApiCounter {
  writes: number;
  reads: number;
}

export interface DriverEnv {
  endpoint: string;
  server: CsiServer;
  client: CsiClient;
  kubeClient: KubeClient;
  apiCalls: ApiCounter;
  factory: InformerFactory;
  stores: Parameters<typeof startCsiDriver>[0]['stores'];
  stop(): Promise<void>;
}

export interface DriverEnvOptions {
  driverName?: string;
  /** Socket path; a temporary one when unset. */
  socket?: string;
  log?: Logger;
  hooks?: CsiDriverOptions['hooks'];
  /** Default namespace for volumes without one (the etcd fixture's namespace). */
  etcdNamespace?: string;
  /** The client records are written with (another user's, an unreachable server's); the admin's by default. */
  writeClient?: JsonRequester;
  /** Wraps the record clients (to slow them down or interpose a conflicting writer). */
  wrapApis?: (apis: CsiRecordApis) => CsiRecordApis;
  /** Overrides the informers' sync state as the driver sees it. */
  cachesSynced?: () => boolean;
  /** How often to look for the etcd-druid CRD while it is not installed (the driver's default otherwise). */
  druidCrdPollMs?: number;
}

function counted<T extends object>(api: T, counter: ApiCounter): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'get' || prop === 'list') counter.reads++;
        else counter.writes++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Starts informers and the CSI server against the cluster (its CRDs must be installed). */
export async function startDriver(cluster: LocalCluster, options: DriverEnvOptions = {}): Promise<DriverEnv> {
  const log =
    options.log ??
    createLogger({ level: process.env.CSI_LOG_LEVEL === 'debug' ? 'debug' : 'warn', format: 'json' });
  const kubeClient = new KubeClient(cluster.kubeConfig, { userAgent: 'etcd-snapshot-driver-csi-test' });
  const factory = new InformerFactory(kubeClient, { logger: log });
  const snapshotsInformer = factory.informerFor(etcdSnapshotResource);
  for (const [name, fn] of Object.entries(etcdSnapshotIndexers)) snapshotsInformer.addIndexer(name, fn);
  const volumesInformer = factory.informerFor(etcdSourceVolumeResource);
  for (const [name, fn] of Object.entries(etcdSourceVolumeIndexers)) volumesInformer.addIndexer(name, fn);
  // As the driver does (src/app/druid-etcds.ts): the Etcd CRD is picked up when it appears.
  const druid = await druidEtcds(factory, kubeClient, {
    log,
    ...(options.druidCrdPollMs ? { pollMs: options.druidCrdPollMs } : {}),
  });
  const stores = {
    etcdSnapshots: snapshotsInformer.store,
    etcdSourceVolumes: volumesInformer.store,
    etcdRestores: factory.informerFor(etcdRestoreResource).store,
    persistentVolumeClaims: factory.informerFor(persistentVolumeClaims).store,
    persistentVolumes: factory.informerFor(persistentVolumes).store,
    pods: factory.informerFor(pods).addIndexer(INDEX_ETCD_CLUSTER, etcdClusterIndexer).store,
    statefulSets: factory.informerFor(statefulSets).addIndexer(INDEX_ETCD_CLUSTER, etcdClusterIndexer).store,
    druidEtcds: druid.store,
  };
  factory.start();
  const health: ApiHealth = startApiHealth(versionPing(kubeClient), { intervalMs: 2_000 });
  await factory.waitForSync(AbortSignal.timeout(60_000));

  const apiCalls: ApiCounter = { writes: 0, reads: 0 };
  const writer = options.writeClient ?? kubeClient;
  const counting: CsiRecordApis = {
    snapshots: counted(namespacedCustomObjects<EtcdSnapshot>(writer, ETCD_SNAPSHOT), apiCalls),
    volumes: counted(namespacedCustomObjects<EtcdSourceVolume>(writer, ETCD_SOURCE_VOLUME), apiCalls),
    restores: counted(namespacedCustomObjects<EtcdRestore>(writer, ETCD_RESTORE), apiCalls),
    nameClaims: counted(snapshotNameClaims(writer), apiCalls),
  };
  const api = options.wrapApis ? options.wrapApis(counting) : counting;
  const dir = options.socket ? undefined : mkdtempSync(join(tmpdir(), 'csi-driver-'));
  const socket = options.socket ?? join(dir!, 'csi.sock');
  const server = await startCsiDriver({
    driverName: options.driverName ?? 'etcd-snapshot-driver',
    endpoints: [`unix://${socket}`],
    defaults: {
      etcdNamespace: options.etcdNamespace ?? 'default',
      storageClass: 'standard',
      snapshotTimeoutSeconds: 300,
    },
    stores,
    api,
    readiness: {
      cachesSynced: options.cachesSynced ?? (() => factory.informers().every((i) => i.hasSynced)),
      apiReachable: () => health.reachable(),
    },
    log,
    ...(options.hooks ? { hooks: options.hooks } : {}),
    nodeId: cluster.nodeName,
    createdBy: 'csi-integration-test',
  });
  const endpoint = server.addresses[0]!;
  const client = createCsiClient(endpoint);
  // Probe says ready once the first API health check is in.
  await health.check();
  return {
    endpoint,
    server,
    client,
    kubeClient,
    apiCalls,
    factory,
    stores,
    async stop() {
      client.close();
      await server.stop(2_000);
      health.stop();
      druid.stop();
      await factory.stop();
      kubeClient.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ETCD_FIXTURE: EtcdFixtureOptions = { name: 'main', namespace: 'etcd', replicas: 3 };

export async function deployEtcd(
  cluster: LocalCluster,
  options: Partial<EtcdFixtureOptions> = {},
): Promise<EtcdFixture> {
  return deployEtcdFixture(cluster, { ...ETCD_FIXTURE, ...options });
}

/** What `createBoundClaim` needs of the API: CoreV1Api's two create calls. */
export interface ClaimApi {
  createPersistentVolume(request: { body: V1PersistentVolume }): Promise<unknown>;
  createNamespacedPersistentVolumeClaim(request: {
    namespace: string;
    body: V1PersistentVolumeClaim;
  }): Promise<unknown>;
}

/**
 * A claim of the etcd source class bound to a static PV of this driver with handle
 * `<namespace>/<name>` (static provisioning); returns that handle, the claim's volume ID.
 */
export async function createBoundClaim(
  core: ClaimApi,
  o: { namespace: string; name: string; annotations: Record<string, string>; driver?: string },
): Promise<string> {
  const { namespace, name, annotations } = o;
  const pv = `pv-${namespace}-${name}`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pv },
      spec: {
        capacity: { storage: '1Mi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'etcd-source',
        persistentVolumeReclaimPolicy: 'Retain',
        claimRef: { namespace, name },
        csi: { driver: o.driver ?? 'etcd-snapshot-driver', volumeHandle: `${namespace}/${name}` },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name, annotations },
      spec: {
        storageClassName: 'etcd-source',
        volumeName: pv,
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Mi' } },
      },
    },
  });
  return `${namespace}/${name}`;
}

/** Annotations naming etcd cluster `etcd` by an endpoint that never answers (CSI-level tests). */
export function unreachableClusterAnnotations(etcd: string): Record<string, string> {
  return { 'etcd.io/cluster': etcd, 'etcd.io/endpoints': `http://${etcd}.invalid:2379` };
}
