// What the driver caches of the cluster's Pods, StatefulSets, claims and volumes: only what it
// manages, so that its memory follows the etcd clusters and not the cluster's size
// (docs/configuration.md, "What the driver caches").
//
// Pods and StatefulSets are narrowed by the apiserver (label selectors, one informer per selector
// joined by UnionInformer): etcd members labelled etcd.io/cluster (the discovery label), etcd-druid's
// members (its managed-by label), and the driver's own Job pods. Claims and volumes cannot be: a
// source claim is the user's, named only by its annotations or its class's parameters. They are
// listed and watched whole and kept by the rules below.
import { LABEL_ETCD_CLUSTER } from '../etcd/discovery.ts';
import {
  type PersistentVolume,
  type PersistentVolumeClaim,
  persistentVolumeClaims,
  persistentVolumes,
  type ResourceDefinition,
} from '../informers/resources.ts';
import { AGENT_JOB_SELECTOR, APP_NAME, LABEL_APP } from '../reconcile/jobs/labels.ts';

/** etcd-druid labels every object of an Etcd (StatefulSet, pods, data claims) with it. */
export const DRUID_MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=etcd-druid';
const DRUID_MANAGED = ['app.kubernetes.io/managed-by', 'etcd-druid'] as const;

/** One informer each: etcd members by the discovery label, druid's, the driver's Job pods. */
export const POD_SELECTORS = [LABEL_ETCD_CLUSTER, DRUID_MANAGED_SELECTOR, AGENT_JOB_SELECTOR] as const;
export const STATEFUL_SET_SELECTORS = [LABEL_ETCD_CLUSTER, DRUID_MANAGED_SELECTOR] as const;

/** What csi-provisioner writes on a claim it provisions, naming the driver (and the older key). */
const PROVISIONER_ANNOTATIONS = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
];

/**
 * A claim the driver may read: its own snapshot claims (app label), one naming an etcd cluster
 * (an etcd.io/ annotation, or the etcd.io/cluster label that etcd member data claims carry through
 * their StatefulSet's selector), etcd-druid's data claims, and one provisioned by this driver.
 */
export function isManagedClaim(claim: PersistentVolumeClaim, driverName: string): boolean {
  const labels = claim.metadata?.labels ?? {};
  const annotations = claim.metadata?.annotations ?? {};
  if (labels[LABEL_APP] === APP_NAME || labels[LABEL_ETCD_CLUSTER] !== undefined) return true;
  if (labels[DRUID_MANAGED[0]] === DRUID_MANAGED[1]) return true;
  if (PROVISIONER_ANNOTATIONS.some((key) => annotations[key] === driverName)) return true;
  return Object.keys(annotations).some((key) => key.startsWith('etcd.io/'));
}

/** A volume of this driver (provisioned or static): the only PVs the driver reads. */
export function isManagedVolume(volume: PersistentVolume, driverName: string): boolean {
  return volume.spec?.csi?.driver === driverName;
}

/**
 * The claim and volume definitions for one driver name. Made once per process: the informer
 * factory shares an informer only for the same definition.
 */
export function managedStorageResources(driverName: string): {
  claims: ResourceDefinition<PersistentVolumeClaim>;
  volumes: ResourceDefinition<PersistentVolume>;
} {
  return {
    claims: { ...persistentVolumeClaims, keep: (c) => isManagedClaim(c, driverName) },
    volumes: { ...persistentVolumes, keep: (v) => isManagedVolume(v, driverName) },
  };
}
