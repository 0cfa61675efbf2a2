// Composition of the retention controller: keyed by etcd cluster (the pipeline's shard key, so it
// runs where the cluster's bucket is owned), woken by the cluster's records, the snapshot contents
// that reference them, its snapshot claim and its sweep Jobs, and by its own periodic requeue.
import type { Job, PersistentVolumeClaim, UnstructuredObject } from '../../informers/resources.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import type { Ownership } from '../../leader/ownership.ts';
import {
  type EtcdSnapshot,
  etcdSnapshotIndexers,
  INDEX_GROUP_SNAPSHOT_ID,
  INDEX_SNAPSHOT_ID,
} from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { Controller } from '../controller.ts';
import { enqueueMapped } from '../handlers.ts';
import type { IndexableSource } from '../indexable-source.ts';
import { LABEL_OPERATION } from '../jobs/labels.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { INDEX_RECORD_CLUSTER, recordClusterIndexer } from '../snapshot-records/indexes.ts';
import { ContentReferences, contentHandleIndexer } from './content-references.ts';
import { kubeRetentionApi, type RetentionApi } from './kube-api.ts';
import { noopRetentionMetrics, type RetentionMetrics } from './metrics.ts';
import { type RetentionOptionsInput, resolveRetentionOptions } from './options.ts';
import {
  INDEX_SNAPSHOT_CLAIM_CLUSTER,
  RetentionReconciler,
  snapshotClaimClusterIndexer,
} from './reconciler.ts';

export interface RetentionInformers {
  etcdSnapshots: IndexableSource<EtcdSnapshot>;
  jobs: IndexableSource<Job>;
  persistentVolumeClaims: IndexableSource<PersistentVolumeClaim>;
  /** Absent when the snapshot CRDs are not installed: then only retention applies. */
  volumeSnapshotContents?: IndexableSource<UnstructuredObject>;
  volumeGroupSnapshotContents?: IndexableSource<UnstructuredObject>;
}

export interface RetentionControllerDeps {
  client: JsonRequester;
  informers: RetentionInformers;
  ownership: Ownership;
  logger: Logger;
  options: RetentionOptionsInput;
  metrics?: RetentionMetrics;
  controllerMetrics?: ControllerMetrics;
  /** Overrides the API calls (tests, the benchmark's write counter). */
  api?: RetentionApi;
  now?: () => number;
}

/** A controller plus the subscription to content deletions it starts and stops with. */
export interface RetentionController {
  readonly controller: Controller;
  start(): void;
  stop(options: { deadlineMs: number }): Promise<{ drained: boolean }>;
}

export function createRetentionController(deps: RetentionControllerDeps): RetentionController {
  const options = resolveRetentionOptions(deps.options);
  const { informers } = deps;
  const records = informers.etcdSnapshots.store;
  for (const [name, fn] of Object.entries(etcdSnapshotIndexers))
    informers.etcdSnapshots.addIndexer?.(name, fn);
  informers.etcdSnapshots.addIndexer?.(INDEX_RECORD_CLUSTER, recordClusterIndexer);
  informers.persistentVolumeClaims.addIndexer?.(INDEX_SNAPSHOT_CLAIM_CLUSTER, snapshotClaimClusterIndexer);
  const contentSources = [informers.volumeSnapshotContents, informers.volumeGroupSnapshotContents];
  const contents = new ContentReferences(contentSources);
  const logger = deps.logger.child({ component: 'etcd-snapshot-retention' });
  const api = deps.api ?? kubeRetentionApi(deps.client, logger);
  const reconciler = new RetentionReconciler({
    stores: { etcdSnapshots: records, persistentVolumeClaims: informers.persistentVolumeClaims.store },
    contents,
    api,
    options,
    metrics: deps.metrics ?? noopRetentionMetrics,
    logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  // Keys are cluster keys already: ownership hashes them as the pipeline's shardKey does.
  const controller = new Controller({
    name: 'etcdsnapshot-retention',
    reconciler,
    logger,
    workers: 1,
    ownership: deps.ownership,
    ...(deps.controllerMetrics ? { metrics: deps.controllerMetrics } : {}),
  });

  const recordCluster = (r: EtcdSnapshot) => (r.spec?.cluster?.key ? [r.spec.cluster.key] : []);
  const contentClusters = (c: UnstructuredObject): string[] => {
    const keys = new Set<string>();
    for (const h of contentHandleIndexer(c))
      for (const r of [
        ...records.byIndex(INDEX_SNAPSHOT_ID, h),
        ...records.byIndex(INDEX_GROUP_SNAPSHOT_ID, h),
      ])
        for (const k of recordCluster(r)) keys.add(k);
    return [...keys];
  };
  // The same key the claim index uses, for claims and for the sweep Jobs labelled like them.
  const labelledCluster = (obj: Job | PersistentVolumeClaim): string[] => snapshotClaimClusterIndexer(obj);
  controller
    .watch(informers.etcdSnapshots, (event) => {
      if (event.type === 'deleted') {
        reconciler.forgetRecord(event.object.metadata?.uid ?? '');
        contents.forget(event.object);
      }
      return recordCluster(event.object);
    })
    .watch(informers.persistentVolumeClaims, enqueueMapped(labelledCluster))
    .watch(
      informers.jobs,
      enqueueMapped((j: Job) =>
        j.metadata?.labels?.[LABEL_OPERATION] === 'sweep' ? labelledCluster(j) : [],
      ),
    );
  for (const source of contentSources) if (source) controller.watch(source, enqueueMapped(contentClusters));

  return {
    controller,
    start() {
      contents.start();
      controller.start();
    },
    async stop(o) {
      const result = await controller.stop(o);
      contents.stop();
      return result;
    },
  };
}
