// The informers every part of the driver reads, created once per process: the CSI handlers answer
// from them and the reconcilers are fed by them. One informer per resource, whatever the number of
// consumers (InformerFactory shares them); the indexes each consumer needs are registered here so
// that the whole set is visible in one place.
import { etcdClusterIndexer, INDEX_ETCD_CLUSTER } from '../etcd/discovery.ts';
import {
  discoverServedVersion,
  discoverVolumeGroupSnapshotContents,
  servesResource,
} from '../informers/discovery.ts';
import type { Informer } from '../informers/informer.ts';
import type { InformerFactory } from '../informers/informer-factory.ts';
import type { KubeClient } from '../informers/kube-client.ts';
import {
  type Job,
  jobs,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  pods,
  type ResourceDefinition,
  type StatefulSet,
  statefulSets,
  type UnstructuredObject,
  VOLUME_GROUP_SNAPSHOT_GROUP,
  volumeSnapshotContents,
} from '../informers/resources.ts';
import { type InformerView, UnionInformer } from '../informers/union-informer.ts';
import { SCHEDULE_RUN_SELECTOR } from '../reconcile/etcd-snapshot-schedule/controller-factory.ts';
import { AGENT_JOB_SELECTOR } from '../reconcile/jobs/labels.ts';
import {
  type EtcdRestore,
  etcdRestoreIndexers,
  etcdRestoreResource,
  INDEX_RESTORE_CLUSTER,
} from '../records/etcd-restore.ts';
import { type EtcdSnapshot, etcdSnapshotIndexers, etcdSnapshotResource } from '../records/etcd-snapshot.ts';
import {
  ETCD_SNAPSHOT_SCHEDULE,
  type EtcdSnapshotSchedule,
  etcdSnapshotScheduleResource,
} from '../records/etcd-snapshot-schedule.ts';
import {
  type EtcdSourceVolume,
  etcdSourceVolumeIndexers,
  etcdSourceVolumeResource,
} from '../records/etcd-source-volume.ts';
import type { Logger } from '../telemetry/logger.ts';
import { type DruidEtcds, druidEtcds } from './druid-etcds.ts';
import { managedStorageResources, POD_SELECTORS, STATEFUL_SET_SELECTORS } from './managed-objects.ts';

const volumeSnapshots: ResourceDefinition<UnstructuredObject> = {
  group: 'snapshot.storage.k8s.io',
  version: 'v1',
  plural: 'volumesnapshots',
  kind: 'VolumeSnapshot',
  namespaced: true,
};

function volumeGroupSnapshots(version: string): ResourceDefinition<UnstructuredObject> {
  return {
    group: VOLUME_GROUP_SNAPSHOT_GROUP,
    version,
    plural: 'volumegroupsnapshots',
    kind: 'VolumeGroupSnapshot',
    namespaced: true,
  };
}

export interface SharedInformers {
  etcdSnapshots: Informer<EtcdSnapshot>;
  /** EtcdRestores: the restore engine's objects; the snapshot pipeline reads them for the cluster turn. */
  etcdRestores: Informer<EtcdRestore>;
  etcdSourceVolumes: Informer<EtcdSourceVolume>;
  /** Only the claims and volumes the driver manages (managed-objects.ts). */
  persistentVolumeClaims: Informer<PersistentVolumeClaim>;
  persistentVolumes: Informer<PersistentVolume>;
  /** etcd members (discovery label or etcd-druid's) and the driver's Job pods, one informer each. */
  pods: InformerView<Pod>;
  statefulSets: InformerView<StatefulSet>;
  jobs: Informer<Job>;
  /** Absent when the external-snapshotter CRDs are not installed. */
  volumeSnapshotContents?: Informer<UnstructuredObject>;
  volumeGroupSnapshotContents?: Informer<UnstructuredObject>;
  /** etcd-druid's Etcds: empty while the CRD is not installed, filled once it is (no restart). */
  druidEtcds: DruidEtcds;
  /** Absent when the EtcdSnapshotSchedule CRD or the VolumeSnapshot API is not served at start. */
  schedules?: {
    etcdSnapshotSchedules: Informer<EtcdSnapshotSchedule>;
    /** Only schedule-labelled ones (SCHEDULE_RUN_SELECTOR). */
    volumeSnapshots: Informer<UnstructuredObject>;
    volumeGroupSnapshots?: Informer<UnstructuredObject>;
    /** The groupsnapshot.storage.k8s.io version served, if any. */
    groupSnapshotVersion?: string;
  };
}

