// Starts the driver's long-running parts in dependency order — Kubernetes client → informers →
// ownership (bucket Leases) → reconcilers → CSI server — and stops them in reverse: first no new
// RPCs, then reconciles drain, then buckets are handed over (only once their work has ended),
// then the watches close.
import type { KubeConfig } from '@kubernetes/client-node';
import { config as rxjsConfig } from 'rxjs';
import type { DriverConfig } from '../config/config.ts';
import { startCsiDriver } from '../csi/driver.ts';
import type { CsiServer } from '../csi/server.ts';
import { InformerFactory } from '../informers/informer-factory.ts';
import { KubeClient } from '../informers/kube-client.ts';
import { type ApiHealth, startApiHealth, versionPing } from '../kube/api-health.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { BucketElector } from '../leader/bucket-elector.ts';
import { defaultIdentity } from '../leader/identity.ts';
import { kubeLeaseApi } from '../leader/lease-api.ts';
import { alwaysOwner, type Ownership } from '../leader/ownership.ts';
import { createEtcdSnapshotController } from '../reconcile/etcd-snapshot/controller-factory.ts';
import { DEFAULT_PIPELINE_OPTIONS } from '../reconcile/etcd-snapshot/options.ts';
import { createRetentionController } from '../reconcile/retention/controller-factory.ts';
import type { EtcdSnapshot } from '../records/etcd-snapshot.ts';
import { type HealthServer, startHealthServer } from '../telemetry/http-server.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createDriverMetrics, type DriverMetrics } from '../telemetry/metrics.ts';
import { PromRetentionMetrics } from '../telemetry/retention-metrics.ts';
import { createSharedInformers, type SharedInformers } from './shared-informers.ts';

/** What a reconciler looks like to the composition root (src/reconcile/controller.ts fits). */
export interface RunnableController {
  start(): void;
  /** drained: false when reconciles were still running at the deadline (aborted, maybe not ended). */
  stop(options: { deadlineMs: number }): Promise<{ drained: boolean }>;
}

export interface DriverParts {
  config: DriverConfig;
  kubeConfig: KubeConfig;
  log: Logger;
  client: KubeClient;
  informers: SharedInformers;
  ownership: Ownership;
  metrics: DriverMetrics;
}

export interface RunDriverOptions {
  /** Builds the reconcilers once informers and ownership exist (default: the snapshot pipeline). */
  controllers?: (parts: DriverParts) => RunnableController[];
  /** The registry and hooks everything reports into (default: a new one). */
  metrics?: DriverMetrics;
  /** Identity in the Leases (default hostname + random suffix). */
  identity?: string;
  /** How often to look for the etcd-druid CRD while it is not installed (default 30 s). */
  druidCrdPollMs?: number;
}

export interface RunningDriver {
  readonly csi: CsiServer;
  readonly parts: DriverParts;
  /** /metrics, /healthz, /ready; absent with --metrics-bind-address=0. */
  readonly http: HealthServer | undefined;
  /** Readiness as /ready and the CSI Probe judge it. */
  ready(): boolean;
  stop(deadlineMs: number): Promise<void>;
}

/** The namespace the Leases live in: the flag, else the pod's own namespace. */
export function leaseNamespace(config: DriverConfig, env: NodeJS.ProcessEnv): string | undefined {
  return config.leaderElectionNamespace ?? (env.POD_NAMESPACE || undefined);
}

