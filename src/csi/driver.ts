// Composition of the CSI side: informer stores and an API client in, a serving CSI server out.
// main.ts calls startCsiDriver once the informers are created (they may still be syncing: Probe
// says not ready and cache-reading calls answer UNAVAILABLE until they have).
import { hostname } from 'node:os';
import type { DiscoveryOptions, DiscoveryStores } from '../etcd/discovery.ts';
import type { PersistentVolume, PersistentVolumeClaim } from '../informers/resources.ts';
import type { ReadonlyStore } from '../informers/store-types.ts';
import {
  type JsonRequester,
  type NamespacedCustomObjects,
  namespacedCustomObjects,
} from '../kube/custom-objects.ts';
import { ETCD_RESTORE, type EtcdRestore } from '../records/etcd-restore.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot, etcdSnapshotIndexers } from '../records/etcd-snapshot.ts';
import { type EtcdSnapshotName, snapshotNameClaims } from '../records/etcd-snapshot-name.ts';
import {
  ETCD_SOURCE_VOLUME,
  type EtcdSourceVolume,
  etcdSourceVolumeIndexers,
} from '../records/etcd-source-volume.ts';
import { readYourWrites } from '../records/read-your-writes.ts';
import { recordWriter } from '../records/record-writer.ts';
import type { Logger } from '../telemetry/logger.ts';
import { type BuildInfo, readBuildInfo } from './build-info.ts';
import type { CsiDefaults, DriverContext } from './context.ts';
import { controllerService } from './controller-service.ts';
import { groupControllerService } from './group-controller-service.ts';
import type { ServiceHandlers } from './handler.ts';
import { identityService, type Readiness } from './identity-service.ts';
import { nodeService } from './node-service.ts';
import type { CsiServiceName } from './proto.ts';
import { type CsiCallHooks, type CsiServer, startCsiServer } from './server.ts';
import { DEFAULT_RETENTION_DAYS } from './validation.ts';

export interface CsiStores extends DiscoveryStores {
  /** With etcdSnapshotIndexers registered. */
  etcdSnapshots: ReadonlyStore<EtcdSnapshot>;
  /** With etcdSourceVolumeIndexers registered. */
  etcdSourceVolumes: ReadonlyStore<EtcdSourceVolume>;
  etcdRestores: ReadonlyStore<EtcdRestore>;
  persistentVolumeClaims: ReadonlyStore<PersistentVolumeClaim>;
  persistentVolumes?: ReadonlyStore<PersistentVolume>;
}

export interface CsiRecordApis {
  snapshots: NamespacedCustomObjects<EtcdSnapshot>;
  volumes: NamespacedCustomObjects<EtcdSourceVolume>;
  restores: NamespacedCustomObjects<EtcdRestore>;
  /** Cluster-scoped group claims (the namespace argument is ignored). */
  nameClaims: NamespacedCustomObjects<EtcdSnapshotName>;
}

export interface CsiDriverOptions {
  driverName: string;
  defaults: Pick<CsiDefaults, 'etcdNamespace' | 'storageClass' | 'snapshotTimeoutSeconds'> &
    Partial<CsiDefaults>;
  stores: CsiStores;
  /** The API client records are written with (KubeClient), or ready-made record clients. */
  api: JsonRequester | CsiRecordApis;
  readiness: Readiness;
  log: Logger;
  hooks?: CsiCallHooks;
  nodeId?: string;
  createdBy?: string;
  build?: BuildInfo;
  /** Read-your-writes window (default 60 s). */
  overlayTtlMs?: number;
  /** Which discovery methods volumes and snapshots may use (default: all). */
  discovery?: DiscoveryOptions;
}

export function createCsiServices(options: CsiDriverOptions): Record<CsiServiceName, ServiceHandlers> {
  const apis: CsiRecordApis =
    'request' in options.api
      ? {
          snapshots: namespacedCustomObjects<EtcdSnapshot>(options.api, ETCD_SNAPSHOT),
          volumes: namespacedCustomObjects<EtcdSourceVolume>(options.api, ETCD_SOURCE_VOLUME),
          restores: namespacedCustomObjects<EtcdRestore>(options.api, ETCD_RESTORE),
          nameClaims: snapshotNameClaims(options.api),
        }
      : options.api;
  const ttl = options.overlayTtlMs === undefined ? {} : { ttlMs: options.overlayTtlMs };
  const { stores } = options;
  const ctx: DriverContext = {
    driverName: options.driverName,
    createdBy: options.createdBy ?? process.env.POD_NAME ?? hostname(),
    defaults: {
      retentionDays: DEFAULT_RETENTION_DAYS,
      ...options.defaults,
    },
    snapshots: recordWriter(apis.snapshots, readYourWrites(stores.etcdSnapshots, etcdSnapshotIndexers, ttl)),
    volumes: recordWriter(
      apis.volumes,
      readYourWrites(stores.etcdSourceVolumes, etcdSourceVolumeIndexers, ttl),
    ),
    restores: recordWriter(apis.restores, readYourWrites(stores.etcdRestores, {}, ttl)),
    nameClaims: apis.nameClaims,
    claims: stores.persistentVolumeClaims,
    ...(stores.persistentVolumes ? { persistentVolumes: stores.persistentVolumes } : {}),
    discovery: {
      pods: stores.pods,
      statefulSets: stores.statefulSets,
      ...(stores.druidEtcds ? { druidEtcds: stores.druidEtcds } : {}),
    },
    ...(options.discovery ? { discoveryOptions: options.discovery } : {}),
    cachesSynced: () => options.readiness.cachesSynced(),
  };
  return {
    Identity: identityService({
      driverName: options.driverName,
      build: options.build ?? readBuildInfo(),
      readiness: options.readiness,
    }),
    Controller: controllerService(ctx),
    GroupController: groupControllerService(ctx),
    Node: nodeService({ nodeId: options.nodeId ?? process.env.NODE_NAME ?? hostname() }),
  };
}

export function startCsiDriver(
  options: CsiDriverOptions & {
    endpoints: readonly string[];
    socketMode?: number;
    listenTimeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<CsiServer> {
  return startCsiServer({
    endpoints: options.endpoints,
    services: createCsiServices(options),
    log: options.log.child({ component: 'csi' }),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.socketMode === undefined ? {} : { socketMode: options.socketMode }),
    ...(options.listenTimeoutMs === undefined ? {} : { listenTimeoutMs: options.listenTimeoutMs }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
