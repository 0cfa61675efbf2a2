// Composition of the restore engine: the reconciler on a Controller, sharded by the target
// cluster's key — the same bucket as that cluster's snapshots, so one replica runs both and the
// shared ClusterTurns keeps them one at a time — woken by its restores, its Jobs (by the restore
// label) and the target's pods (a scale-down or start is watched through them).
import { credentialsFromSecret } from '../../etcd/credentials.ts';
import {
  type DruidEtcd,
  etcdClusterIndexer,
  INDEX_ETCD_CLUSTER,
  LABEL_ETCD_CLUSTER,
} from '../../etcd/discovery.ts';
import type { Job, PersistentVolumeClaim, Pod, StatefulSet } from '../../informers/resources.ts';
import type { ReadonlyStore } from '../../informers/store-types.ts';
import type { JsonRequester, TextRequester } from '../../kube/custom-objects.ts';
import type { Ownership } from '../../leader/ownership.ts';
import {
  type EtcdRestore,
  etcdRestoreIndexers,
  INDEX_RESTORE_CLUSTER,
  restoreClusterKey,
} from '../../records/etcd-restore.ts';
import { type EtcdSnapshot, etcdSnapshotIndexers } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { ClusterTurns } from '../cluster-turns.ts';
import { Controller } from '../controller.ts';
import { enqueueMapped } from '../handlers.ts';
import type { IndexableSource } from '../indexable-source.ts';
import type { ControllerMetrics } from '../metrics.ts';
import {
  INDEX_PIPELINE_WORKLOAD,
  INDEX_RECORD_CLUSTER,
  pipelineWorkloadIndexer,
  recordClusterIndexer,
} from '../snapshot-records/indexes.ts';
import type { SyncingSource } from '../sources-synced.ts';
import { LABEL_RESTORE } from './jobs.ts';
import { kubeRestoreApi } from './kube-api.ts';
import { probeLiveCluster } from './live-cluster.ts';
import { noopRestoreMetrics, type RestoreMetrics } from './metrics.ts';
import { type RestoreOptionsInput, resolveRestoreOptions } from './options.ts';
import type { LiveClusterProbe, RestoreApi } from './ports.ts';
import { EtcdRestoreReconciler } from './reconciler.ts';

export interface RestoreInformers {
  etcdRestores: IndexableSource<EtcdRestore>;
  etcdSnapshots: IndexableSource<EtcdSnapshot>;
  jobs: IndexableSource<Job>;
  pods: IndexableSource<Pod>;
  persistentVolumeClaims: IndexableSource<PersistentVolumeClaim>;
  statefulSets: IndexableSource<StatefulSet>;
  druidEtcds?: { readonly store: ReadonlyStore<DruidEtcd> } & SyncingSource;
}

export interface EtcdRestoreControllerDeps {
  client: JsonRequester;
  informers: RestoreInformers;
  ownership: Ownership;
  logger: Logger;
  options: RestoreOptionsInput;
  /** Shared with the snapshot pipeline's controller: one operation per etcd cluster. */
  turns?: ClusterTurns;
  metrics?: RestoreMetrics;
  controllerMetrics?: ControllerMetrics;
  /** For pod log tails (text); optional. */
  logs?: TextRequester;
  /** Overrides (tests). */
  api?: RestoreApi;
  probe?: LiveClusterProbe;
  name?: string;
}

export function createEtcdRestoreController(deps: EtcdRestoreControllerDeps): Controller {
  const options = resolveRestoreOptions(deps.options);
  const { informers } = deps;
  informers.etcdRestores.addIndexer?.(INDEX_RESTORE_CLUSTER, etcdRestoreIndexers[INDEX_RESTORE_CLUSTER]);
  for (const [name, fn] of Object.entries(etcdSnapshotIndexers))
    informers.etcdSnapshots.addIndexer?.(name, fn);
  informers.etcdSnapshots.addIndexer?.(INDEX_RECORD_CLUSTER, recordClusterIndexer);
  informers.jobs.addIndexer?.(INDEX_PIPELINE_WORKLOAD, pipelineWorkloadIndexer);
  informers.pods.addIndexer?.(INDEX_PIPELINE_WORKLOAD, pipelineWorkloadIndexer);
  informers.pods.addIndexer?.(INDEX_ETCD_CLUSTER, etcdClusterIndexer);
  informers.statefulSets.addIndexer?.(INDEX_ETCD_CLUSTER, etcdClusterIndexer);

  const restores = informers.etcdRestores.store;
  const logger = deps.logger.child({ component: 'etcd-restore' });
  const reconciler = new EtcdRestoreReconciler({
    stores: {
      etcdRestores: restores,
      etcdSnapshots: informers.etcdSnapshots.store,
      jobs: informers.jobs.store,
      pods: informers.pods.store,
      persistentVolumeClaims: informers.persistentVolumeClaims.store,
      statefulSets: informers.statefulSets.store,
      ...(informers.druidEtcds ? { druidEtcds: informers.druidEtcds.store } : {}),
    },
    api: deps.api ?? kubeRestoreApi(deps.client, { logger, ...(deps.logs ? { logs: deps.logs } : {}) }),
    probe: deps.probe ?? probeLiveCluster,
    parseCredentials: credentialsFromSecret,
    options,
    metrics: deps.metrics ?? noopRestoreMetrics,
    turns: deps.turns ?? new ClusterTurns(),
  });
  const controller = new Controller({
    name: deps.name ?? 'etcdrestore',
    reconciler,
    logger,
    workers: options.workers,
    ownership: deps.ownership,
    // The cluster's bucket: the same key the snapshot records of that cluster shard by.
    shardKey: (key) => {
      const r = restores.get(key);
      return r ? restoreClusterKey(r) : key;
    },
    alsoSynced: [
      informers.statefulSets,
      informers.etcdSnapshots,
      informers.persistentVolumeClaims,
      ...(informers.druidEtcds ? [informers.druidEtcds] : []),
    ],
    ...(deps.controllerMetrics ? { metrics: deps.controllerMetrics } : {}),
  });
  const keyOf = (r: EtcdRestore) => `${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`;
  // A restore that ends wakes the other restores of its cluster (the turn may be theirs now).
  const restoreKeys = (r: EtcdRestore) => [
    keyOf(r),
    ...restores.byIndex(INDEX_RESTORE_CLUSTER, restoreClusterKey(r)).map(keyOf),
  ];
  const jobKeys = (obj: Job | Pod): string[] => {
    const name = obj.metadata?.labels?.[LABEL_RESTORE];
    return name ? [`${obj.metadata?.namespace ?? ''}/${name}`] : [];
  };
  // The cluster's pods (a scale-down ending, members starting) and save Jobs (a turn freed).
  const clusterKeys = (obj: Job | Pod): string[] => {
    const labels = obj.metadata?.labels ?? {};
    const cluster = labels[LABEL_ETCD_CLUSTER] ?? labels['snapshot.etcd-snapshot-driver.io/cluster'];
    const own = jobKeys(obj);
    if (!cluster) return own;
    return [
      ...own,
      ...restores.byIndex(INDEX_RESTORE_CLUSTER, `${obj.metadata?.namespace ?? ''}/${cluster}`).map(keyOf),
    ];
  };
  controller
    .watch(informers.etcdRestores, enqueueMapped(restoreKeys))
    .watch(informers.jobs, enqueueMapped(clusterKeys))
    .watch(informers.pods, enqueueMapped(clusterKeys));
  return controller;
}
