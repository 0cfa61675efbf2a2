// The start-up steps of runDriver that start one thing each: the cluster's caches, the HTTP
// server, the CSI server. Each pushes how to stop what it started onto the start-up stack.
import type { KubeConfig } from '@kubernetes/client-node';
import type { DriverConfig } from '../config/config.ts';
import { startCsiDriver } from '../csi/driver.ts';
import type { CsiServer } from '../csi/server.ts';
import { InformerFactory } from '../informers/informer-factory.ts';
import { KubeClient } from '../informers/kube-client.ts';
import { type ApiHealth, startApiHealth, versionPing } from '../kube/api-health.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { type HealthServer, startHealthServer } from '../telemetry/http-server.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { DriverMetrics } from '../telemetry/metrics.ts';
import type { DriverParts } from './run-driver.ts';
import { createSharedInformers, type SharedInformers } from './shared-informers.ts';
import type { StartupStack } from './startup-stack.ts';

/** What the informers step started: the client, the caches and the API's health. */
export interface ClusterView {
  kubeConfig: KubeConfig;
  client: KubeClient;
  informers: SharedInformers;
  apiHealth: ApiHealth;
  cachesSynced(): boolean;
}

/** The Kubernetes client, the shared informers (started) and the API health ping. */
export async function startInformers(
  config: DriverConfig,
  log: Logger,
  stack: StartupStack,
  options: { signal?: AbortSignal | undefined; druidCrdPollMs?: number | undefined },
): Promise<ClusterView> {
  const { signal } = options;
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const client = new KubeClient(kubeConfig, { userAgent: 'etcd-snapshot-driver' });
  stack.push('kube client', () => client.destroy());
  const factory = new InformerFactory(client, { logger: log.child({ component: 'informers' }) });
  const discovery = AbortSignal.timeout(30_000);
  const informers = await createSharedInformers(
    factory,
    client,
    signal ? AbortSignal.any([signal, discovery]) : discovery,
    {
      log,
      driverName: config.driverName,
      ...(options.druidCrdPollMs ? { druidCrdPollMs: options.druidCrdPollMs } : {}),
    },
  );
  stack.push('etcd-druid informer', () => informers.druidEtcds.stop());
  signal?.throwIfAborted();
  factory.start();
  stack.push('informers', () => factory.stop());
  const apiHealth = startApiHealth(versionPing(client));
  stack.push('api health', () => apiHealth.stop());
  const cachesSynced = () => factory.informers().every((i) => i.hasSynced);
  return { kubeConfig, client, informers, apiHealth, cachesSynced };
}

/** /metrics, /healthz and /ready; none with --metrics-bind-address=0. */
export async function startHttp(
  config: DriverConfig,
  metrics: DriverMetrics,
  cluster: ClusterView,
  csiServing: () => boolean,
  stack: StartupStack,
): Promise<HealthServer | undefined> {
  if (config.metricsBindAddress === '0') return undefined;
  const http = await startHealthServer({
    bindAddress: config.metricsBindAddress,
    registry: metrics.registry,
    serveMetrics: config.metricsEnabled,
    readiness: {
      caches_synced: () => {
        if (!cluster.cachesSynced()) throw new Error('informer caches have not synced');
      },
      api_reachable: () => {
        if (!cluster.apiHealth.reachable()) throw new Error('the API server did not answer recently');
      },
      grpc_serving: () => {
        if (!csiServing()) throw new Error('the CSI server is not serving');
      },
    },
  });
  // Closed after the reconciles drained: /metrics and /healthz answer during the drain.
  stack.push('http', () => http.close());
  return http;
}

/** The CSI gRPC server on the configured endpoint, answering from the caches. */
export async function startCsi(
  config: DriverConfig,
  parts: DriverParts,
  cluster: ClusterView,
  stack: StartupStack,
  signal: AbortSignal | undefined,
): Promise<CsiServer> {
  const { informers } = cluster;
  const served = await startCsiDriver({
    driverName: config.driverName,
    endpoints: [config.csiEndpoint],
    listenTimeoutMs: config.csiListenTimeoutMs,
    ...(signal ? { signal } : {}),
    discovery: { methods: config.discoveryMethods },
    defaults: {
      etcdNamespace: config.etcdNamespace,
      storageClass: config.storageClass,
      snapshotTimeoutSeconds: config.snapshotTimeoutSeconds,
      ...(config.objectStoreSecret ? { objectStoreSecret: config.objectStoreSecret } : {}),
    },
    stores: {
      etcdSnapshots: informers.etcdSnapshots.store,
      etcdSourceVolumes: informers.etcdSourceVolumes.store,
      etcdRestores: informers.etcdRestores.store,
      persistentVolumeClaims: informers.persistentVolumeClaims.store,
      persistentVolumes: informers.persistentVolumes.store,
      pods: informers.pods.store,
      statefulSets: informers.statefulSets.store,
      druidEtcds: informers.druidEtcds.store,
    },
    api: cluster.client,
    readiness: { cachesSynced: cluster.cachesSynced, apiReachable: () => cluster.apiHealth.reachable() },
    log: parts.log,
    hooks: { onCall: parts.metrics.csi.onCall },
  });
  // First to stop: no new RPCs while the rest winds down.
  stack.push('csi', (left) => served.stop(Math.min(5_000, left())));
  return served;
}
