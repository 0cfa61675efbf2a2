// What every flow of the snapshot pipeline works with: the caches, the API and the options, and
// the one way it writes a record's status. Status writes go through a read-your-writes overlay
// (records/read-your-writes.ts) so the next reconcile — a Job event can arrive before the
// record's — sees the pipeline's own last write instead of the version it replaced. Only an
// optimisation: a stale read would cost a 409 and a retry, never a wrong step.
import type { DiscoveryStores } from '../../etcd/discovery.ts';
import type { Job, PersistentVolumeClaim, Pod } from '../../informers/resources.ts';
import { objectKey, type ReadonlyStore } from '../../informers/store-types.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import {
  type EtcdSnapshot,
  type EtcdSnapshotStatus,
  etcdSnapshotIndexers,
} from '../../records/etcd-snapshot.ts';
import { type ReadYourWritesStore, readYourWrites } from '../../records/read-your-writes.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { ClusterTurns } from '../cluster-turns.ts';
import { currentJob } from '../jobs/job-api.ts';
import type { ReconcileContext } from '../result.ts';
import {
  INDEX_PIPELINE_WORKLOAD,
  INDEX_RECORD_CLUSTER,
  snapshotWorkloadKey,
} from '../snapshot-records/indexes.ts';
import type { JobOperation } from '../snapshot-records/names.ts';
import type { PipelineMetrics } from './metrics.ts';
import type { PipelineOptions } from './options.ts';
import type { CredentialsParser, HealthChecker, PipelineApi } from './ports.ts';

export interface PipelineStores extends DiscoveryStores {
  /** With etcdSnapshotIndexers and INDEX_RECORD_CLUSTER. */
  etcdSnapshots: ReadonlyStore<EtcdSnapshot>;
  /** With INDEX_PIPELINE_WORKLOAD. */
  jobs: ReadonlyStore<Job>;
  /** With INDEX_PIPELINE_WORKLOAD and discovery's INDEX_ETCD_CLUSTER. */
  pods: ReadonlyStore<Pod>;
  persistentVolumeClaims: ReadonlyStore<PersistentVolumeClaim>;
  /** With INDEX_RESTORE_CLUSTER: a restore of a cluster keeps its saves from starting. */
  etcdRestores?: ReadonlyStore<EtcdRestore>;
}

export interface PipelineReconcilerDeps {
  stores: PipelineStores;
  api: PipelineApi;
  options: PipelineOptions;
  metrics: PipelineMetrics;
  logger: Logger;
  parseCredentials: CredentialsParser;
  /** Without one, CheckHealth is skipped (the agent still refuses a cluster without quorum). */
  health?: HealthChecker;
  now?: () => Date;
  /** One operation per cluster with the restore reconciler (shared by both; a fresh one alone). */
  turns?: ClusterTurns;
}

export interface StepIo {
  stores: PipelineStores;
  api: PipelineApi;
  options: PipelineOptions;
  metrics: PipelineMetrics;
  health: HealthChecker | undefined;
  parseCredentials: CredentialsParser;
  turns: ClusterTurns;
  now(): Date;
  /** The record as the cache holds it, or the pipeline's own later write of it. */
  record(key: string): EtcdSnapshot | undefined;
  /** The records of an etcd cluster, each as record() reads it. */
  clusterRecords(clusterKey: string): EtcdSnapshot[];
  /** Writes the record's status (resourceVersion-guarded); returns the record written. */
  putStatus(record: EtcdSnapshot, status: EtcdSnapshotStatus, ctx: ReconcileContext): Promise<EtcdSnapshot>;
  /** The Job from the cache, else from the API. */
  currentJob(namespace: string, name: string, ctx: ReconcileContext): Promise<Job | undefined>;
  /** The cached pods of the record's save, upload or delete Job. */
  podsOf(record: EtcdSnapshot, operation: JobOperation): Pod[];
}

export function stepIo(deps: PipelineReconcilerDeps): StepIo {
  const now = deps.now ?? (() => new Date());
  const cache = deps.stores.etcdSnapshots;
  const written: ReadYourWritesStore<EtcdSnapshot> = readYourWrites(cache, etcdSnapshotIndexers, {
    now: () => now().getTime(),
  });
  // The pipeline never creates records: one the cache no longer holds is gone, whatever we wrote.
  const record = (key: string) => (cache.get(key) ? written.get(key) : undefined);
  return {
    stores: deps.stores,
    api: deps.api,
    options: deps.options,
    metrics: deps.metrics,
    health: deps.health,
    parseCredentials: deps.parseCredentials,
    turns: deps.turns ?? new ClusterTurns(),
    now,
    record,
    clusterRecords: (clusterKey) =>
      cache.byIndex(INDEX_RECORD_CLUSTER, clusterKey).map((r) => record(keyOf(r)) ?? r),
    async putStatus(target, status, ctx) {
      ctx.assertOwner();
      const result = await deps.api.putStatus({ ...target, status }, ctx.signal);
      written.wrote(result);
      return result;
    },
    currentJob: (namespace, name, ctx) => currentJob(deps.stores.jobs, deps.api, namespace, name, ctx.signal),
    podsOf: (target, operation) =>
      deps.stores.pods.byIndex(
        INDEX_PIPELINE_WORKLOAD,
        snapshotWorkloadKey(target.metadata?.namespace ?? '', target.metadata?.name ?? '', operation),
      ),
  };
}

export function keyOf(record: EtcdSnapshot): string {
  return objectKey(record);
}

/** The health check's chosen source first; the agent falls back to the others in order. */
export function sourceFirst(endpoints: string[], source: string | undefined): string[] {
  return source ? [source, ...endpoints.filter((e) => e !== source)] : endpoints;
}
