// The informers every part of the driver reads, created once per process: the CSI handlers answer
// from them and the reconcilers are fed by them. One informer per resource, whatever the number of
// consumers (InformerFactory shares them); the indexes each consumer needs are registered here so
// that the whole set is visible in one place.
import { etcdClusterIndexer, INDEX_ETCD_CLUSTER } from '../etcd/discovery.ts';
import { discoverServedVersion, discoverVolumeGroupSnapshotContents } from '../informers/discovery.ts';
import type { Informer } from '../informers/informer.ts';
import type { InformerFactory } from '../informers/informer-factory.ts';
import type { KubeClient } from '../informers/kube-client.ts';
import {
  type Job,
  jobs,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  persistentVolumeClaims,
  persistentVolumes,
  pods,
  type StatefulSet,
  statefulSets,
  type UnstructuredObject,
  volumeSnapshotContents,
} from '../informers/resources.ts';
import { AGENT_JOB_SELECTOR } from '../reconcile/jobs/labels.ts';
import {
  type EtcdRestore,
  etcdRestoreIndexers,
  etcdRestoreResource,
  INDEX_RESTORE_CLUSTER,
} from '../records/etcd-restore.ts';
import { type EtcdSnapshot, etcdSnapshotIndexers, etcdSnapshotResource } from '../records/etcd-snapshot.ts';
import {
  type EtcdSourceVolume,
  etcdSourceVolumeIndexers,
  etcdSourceVolumeResource,
} from '../records/etcd-source-volume.ts';
import type { Logger } from '../telemetry/logger.ts';
import { type DruidEtcds, druidEtcds } from './druid-etcds.ts';

export interface SharedInformers {
  etcdSnapshots: Informer<EtcdSnapshot>;
  /** EtcdRestores: the restore engine's objects; the snapshot pipeline reads them for the cluster turn. */
  etcdRestores: Informer<EtcdRestore>;
  etcdSourceVolumes: Informer<EtcdSourceVolume>;
  persistentVolumeClaims: Informer<PersistentVolumeClaim>;
  persistentVolumes: Informer<PersistentVolume>;
  pods: Informer<Pod>;
  statefulSets: Informer<StatefulSet>;
  jobs: Informer<Job>;
  /** Absent when the external-snapshotter CRDs are not installed. */
  volumeSnapshotContents?: Informer<UnstructuredObject>;
  volumeGroupSnapshotContents?: Informer<UnstructuredObject>;
  /** etcd-druid's Etcds: empty while the CRD is not installed, filled once it is (no restart). */
  druidEtcds: DruidEtcds;
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
  options: { log: Logger; druidCrdPollMs?: number },
): Promise<SharedInformers> {
  const etcdSnapshots = factory.informerFor(etcdSnapshotResource);
  for (const [name, fn] of Object.entries(etcdSnapshotIndexers)) etcdSnapshots.addIndexer(name, fn);
  const etcdSourceVolumes = factory.informerFor(etcdSourceVolumeResource);
  for (const [name, fn] of Object.entries(etcdSourceVolumeIndexers)) etcdSourceVolumes.addIndexer(name, fn);

  const [druid, vgscResource, vscVersion] = await Promise.all([
    druidEtcds(factory, client, {
      log: options.log,
      ...(options.druidCrdPollMs ? { pollMs: options.druidCrdPollMs } : {}),
      ...(signal ? { signal } : {}),
    }),
    discoverVolumeGroupSnapshotContents(client, signal),
    discoverServedVersion(client, volumeSnapshotContents.group, [volumeSnapshotContents.version], signal),
  ]);

  const informers: SharedInformers = {
    etcdSnapshots,
    etcdRestores: factory
      .informerFor(etcdRestoreResource)
      .addIndexer(INDEX_RESTORE_CLUSTER, etcdRestoreIndexers[INDEX_RESTORE_CLUSTER]),
    etcdSourceVolumes,
    persistentVolumeClaims: factory.informerFor(persistentVolumeClaims),
    persistentVolumes: factory.informerFor(persistentVolumes),
    pods: factory.informerFor(pods).addIndexer(INDEX_ETCD_CLUSTER, etcdClusterIndexer),
    statefulSets: factory.informerFor(statefulSets).addIndexer(INDEX_ETCD_CLUSTER, etcdClusterIndexer),
    // Only the driver's own Jobs: the cluster's other Jobs are none of its business (or memory).
    jobs: factory.informerFor(jobs, { labelSelector: AGENT_JOB_SELECTOR }),
    druidEtcds: druid,
  };
  if (vscVersion) informers.volumeSnapshotContents = factory.informerFor(volumeSnapshotContents);
  if (vgscResource) informers.volumeGroupSnapshotContents = factory.informerFor(vgscResource);
  return informers;
}
