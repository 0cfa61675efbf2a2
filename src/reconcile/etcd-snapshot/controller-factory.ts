// Composition of the pipeline: the reconciler on a Controller, woken by the records, the
// pipeline's Jobs and pods (mapped to their record), and the snapshot claims (mapped to the
// records of their cluster). Ownership is decided by the record's etcd cluster, so one replica
// runs every save of a cluster and one-save-per-cluster needs no coordination between replicas.
import { credentialsFromSecret } from '../../etcd/credentials.ts';
import { type DruidEtcd, etcdClusterIndexer, INDEX_ETCD_CLUSTER } from '../../etcd/discovery.ts';
import { checkClusterHealth } from '../../etcd/health.ts';
import type { Job, PersistentVolumeClaim, Pod, StatefulSet } from '../../informers/resources.ts';
import {
  type IndexFunc,
  namespacedKey,
  objectKey,
  type ReadonlyStore,
  type StoredObject,
} from '../../informers/store-types.ts';
import type { JsonRequester, TextRequester } from '../../kube/custom-objects.ts';
import type { Ownership } from '../../leader/ownership.ts';
import {
  type EtcdRestore,
  etcdRestoreIndexers,
  INDEX_RESTORE_CLUSTER,
  restoreClusterKey,
  restoreFinished,
} from '../../records/etcd-restore.ts';
import {
  type EtcdSnapshot,
  etcdSnapshotIndexers,
  INDEX_GROUP_SNAPSHOT_ID,
  LABEL_CLUSTER,
} from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { ClusterTurns } from '../cluster-turns.ts';
import { Controller } from '../controller.ts';
import { enqueueMapped } from '../handlers.ts';
import type { IndexableSource } from '../indexable-source.ts';
import { APP_NAME, LABEL_APP } from '../jobs/labels.ts';
import type { ControllerMetrics } from '../metrics.ts';
import {
  INDEX_PIPELINE_WORKLOAD,
  INDEX_RECORD_CLUSTER,
  pipelineWorkloadIndexer,
  recordClusterIndexer,
} from '../snapshot-records/indexes.ts';
import { LABEL_SNAPSHOT_ID } from '../snapshot-records/names.ts';
import type { SyncingSource } from '../sources-synced.ts';
import { inFinalPhase } from './cluster-turn.ts';
import { kubePipelineApi } from './kube-api.ts';
import { noopPipelineMetrics, type PipelineMetrics } from './metrics.ts';
import { type PipelineOptionsInput, resolvePipelineOptions } from './options.ts';
import type { CredentialsParser, HealthChecker, PipelineApi } from './ports.ts';
import { EtcdSnapshotReconciler, type PipelineStores } from './reconciler.ts';

export interface PipelineInformers {
  etcdSnapshots: IndexableSource<EtcdSnapshot>;
  jobs: IndexableSource<Job>;
  pods: IndexableSource<Pod>;
  persistentVolumeClaims: IndexableSource<PersistentVolumeClaim>;
  statefulSets: IndexableSource<StatefulSet>;
  /** Restores: while one of a cluster has not ended, its saves wait (one operation per cluster). */
  etcdRestores?: IndexableSource<EtcdRestore>;
  /** Only the store is read (discovery); it may fill late, when the CRD is installed after start. */
  druidEtcds?: { readonly store: ReadonlyStore<DruidEtcd> } & SyncingSource;
}

export interface EtcdSnapshotControllerDeps {
  /** The API client (KubeClient); ignored for calls when `api` is given. */
  client: JsonRequester;
  informers: PipelineInformers;
  ownership: Ownership;
  logger: Logger;
  options: PipelineOptionsInput;
  metrics?: PipelineMetrics;
  controllerMetrics?: ControllerMetrics;
  /** The etcd health check; default src/etcd/health.ts's checkClusterHealth, `null` skips CheckHealth. */
  health?: HealthChecker | null;
  parseCredentials?: CredentialsParser;
  /** For pod log tails (text); optional. */
  logs?: TextRequester;
  /** Overrides the API calls (tests). */
  api?: PipelineApi;
  name?: string;
  /** Shared with the restore controller: one operation per etcd cluster (../cluster-turns.ts). */
  turns?: ClusterTurns;
}

function index<T extends StoredObject>(source: IndexableSource<T>, name: string, fn: IndexFunc<T>): void {
  source.addIndexer?.(name, fn);
}

/** Keys of the records a pipeline Job or pod works for (its snapshot-id label, same namespace). */
function workloadRecordKeys(obj: Job | Pod): string[] {
  const labels = obj.metadata?.labels;
  const id = labels?.[LABEL_SNAPSHOT_ID];
  if (labels?.[LABEL_APP] !== APP_NAME || !id) return [];
  return [namespacedKey(obj.metadata?.namespace, id)];
}

