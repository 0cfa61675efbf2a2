// Starts the driver's long-running parts in dependency order — Kubernetes client → informers →
// ownership (bucket Leases) → reconcilers → CSI server — and stops them in reverse: first no new
// RPCs, then reconciles drain, then buckets are handed over (only once their work has ended),
// then the watches close.
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
import type { Logger } from '../telemetry/logger.ts';
import { createSharedInformers, type SharedInformers } from './shared-informers.ts';

/** What a reconciler looks like to the composition root (src/reconcile/controller.ts fits). */
export interface RunnableController {
  start(): void;
  stop(options: { deadlineMs: number }): Promise<unknown>;
}

export interface DriverParts {
  config: DriverConfig;
  log: Logger;
  client: KubeClient;
  informers: SharedInformers;
  ownership: Ownership;
}

export interface RunDriverOptions {
  /** Builds the reconcilers once informers and ownership exist. */
  controllers?: (parts: DriverParts) => RunnableController[];
  /** Identity in the Leases (default hostname + random suffix). */
  identity?: string;
}

export interface RunningDriver {
  readonly csi: CsiServer;
  readonly parts: DriverParts;
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

  const client = new KubeClient(loadKubeConfig(config.kubeconfig), { userAgent: 'etcd-snapshot-driver' });
  const factory = new InformerFactory(client, { logger: log.child({ component: 'informers' }) });
  const informers = await createSharedInformers(factory, client, AbortSignal.timeout(30_000));
  factory.start();
  const apiHealth: ApiHealth = startApiHealth(versionPing(client));

  let elector: BucketElector | undefined;
  let ownership: Ownership = alwaysOwner;
  if (config.leaderElect && namespace) {
    elector = new BucketElector({
      api: kubeLeaseApi(client, namespace),
      name: config.driverName,
      identity: options.identity ?? process.env.POD_NAME ?? defaultIdentity(),
      buckets: config.leaderElectionBuckets,
      timing: {
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
      },
      logger: log,
    });
    ownership = elector;
  }

  const parts: DriverParts = { config, log, client, informers, ownership };
  const controllers = options.controllers?.(parts) ?? [];
  // Controllers subscribe to ownership changes before the elector can report any.
  for (const controller of controllers) controller.start();
  elector?.start();

  const cachesSynced = () => factory.informers().every((i) => i.hasSynced);
  const csi = await startCsiDriver({
    driverName: config.driverName,
    endpoints: [config.csiEndpoint],
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
      ...(informers.druidEtcds ? { druidEtcds: informers.druidEtcds.store } : {}),
    },
    api: client,
    readiness: { cachesSynced, apiReachable: () => apiHealth.reachable() },
    log,
  });
  log.info(
    {
      component: 'main',
      csi_endpoints: csi.addresses,
      leader_elect: config.leaderElect,
      buckets: config.leaderElect ? config.leaderElectionBuckets : undefined,
      controllers: controllers.length,
    },
    'driver running',
  );

  return {
    csi,
    parts,
    ready: () => cachesSynced() && apiHealth.reachable(),
    async stop(deadlineMs: number) {
      const until = Date.now() + deadlineMs;
      const left = () => Math.max(0, until - Date.now());
      await csi.stop(Math.min(5_000, left()));
      await Promise.all(controllers.map((c) => c.stop({ deadlineMs: Math.min(10_000, left()) })));
      await elector?.stop();
      apiHealth.stop();
      await factory.stop();
      client.destroy();
    },
  };
}