/**
 * Creates (does not start) the informers. The snapshotter's resources are decided by what the
 * server serves now (installing their CRDs later needs a restart, which the docs say); etcd-druid's
 * CRD is looked for until it appears.
 */
export async function createSharedInformers(
  factory: InformerFactory,
  client: KubeClient,
  signal: AbortSignal | undefined,
  options: { log: Logger; driverName: string; druidCrdPollMs?: number },
): Promise<SharedInformers> {
  const etcdSnapshots = factory.informerFor(etcdSnapshotResource);
  for (const [name, fn] of Object.entries(etcdSnapshotIndexers)) etcdSnapshots.addIndexer(name, fn);
  const etcdSourceVolumes = factory.informerFor(etcdSourceVolumeResource);
  for (const [name, fn] of Object.entries(etcdSourceVolumeIndexers)) etcdSourceVolumes.addIndexer(name, fn);

  const [druid, vgscResource, vscVersion, schedulesServed] = await Promise.all([
    druidEtcds(factory, client, {
      log: options.log,
      ...(options.druidCrdPollMs ? { pollMs: options.druidCrdPollMs } : {}),
      ...(signal ? { signal } : {}),
    }),
    discoverVolumeGroupSnapshotContents(client, signal),
    discoverServedVersion(client, volumeSnapshotContents.group, [volumeSnapshotContents.version], signal),
    servesResource(
      client,
      ETCD_SNAPSHOT_SCHEDULE.group,
      ETCD_SNAPSHOT_SCHEDULE.version,
      ETCD_SNAPSHOT_SCHEDULE.plural,
      signal,
    ),
  ]);

  const storage = managedStorageResources(options.driverName);
  const bySelector = <T extends Pod | StatefulSet>(
    resource: ResourceDefinition<T>,
    selectors: readonly string[],
  ) => new UnionInformer(selectors.map((labelSelector) => factory.informerFor(resource, { labelSelector })));
  const informers: SharedInformers = {
    etcdSnapshots,
    etcdRestores: factory
      .informerFor(etcdRestoreResource)
      .addIndexer(INDEX_RESTORE_CLUSTER, etcdRestoreIndexers[INDEX_RESTORE_CLUSTER]),
    etcdSourceVolumes,
    persistentVolumeClaims: factory.informerFor(storage.claims),
    persistentVolumes: factory.informerFor(storage.volumes),
    pods: bySelector(pods, POD_SELECTORS).addIndexer(INDEX_ETCD_CLUSTER, etcdClusterIndexer),
    statefulSets: bySelector(statefulSets, STATEFUL_SET_SELECTORS).addIndexer(
      INDEX_ETCD_CLUSTER,
      etcdClusterIndexer,
    ),
    // Only the driver's own Jobs: the cluster's other Jobs are none of its business (or memory).
    jobs: factory.informerFor(jobs, { labelSelector: AGENT_JOB_SELECTOR }),
    druidEtcds: druid,
  };
  if (vscVersion) informers.volumeSnapshotContents = factory.informerFor(volumeSnapshotContents);
  if (vgscResource) informers.volumeGroupSnapshotContents = factory.informerFor(vgscResource);
  // The schedule CRD may be absent (a cluster upgraded without it, tests that install only the
  // record CRDs): no schedules then, until a restart — never an informer that cannot sync.
  if (schedulesServed && vscVersion) {
    const byLabel = { labelSelector: SCHEDULE_RUN_SELECTOR };
    informers.schedules = {
      etcdSnapshotSchedules: factory.informerFor(etcdSnapshotScheduleResource),
      volumeSnapshots: factory.informerFor(volumeSnapshots, byLabel),
      ...(vgscResource
        ? {
            volumeGroupSnapshots: factory.informerFor(volumeGroupSnapshots(vgscResource.version), byLabel),
            groupSnapshotVersion: vgscResource.version,
          }
        : {}),
    };
  }
  return informers;
}
