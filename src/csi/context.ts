// What the Controller and GroupController handlers work with: the driver's settings, read views
// of the informer caches, and the record writers. Built once by startCsiServer's caller.

import type { DiscoveryOptions, DiscoveryStores } from '../etcd/discovery.ts';
import type { PersistentVolume, PersistentVolumeClaim } from '../informers/resources.ts';
import type { ReadonlyStore } from '../informers/store-types.ts';
import type { NamespacedCustomObjects } from '../kube/custom-objects.ts';
import type { EtcdRestore } from '../records/etcd-restore.ts';
import type { EtcdSnapshot } from '../records/etcd-snapshot.ts';
import type { EtcdSnapshotName } from '../records/etcd-snapshot-name.ts';
import type { EtcdSourceVolume } from '../records/etcd-source-volume.ts';
import type { RecordWriter } from '../records/record-writer.ts';
import { CsiError } from './errors.ts';

export interface CsiDefaults {
  /** Where volumes without a claim and without etcd-namespace keep their records and look for etcd. */
  etcdNamespace: string;
  storageClass: string;
  snapshotTimeoutSeconds: number;
  retentionDays: number;
  /** The store Secret of snapshots whose class names none (--object-store-secret); unset: no copies. */
  objectStoreSecret?: string;
}

export interface DriverContext {
  driverName: string;
  /** Written into records' spec.createdBy, e.g. the pod name. */
  createdBy: string;
  defaults: CsiDefaults;
  snapshots: RecordWriter<EtcdSnapshot>;
  volumes: RecordWriter<EtcdSourceVolume>;
  /** Restores the CSI door creates (CreateVolume from a snapshot, restore-door.ts). */
  restores: RecordWriter<EtcdRestore>;
  /** Group claims (cluster-scoped; read from the API only, by the calls that write records). */
  nameClaims: NamespacedCustomObjects<EtcdSnapshotName>;
  claims: ReadonlyStore<PersistentVolumeClaim>;
  /** Lets a static PV's volumeAttributes name the cluster; optional. */
  persistentVolumes?: ReadonlyStore<PersistentVolume>;
  discovery: DiscoveryStores;
  /** The discovery methods allowed (ETCD_DISCOVERY_METHOD); all when unset. */
  discoveryOptions?: DiscoveryOptions;
  /** True once every informer cache the handlers read has synced. */
  cachesSynced(): boolean;
}

/** Handlers that answer from caches refuse to answer from caches that are not complete yet. */
export function requireSynced(ctx: DriverContext): void {
  if (!ctx.cachesSynced()) throw new CsiError('NOT_READY', 'the driver is still loading its caches; retry');
}