export function createEtcdSnapshotController(deps: EtcdSnapshotControllerDeps): Controller {
  const options = resolvePipelineOptions(deps.options);
  const { informers } = deps;
  for (const [name, fn] of Object.entries(etcdSnapshotIndexers)) index(informers.etcdSnapshots, name, fn);
  index(informers.etcdSnapshots, INDEX_RECORD_CLUSTER, recordClusterIndexer);
  index(informers.jobs, INDEX_PIPELINE_WORKLOAD, pipelineWorkloadIndexer);
  index(informers.pods, INDEX_PIPELINE_WORKLOAD, pipelineWorkloadIndexer);
  index(informers.pods, INDEX_ETCD_CLUSTER, etcdClusterIndexer);
  index(informers.statefulSets, INDEX_ETCD_CLUSTER, etcdClusterIndexer);
  if (informers.etcdRestores)
    index(informers.etcdRestores, INDEX_RESTORE_CLUSTER, etcdRestoreIndexers[INDEX_RESTORE_CLUSTER]);

  const records = informers.etcdSnapshots.store;
  const stores: PipelineStores = {
    etcdSnapshots: records,
    jobs: informers.jobs.store,
    pods: informers.pods.store,
    persistentVolumeClaims: informers.persistentVolumeClaims.store,
    statefulSets: informers.statefulSets.store,
    ...(informers.druidEtcds ? { druidEtcds: informers.druidEtcds.store } : {}),
    ...(informers.etcdRestores ? { etcdRestores: informers.etcdRestores.store } : {}),
  };
  const logger = deps.logger.child({ component: 'etcd-snapshot-pipeline' });
  const reconciler = new EtcdSnapshotReconciler({
    stores,
    api: deps.api ?? kubePipelineApi(deps.client, { logger, ...(deps.logs ? { logs: deps.logs } : {}) }),
    options,
    metrics: deps.metrics ?? noopPipelineMetrics,
    logger,
    parseCredentials: deps.parseCredentials ?? credentialsFromSecret,
    ...(deps.health === null ? {} : { health: deps.health ?? checkClusterHealth }),
    ...(deps.turns ? { turns: deps.turns } : {}),
  });
  const controller = new Controller({
    name: deps.name ?? 'etcdsnapshot',
    reconciler,
    logger,
    workers: options.workers,
    ownership: deps.ownership,
    // Ownership follows the etcd cluster; a record gone from the cache falls back to its key.
    shardKey: (key) => records.get(key)?.spec?.cluster?.key ?? key,
    // Discover reads these without being woken by them: a half-listed cache is no evidence.
    alsoSynced: [informers.statefulSets, ...(informers.druidEtcds ? [informers.druidEtcds] : [])],
    ...(deps.controllerMetrics ? { metrics: deps.controllerMetrics } : {}),
  });

  // A record wakes itself; one that ends (terminal or gone) also wakes its cluster's waiting
  // records (their turn may have come) and its group (a failure fans out).
  const recordKeys = (r: EtcdSnapshot): string[] => {
    const keys = [objectKey(r)];
    if (inFinalPhase(r) || r.metadata?.deletionTimestamp) {
      if (r.spec?.cluster?.key)
        keys.push(...records.byIndex(INDEX_RECORD_CLUSTER, r.spec.cluster.key).map(objectKey));
      if (r.spec?.groupSnapshotId)
        keys.push(...records.byIndex(INDEX_GROUP_SNAPSHOT_ID, r.spec.groupSnapshotId).map(objectKey));
    }
    return keys;
  };
  const claimRecordKeys = (claim: PersistentVolumeClaim): string[] => {
    const cluster = claim.metadata?.labels?.[LABEL_CLUSTER];
    if (claim.metadata?.labels?.[LABEL_APP] !== APP_NAME || !cluster) return [];
    return records
      .byIndex(INDEX_RECORD_CLUSTER, `${claim.metadata?.namespace ?? ''}/${cluster}`)
      .map(objectKey);
  };
  // A deleted Job or pod also frees its cluster's turn: wake the cluster's records.
  const workloadKeys = (obj: Job | Pod): string[] => {
    const keys = workloadRecordKeys(obj);
    for (const k of [...keys]) {
      const r = records.get(k);
      if (r?.spec?.cluster?.key)
        for (const p of records.byIndex(INDEX_RECORD_CLUSTER, r.spec.cluster.key)) keys.push(objectKey(p));
    }
    return keys;
  };
  // A restore that ends (or goes) frees its cluster's turn: wake the cluster's records.
  const restoreRecordKeys = (r: EtcdRestore): string[] =>
    restoreFinished(r) || r.metadata?.deletionTimestamp
      ? records
          .byIndex(INDEX_RECORD_CLUSTER, restoreClusterKey(r))
          .map((p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`)
      : [];
  if (informers.etcdRestores) controller.watch(informers.etcdRestores, enqueueMapped(restoreRecordKeys));
  controller
    .watch(informers.etcdSnapshots, enqueueMapped(recordKeys))
    .watch(informers.jobs, enqueueMapped(workloadKeys))
    .watch(informers.pods, enqueueMapped(workloadKeys))
    .watch(informers.persistentVolumeClaims, enqueueMapped(claimRecordKeys));
  return controller;
}
