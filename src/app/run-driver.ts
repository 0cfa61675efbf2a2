// Starts the driver's long-running parts in dependency order — Kubernetes client → informers →
// HTTP → reconcilers and ownership (bucket Leases) → CSI server — and stops them in reverse:
// first no new RPCs, then reconciles drain, then buckets are handed over (only once their work
// has ended), then HTTP and the watches close. A start-up aborted (signal) or failed half-way
// stops the same way whatever had started (startup-stack.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { config as rxjsConfig } from 'rxjs';
import type { DriverConfig } from '../config/config.ts';
import type { CsiServer } from '../csi/server.ts';
import type { KubeClient } from '../informers/kube-client.ts';
import { BucketElector } from '../leader/bucket-elector.ts';
import { defaultIdentity } from '../leader/identity.ts';
import { kubeLeaseApi } from '../leader/lease-api.ts';
import { alwaysOwner, type Ownership } from '../leader/ownership.ts';
import type { EtcdSnapshot } from '../records/etcd-snapshot.ts';
import type { HealthServer } from '../telemetry/http-server.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createDriverMetrics, type DriverMetrics } from '../telemetry/metrics.ts';
import { defaultControllers } from './default-controllers.ts';
import { remoteCopyTimes } from './remote-copy-times.ts';

import type { SharedInformers } from './shared-informers.ts';
import { type RunnableController, startControllers } from './start-controllers.ts';
import { StartupStack } from './startup-stack.ts';
import { startCsi, startHttp, startInformers } from './startup-steps.ts';

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
  /**
   * Aborts start-up (SIGTERM in main): runDriver stops what it had started, in reverse, gives
   * back the Leases it took, and rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** How often to look for the etcd-druid CRD while it is not installed (default 30 s). */
  druidCrdPollMs?: number;
  /** Awaited after each start-up step; tests hold a step here to signal in the middle of it. */
  onStartupStep?: (step: StartupStep) => void | Promise<void>;
}

/** The start-up steps, each named by what has just started. */
export type StartupStep = 'informers' | 'http' | 'controllers' | 'csi';

/** How long an aborted start-up may take to stop what it had started. */
const STARTUP_ABORT_DEADLINE_MS = 20_000;

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
  const namespace = refuseUnworkable(config);

  const { signal } = options;
  const stack = new StartupStack(log.child({ component: 'main' }));
  // Between two steps: give up if the signal came, after the test hook (which may hold the step).
  const stepDone = async (step: StartupStep) => {
    await options.onStartupStep?.(step);
    signal?.throwIfAborted();
  };
  try {
    signal?.throwIfAborted();
    const cluster = await startInformers(config, log, stack, options);
    await stepDone('informers');

    const metrics = options.metrics ?? createDriverMetrics();
    let csi: CsiServer | undefined;
    const http = await startHttp(config, metrics, cluster, () => csi?.serving ?? false, stack);
    await stepDone('http');

    const elector =
      config.leaderElect && namespace
        ? newElector(config, namespace, cluster.client, log, metrics, options)
        : undefined;
    const { kubeConfig, client, informers } = cluster;
    const ownership: Ownership = elector ?? alwaysOwner;
    const parts: DriverParts = { config, kubeConfig, log, client, informers, ownership, metrics };
    const controllers = (options.controllers ?? defaultControllers)(parts);
    metrics.pipeline.setSnapshotCountSource(() => countSnapshots(informers));
    metrics.pipeline.setRemoteCopyTimeSource(() => remoteCopyTimes(informers.etcdSnapshots.store.list()));
    startControllers(controllers, elector, stack, log);
    await stepDone('controllers');

    const served = await startCsi(config, parts, cluster, stack, signal);
    csi = served;
    await stepDone('csi');

    log.info(
      {
        component: 'main',
        csi_endpoints: served.addresses,
        metrics_address: http?.address,
        leader_elect: config.leaderElect,
        buckets: config.leaderElect ? config.leaderElectionBuckets : undefined,
        controllers: controllers.length,
      },
      'driver running',
    );
    return {
      csi: served,
      parts,
      http,
      ready: () => cluster.cachesSynced() && cluster.apiHealth.reachable() && served.serving,
      stop: (deadlineMs: number) => stack.unwind(deadlineMs),
    };
  } catch (err) {
    log.info(
      { component: 'main', started: stack.started, aborted: signal?.aborted ?? false },
      'start-up stopped; stopping what had started, in reverse',
    );
    await stack.unwind(STARTUP_ABORT_DEADLINE_MS);
    throw err;
  }
}

/** Settings that cannot work are refused before anything starts; returns the Leases' namespace. */
function refuseUnworkable(config: DriverConfig): string | undefined {
  const namespace = leaseNamespace(config, process.env);
  if (config.leaderElect && !namespace) {
    throw new Error(
      '--leader-elect needs the Leases’ namespace: set --leader-election-namespace or POD_NAMESPACE',
    );
  }
  return namespace;
}

function newElector(
  config: DriverConfig,
  namespace: string,
  client: KubeClient,
  log: Logger,
  metrics: DriverMetrics,
  options: RunDriverOptions,
): BucketElector {
  return new BucketElector({
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