export async function runDriver(
  config: DriverConfig,
  log: Logger,
  options: RunDriverOptions = {},
): Promise<RunningDriver> {
  // A throwing RxJS subscriber would otherwise be rethrown asynchronously and end the process.
  rxjsConfig.onUnhandledError = (err: unknown) =>
    log.error({ component: 'rxjs', err }, 'unhandled error in an event stream subscriber');

  // Settings that cannot work are refused before anything starts.
  const namespace = leaseNamespace(config, process.env);
  if (config.leaderElect && !namespace) {
    throw new Error(
      '--leader-elect needs the Leases’ namespace: set --leader-election-namespace or POD_NAMESPACE',
    );
  }

  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const client = new KubeClient(kubeConfig, { userAgent: 'etcd-snapshot-driver' });
  const factory = new InformerFactory(client, { logger: log.child({ component: 'informers' }) });
  const informers = await createSharedInformers(factory, client, AbortSignal.timeout(30_000), {
    log,
    ...(options.druidCrdPollMs ? { druidCrdPollMs: options.druidCrdPollMs } : {}),
  });
  factory.start();
  const apiHealth: ApiHealth = startApiHealth(versionPing(client));
  const metrics = options.metrics ?? createDriverMetrics();

  let elector: BucketElector | undefined;
  let ownership: Ownership = alwaysOwner;
  if (config.leaderElect && namespace) {
    elector = new BucketElector({
      api: kubeLeaseApi(client, namespace),
      name: config.driverName,
      identity: options.identity ?? defaultIdentity(),
      buckets: config.leaderElectionBuckets,
      timing: {
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
      },
      logger: log,
      metrics: metrics.leader,
    });
    ownership = elector;
  }

  const parts: DriverParts = { config, kubeConfig, log, client, informers, ownership, metrics };
  const controllers = (options.controllers ?? defaultControllers)(parts);
  metrics.pipeline.setSnapshotCountSource(() => countSnapshots(informers));
  // Controllers subscribe to ownership changes before the elector can report any.
  for (const controller of controllers) controller.start();
  elector?.start();

  const cachesSynced = () => factory.informers().every((i) => i.hasSynced);
  const csi = await startCsiDriver({
    driverName: config.driverName,
    endpoints: [config.csiEndpoint],
    listenTimeoutMs: config.csiListenTimeoutMs,
    discovery: { methods: config.discoveryMethods },
    defaults: {
      etcdNamespace: config.etcdNamespace,
      storageClass: config.storageClass,
      snapshotTimeoutSeconds: config.snapshotTimeoutSeconds,
    },
    stores: {
      etcdSnapshots: informers.etcdSnapshots.store,
      etcdSourceVolumes: informers.etcdSourceVolumes.store,
      persistentVolumeClaims: informers.persistentVolumeClaims.store,
      persistentVolumes: informers.persistentVolumes.store,
      pods: informers.pods.store,
      statefulSets: informers.statefulSets.store,
      druidEtcds: informers.druidEtcds.store,
    },
    api: client,
    readiness: { cachesSynced, apiReachable: () => apiHealth.reachable() },
    log,
    hooks: { onCall: metrics.csi.onCall },
  });
  const http =
    config.metricsBindAddress === '0'
      ? undefined
      : await startHealthServer({
          bindAddress: config.metricsBindAddress,
          registry: metrics.registry,
          serveMetrics: config.metricsEnabled,
          readiness: {
            caches_synced: () => {
              if (!cachesSynced()) throw new Error('informer caches have not synced');
            },
            api_reachable: () => {
              if (!apiHealth.reachable()) throw new Error('the API server did not answer recently');
            },
            grpc_serving: () => {
              if (!csi.serving) throw new Error('the CSI server is not serving');
            },
          },
        });
  log.info(
    {
      component: 'main',
      csi_endpoints: csi.addresses,
      metrics_address: http?.address,
      leader_elect: config.leaderElect,
      buckets: config.leaderElect ? config.leaderElectionBuckets : undefined,
      controllers: controllers.length,
    },
    'driver running',
  );

  return {
    csi,
    parts,
    http,
    ready: () => cachesSynced() && apiHealth.reachable() && csi.serving,
    async stop(deadlineMs: number) {
      const until = Date.now() + deadlineMs;
      const left = () => Math.max(0, until - Date.now());
      await csi.stop(Math.min(5_000, left()));
      const results = await Promise.all(
        controllers.map((c) => c.stop({ deadlineMs: Math.min(10_000, left()) })),
      );
      // Hand buckets over only when no reconcile still runs: one that ignored its abort would
      // otherwise overlap with the next owner's. Undrained, the Leases are left to expire.
      const drained = results.every((r) => r.drained);
      if (!drained) log.warn({ component: 'main' }, 'reconciles still running; leaving Leases to expire');
      await elector?.stop({ release: drained });
      apiHealth.stop();
      informers.druidEtcds.stop();
      await factory.stop();
      await http?.close();
      client.destroy();
    },
  };
}

