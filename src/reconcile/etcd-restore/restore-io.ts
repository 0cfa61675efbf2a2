// What every flow of the restore reconciler works with: the caches, the API, the live-cluster
// probe, the options, and the one way it writes a restore's status (through a read-your-writes
// overlay, so the next reconcile sees the last write even before the informer does).

import type { DiscoveryStores } from '../../etcd/discovery.ts';
import type { Job, PersistentVolumeClaim, Pod } from '../../informers/resources.ts';
import type { ReadonlyStore } from '../../informers/store-types.ts';
import {
  type EtcdRestore,
  type EtcdRestoreStatus,
  etcdRestoreIndexers,
  INDEX_RESTORE_CLUSTER,
} from '../../records/etcd-restore.ts';
import { type EtcdSnapshot, LABEL_VELERO_EXCLUDE } from '../../records/etcd-snapshot.ts';
import { type ReadYourWritesStore, readYourWrites } from '../../records/read-your-writes.ts';
import type { ClusterTurns } from '../cluster-turns.ts';
import { currentJob } from '../jobs/job-api.ts';
import type { ReconcileContext } from '../result.ts';
import type { RestoreMetrics } from './metrics.ts';
import type { RestoreOptions } from './options.ts';
import type { CredentialsParser, LiveClusterProbe, RestoreApi } from './ports.ts';

export interface RestoreStores extends DiscoveryStores {
  /** With INDEX_RESTORE_CLUSTER. */
  etcdRestores: ReadonlyStore<EtcdRestore>;
  /** With etcdSnapshotIndexers and the pipeline's INDEX_RECORD_CLUSTER. */
  etcdSnapshots: ReadonlyStore<EtcdSnapshot>;
  /** With the pipeline's INDEX_PIPELINE_WORKLOAD. */
  jobs: ReadonlyStore<Job>;
  /** With INDEX_PIPELINE_WORKLOAD and discovery's INDEX_ETCD_CLUSTER. */
  pods: ReadonlyStore<Pod>;
  persistentVolumeClaims: ReadonlyStore<PersistentVolumeClaim>;
}

export interface RestoreReconcilerDeps {
  stores: RestoreStores;
  api: RestoreApi;
  probe: LiveClusterProbe;
  parseCredentials: CredentialsParser;
  options: RestoreOptions;
  metrics: RestoreMetrics;
  turns: ClusterTurns;
  now?: () => Date;
}

export interface RestoreIo extends Omit<RestoreReconcilerDeps, 'now'> {
  now(): Date;
  /** The restore as the cache holds it, or the reconciler's own later write of it. */
  restore(key: string): EtcdRestore | undefined;
  /** The restores of a cluster key, each as restore() reads it. */
  clusterRestores(clusterKey: string): EtcdRestore[];
  /** Writes the status (resourceVersion-guarded); returns the restore written. */
  putStatus(restore: EtcdRestore, status: EtcdRestoreStatus, ctx: ReconcileContext): Promise<EtcdRestore>;
  /**
   * The restore with Velero's exclude label, patched on once when it lacks it (a user's restore
   * the first time it is taken): Velero restores spec without status, so a restore brought back
   * from a backup would run again. A restore being deleted is returned as it is.
   */
  excludeFromVelero(restore: EtcdRestore, ctx: ReconcileContext): Promise<EtcdRestore>;
  /** The Job from the cache, else from the API. */
  currentJob(namespace: string, name: string, ctx: ReconcileContext): Promise<Job | undefined>;
}

export function restoreIo(deps: RestoreReconcilerDeps): RestoreIo {
  const now = deps.now ?? (() => new Date());
  const cache = deps.stores.etcdRestores;
  const written: ReadYourWritesStore<EtcdRestore> = readYourWrites(cache, etcdRestoreIndexers, {
    now: () => now().getTime(),
  });
  const restore = (key: string) => (cache.get(key) ? written.get(key) : undefined);
  return {
    ...deps,
    now,
    restore,
    clusterRestores: (clusterKey) =>
      cache.byIndex(INDEX_RESTORE_CLUSTER, clusterKey).map((r) => restore(keyOf(r)) ?? r),
    async putStatus(target, status, ctx) {
      ctx.assertOwner();
      const result = await deps.api.putStatus({ ...target, status }, ctx.signal);
      written.wrote(result);
      return result;
    },
    async excludeFromVelero(target, ctx) {
      if (target.metadata?.deletionTimestamp) return target;
      if (target.metadata?.labels?.[LABEL_VELERO_EXCLUDE] === 'true') return target;
      ctx.assertOwner();
      const result = await deps.api.excludeFromVelero(target, ctx.signal);
      written.wrote(result);
      return result;
    },
    currentJob: (namespace, name, ctx) => currentJob(deps.stores.jobs, deps.api, namespace, name, ctx.signal),
  };
}

export function keyOf(r: { metadata?: { namespace?: string; name?: string } }): string {
  return `${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`;
}
