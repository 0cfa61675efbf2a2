// The EtcdSourceVolume record (deploy/crds/etcdsourcevolumes.yaml): how CreateVolume remembers a
// volume. An etcd source volume is a handle, never mounted; its record keeps the request that
// made it (name, capacity, parameters) so a repeated CreateVolume is answered identically and a
// conflicting one is refused, and it keeps the etcd cluster reference, so the volume ID resolves
// without a PVC (csi-sanity, direct CSI clients). Record key = volume ID `<namespace>/<name>`.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ResourceDefinition } from '../informers/resources.ts';
import type { IndexFunc } from '../informers/store-types.ts';
import type { Wire } from '../informers/wire.ts';
import type { CustomResourceType } from '../kube/custom-objects.ts';
import { SNAPSHOT_GROUP, SNAPSHOT_VERSION } from './etcd-snapshot.ts';

export const ETCD_SOURCE_VOLUME: CustomResourceType = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  plural: 'etcdsourcevolumes',
  kind: 'EtcdSourceVolume',
};

/** What a volume says about its etcd cluster; endpoints are discovered again at snapshot time. */
export interface EtcdClusterReference {
  namespace: string;
  /** Cluster name (etcd.io/cluster, etcd-cluster-name); absent when only endpoints are given. */
  name?: string;
  endpoints?: string[];
  credentialsSecret?: string;
  snapshotPrefix?: string;
  /** Extra label selector (`snapshot-label`) pods and StatefulSets must match. */
  labelSelector?: string;
}

export interface EtcdSourceVolumeSpec {
  driverName: string;
  /** The CreateVolume name (the PV name when csi-provisioner calls). */
  volumeName: string;
  capacityBytes: number;
  requiredBytes: number;
  limitBytes: number;
  /** The request's parameters without csi.storage.k8s.io/* keys, for the idempotency check. */
  parameters: Record<string, string>;
  cluster: EtcdClusterReference;
  /** The claim the provisioner created this volume for (--extra-create-metadata). */
  claim?: { namespace: string; name: string };
  /**
   * Set on a volume made from a snapshot (CreateVolume's restore door, docs/restore.md): the
   * snapshot ID of the request and the EtcdRestore (in the cluster's namespace) that restored it.
   */
  contentSource?: { snapshotId: string; restore: string };
}

export interface EtcdSourceVolume {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
  spec: EtcdSourceVolumeSpec;
}

export const etcdSourceVolumeResource: ResourceDefinition<EtcdSourceVolume> = {
  ...ETCD_SOURCE_VOLUME,
  namespaced: true,
};

export const INDEX_VOLUME_NAME = 'volume-name';

export const etcdSourceVolumeIndexers: Record<string, IndexFunc<EtcdSourceVolume>> = {
  [INDEX_VOLUME_NAME]: (v) => (v.spec?.volumeName ? [v.spec.volumeName] : []),
};