/** The driver's reconcilers: the snapshot pipeline, and orphans and retention. */
function defaultControllers(parts: DriverParts): RunnableController[] {
  const { config, informers } = parts;
  return [
    createEtcdSnapshotController({
      client: parts.client,
      kubeConfig: parts.kubeConfig, // pod log tails of failed Jobs
      informers,
      ownership: parts.ownership,
      logger: parts.log,
      metrics: parts.metrics.pipeline,
      controllerMetrics: parts.metrics.controller,
      options: {
        agentImage: config.agentImage,
        executorServiceAccount: config.executorServiceAccount,
        defaultStorageClass: config.storageClass,
        jobBackoffLimit: config.jobBackoffLimit,
        jobActiveDeadlineSeconds: config.jobActiveDeadlineSeconds,
        jobTtlSecondsAfterFinished: config.jobTtlSecondsAfterFinished,
        workers: config.workers,
        discovery: { methods: config.discoveryMethods },
        ...(config.snapshotClaimSize ? { snapshotClaimSize: config.snapshotClaimSize } : {}),
        // The Jobs' agents export where the driver does, so their spans join the snapshot's trace.
        agentTracing: {
          exporter: config.traceExporter,
          ...(config.traceEndpoint ? { endpoint: config.traceEndpoint } : {}),
        },
      },
    }),
    // Orphaned records, retention-days and the orphan file sweep (docs/pipeline.md).
    createRetentionController({
      client: parts.client,
      informers,
      ownership: parts.ownership,
      logger: parts.log,
      metrics: new PromRetentionMetrics(parts.metrics.registry),
      controllerMetrics: parts.metrics.controller,
      options: {
        driverName: config.driverName,
        deleteOrphanFiles: config.deleteOrphanFiles,
        deleteUnknownOrphanRecords: config.deleteOrphanRecords,
        sweepIntervalMs: config.orphanSweepIntervalMs,
        orphanFileMinAgeSeconds: Math.round(config.orphanFileMinAgeMs / 1000),
        job: {
          agentImage: config.agentImage,
          executorServiceAccount: config.executorServiceAccount,
          jobActiveDeadlineSeconds: config.jobActiveDeadlineSeconds,
          jobTtlSecondsAfterFinished: config.jobTtlSecondsAfterFinished,
          resources: DEFAULT_PIPELINE_OPTIONS.resources,
        },
      },
    }),
  ];
}

/** etcd_snapshots_total, read at scrape time from the record cache. */
function countSnapshots(informers: SharedInformers) {
  const counts = new Map<string, { cluster: string; status: string; count: number }>();
  for (const record of informers.etcdSnapshots.store.list()) {
    const cluster = record.spec?.cluster?.key ?? 'unknown';
    const status = snapshotStatusLabel(record);
    const key = `${cluster}\u0000${status}`;
    const entry = counts.get(key) ?? { cluster, status, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  return counts.values();
}

function snapshotStatusLabel(record: EtcdSnapshot): 'deleting' | 'ready' | 'failed' | 'pending' {
  if (record.metadata?.deletionTimestamp) return 'deleting';
  if (record.status?.phase === 'Ready') return 'ready';
  if (record.status?.phase === 'Failed') return 'failed';
  return 'pending';
}
