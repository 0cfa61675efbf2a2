// Resource definitions as data: what an informer lists and watches. The type parameter is the
// object's wire shape (see wire.ts); the definition itself is plain data plus an optional transform.
import type {
  KubernetesObject,
  V1Job,
  V1Lease,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { cachedJob } from './cached-job.ts';
import type { StoredObject } from './store-types.ts';
import type { Wire } from './wire.ts';

export interface ResourceDefinition<T extends StoredObject = StoredObject> {
  /** API group; "" for the core group. */
  group: string;
  version: string;
  /** Lower-case plural as in the URL, e.g. "jobs". */
  plural: string;
  kind: string;
  namespaced: boolean;
  /**
   * Trims each object before it is cached, to keep only what consumers read (the default drops
   * managedFields and the last-applied annotation). It receives a freshly decoded object it may
   * modify in place.
   */
  transform?: (obj: T) => T;
  /**
   * Which objects the cache holds at all, judged after the transform: one that fails is treated
   * as absent (dropped from the store, a `deleted` event if it was cached). For collections no
   * single label selector can narrow to what the driver manages (the user's claims); objects are
   * still listed and watched, but memory follows what is kept.
   */
  keep?: (obj: T) => boolean;
  /** Brands the type parameter; never set. */
  readonly __type?: T;
}

/** The data part of a definition, which path and naming helpers need. */
export type ResourceCoordinates = Pick<
  ResourceDefinition,
  'group' | 'version' | 'plural' | 'kind' | 'namespaced'
>;

export function apiVersionOf(resource: ResourceCoordinates): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** "jobs.v1.batch", "pods.v1": names the resource in logs, metrics and informer keys. */
export function resourceId(resource: ResourceCoordinates): string {
  return resource.group === ''
    ? `${resource.plural}.${resource.version}`
    : `${resource.plural}.${resource.version}.${resource.group}`;
}

/** The collection URL path, across all namespaces unless `namespace` is given. */
export function collectionPath(resource: ResourceCoordinates, namespace?: string): string {
  const base =
    resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  if (namespace !== undefined && namespace !== '') {
    if (!resource.namespaced) {
      throw new Error(`${resourceId(resource)} is cluster-scoped; it has no namespace "${namespace}"`);
    }
    return `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`;
  }
  return `${base}/${resource.plural}`;
}

/** The URL path of one object. */
export function objectPath(resource: ResourceCoordinates, name: string, namespace?: string): string {
  if (resource.namespaced && (namespace === undefined || namespace === '')) {
    throw new Error(`${resourceId(resource)} is namespaced: a namespace is required`);
  }
  return `${collectionPath(resource, resource.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}

export type Job = Wire<V1Job>;
export type Pod = Wire<V1Pod>;
export type PersistentVolumeClaim = Wire<V1PersistentVolumeClaim>;
export type PersistentVolume = Wire<V1PersistentVolume>;
export type StatefulSet = Wire<V1StatefulSet>;
export type Lease = Wire<V1Lease>;

/**
 * Objects of CRDs this module does not own the schema of. Consumers narrow `spec`/`status`
 * themselves (the CSI module owns the EtcdSnapshot schema).
 */
export interface UnstructuredObject extends Wire<KubernetesObject> {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export const jobs: ResourceDefinition<Job> = {
  group: 'batch',
  version: 'v1',
  plural: 'jobs',
  kind: 'Job',
  namespaced: true,
  // Trimmed to what the reconcilers read (cached-job.ts).
  transform: cachedJob,
};

export const pods: ResourceDefinition<Pod> = {
  group: '',
  version: 'v1',
  plural: 'pods',
  kind: 'Pod',
  namespaced: true,
};

export const persistentVolumeClaims: ResourceDefinition<PersistentVolumeClaim> = {
  group: '',
  version: 'v1',
  plural: 'persistentvolumeclaims',
  kind: 'PersistentVolumeClaim',
  namespaced: true,
};

export const persistentVolumes: ResourceDefinition<PersistentVolume> = {
  group: '',
  version: 'v1',
  plural: 'persistentvolumes',
  kind: 'PersistentVolume',
  namespaced: false,
};

export const statefulSets: ResourceDefinition<StatefulSet> = {
  group: 'apps',
  version: 'v1',
  plural: 'statefulsets',
  kind: 'StatefulSet',
  namespaced: true,
};

export const leases: ResourceDefinition<Lease> = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
};

export const volumeSnapshotContents: ResourceDefinition<UnstructuredObject> = {
  group: 'snapshot.storage.k8s.io',
  version: 'v1',
  plural: 'volumesnapshotcontents',
  kind: 'VolumeSnapshotContent',
  namespaced: false,
};

/** The project's own record of one snapshot (CRD owned by the CSI module). */
export const etcdSnapshots: ResourceDefinition<UnstructuredObject> = {
  group: 'snapshot.etcd-snapshot-driver.io',
  version: 'v1alpha1',
  plural: 'etcdsnapshots',
  kind: 'EtcdSnapshot',
  namespaced: true,
};

export const VOLUME_GROUP_SNAPSHOT_GROUP = 'groupsnapshot.storage.k8s.io';
/** Newest first: the first of these the server serves is used (see discoverServedVersion). */
export const VOLUME_GROUP_SNAPSHOT_VERSIONS = ['v1', 'v1beta2', 'v1beta1'] as const;

/** VolumeGroupSnapshotContent in the version the cluster serves (external-snapshotter v8: v1beta1 or v1beta2; v1 later). */
export function volumeGroupSnapshotContents(version: string): ResourceDefinition<UnstructuredObject> {
  return {
    group: VOLUME_GROUP_SNAPSHOT_GROUP,
    version,
    plural: 'volumegroupsnapshotcontents',
    kind: 'VolumeGroupSnapshotContent',
    namespaced: false,
  };
}

/** An APIGroup discovery document (GET /apis/<group>). */
export interface ApiGroupDiscovery {
  versions?: { groupVersion?: string; version?: string }[];
  preferredVersion?: { version?: string };
}

/**
 * Picks the first of `preferred` that the group's discovery document lists, or undefined when the
 * group is served in none of them (e.g. the CRDs are not installed).
 */
export function pickServedVersion(
  discovery: ApiGroupDiscovery | undefined,
  preferred: readonly string[],
): string | undefined {
  const served = new Set((discovery?.versions ?? []).map((v) => v.version));
  return preferred.find((v) => served.has(v));
}
