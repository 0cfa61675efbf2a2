// From a volume ID to the etcd cluster it stands for, reading caches only.
//
// A volume ID `<namespace>/<name>` resolves, in order, to
//   1. the EtcdSourceVolume record of that key (made by CreateVolume), whose cluster reference
//      is refreshed from its claim's annotations when the claim is cached;
//   2. the PVC of that key (static PV+PVC pairs, or a record lost): it must be Bound, and its
//      annotations/labels — or the volumeAttributes of its PV — name the cluster.

import { discoverEtcdCluster, referenceFromAnnotations } from '../etcd/discovery.ts';
import type { PersistentVolumeClaim } from '../informers/resources.ts';
import { namespacedKey } from '../informers/store-types.ts';
import type { EtcdClusterRef } from '../records/etcd-snapshot.ts';
import type { EtcdClusterReference } from '../records/etcd-source-volume.ts';
import type { DriverContext } from './context.ts';
import { CsiError } from './errors.ts';
import { parseVolumeId, type VolumeKey } from './ids.ts';
import { echo } from './limits.ts';
import type { StringMap } from './messages.ts';
import type { DriverParameters } from './validation.ts';

export interface ResolvedVolume {
  volumeId: string;
  key: VolumeKey;
  /** What the volume says about its cluster; `name`/`endpoints` may both be missing. */
  reference: Partial<EtcdClusterReference> & { namespace: string };
  claim?: PersistentVolumeClaim;
}

/** Volume context keys (also PV volumeAttributes of static PVs): the parameter names. */
export const CONTEXT_ETCD_NAMESPACE = 'etcd-namespace';
export const CONTEXT_ETCD_CLUSTER_NAME = 'etcd-cluster-name';
export const CONTEXT_SNAPSHOT_LABEL = 'snapshot-label';

export function parseVolumeIdOrThrow(volumeId: string): VolumeKey {
  const key = parseVolumeId(volumeId);
  if (!key) {
    throw new CsiError('MALFORMED_VOLUME_ID', `volume ID ${echo(volumeId)} is not <namespace>/<name>`);
  }
  return key;
}

/** Whether the ID names a volume at all (ValidateVolumeCapabilities). */
export function volumeExists(ctx: DriverContext, volumeId: string): boolean {
  const key = parseVolumeId(volumeId);
  if (!key) return false;
  const id = `${key.namespace}/${key.name}`;
  return ctx.volumes.store.get(id) !== undefined || ctx.claims.get(id) !== undefined;
}

export function resolveVolume(ctx: DriverContext, volumeId: string): ResolvedVolume {
  const key = parseVolumeIdOrThrow(volumeId);
  const id = `${key.namespace}/${key.name}`;
  const record = ctx.volumes.store.get(id);
  if (record) {
    let reference: ResolvedVolume['reference'] = { ...record.spec.cluster };
    const claimRef = record.spec.claim;
    const claim = claimRef
      ? ctx.claims.get(namespacedKey(claimRef.namespace, claimRef.name ?? ''))
      : undefined;
    if (claim) {
      requireBound(claim, volumeId);
      reference = {
        ...reference,
        ...referenceFromAnnotations(claim.metadata?.annotations, claim.metadata?.labels),
      };
    }
    return claim ? { volumeId, key, reference, claim } : { volumeId, key, reference };
  }
  const claim = ctx.claims.get(id);
  if (!claim) {
    throw new CsiError(
      'VOLUME_NOT_FOUND',
      `volume ${echo(volumeId)} is neither a volume of this driver nor a PVC`,
    );
  }
  requireBound(claim, volumeId);
  const pvName = claim.spec?.volumeName;
  const pv = pvName ? ctx.persistentVolumes?.get(pvName) : undefined;
  const attributes: StringMap =
    pv?.spec?.csi?.driver === ctx.driverName ? (pv.spec.csi.volumeAttributes ?? {}) : {};
  const fromClaim = referenceFromAnnotations(claim.metadata?.annotations, claim.metadata?.labels);
  const reference: ResolvedVolume['reference'] = {
    namespace: attributes[CONTEXT_ETCD_NAMESPACE] || key.namespace,
    ...fromClaim,
  };
  if (!reference.name && attributes[CONTEXT_ETCD_CLUSTER_NAME])
    reference.name = attributes[CONTEXT_ETCD_CLUSTER_NAME];
  if (attributes[CONTEXT_SNAPSHOT_LABEL]) reference.labelSelector = attributes[CONTEXT_SNAPSHOT_LABEL];
  return { volumeId, key, reference, claim };
}

function requireBound(claim: PersistentVolumeClaim, volumeId: string): void {
  const phase = claim.status?.phase ?? 'Pending';
  if (phase !== 'Bound') {
    throw new CsiError('PVC_NOT_BOUND', `the claim of volume ${echo(volumeId)} is ${phase}, not Bound`);
  }
}

/**
 * A volume's cluster reference, completed by the class parameters: a class may name the cluster
 * for volumes that do not, and narrow discovery with snapshot-label.
 */
export function completeReference(
  ctx: DriverContext,
  reference: Partial<EtcdClusterReference> & { namespace?: string },
  parameters: DriverParameters,
  what: string,
): EtcdClusterReference {
  const full: EtcdClusterReference = {
    ...reference,
    namespace: reference.namespace ?? parameters.etcdNamespace ?? ctx.defaults.etcdNamespace,
  };
  if (!full.name && !full.endpoints?.length && parameters.etcdClusterName) {
    full.name = parameters.etcdClusterName;
    if (parameters.etcdNamespace) full.namespace = parameters.etcdNamespace;
  }
  if (!full.labelSelector && parameters.snapshotLabel) full.labelSelector = parameters.snapshotLabel;
  if (!full.name && !full.endpoints?.length) {
    throw new CsiError(
      'ETCD_CLUSTER_NOT_FOUND',
      `${what} names no etcd cluster: annotate its claim with etcd.io/cluster or etcd.io/endpoints, or set the etcd-cluster-name parameter`,
    );
  }
  return full;
}

/** The etcd cluster a completed reference stands for, discovered from the caches. */
export function discoverCluster(
  ctx: DriverContext,
  reference: EtcdClusterReference,
  what: string,
): EtcdClusterRef {
  const result = discoverEtcdCluster(reference, ctx.discovery, ctx.discoveryOptions);
  if (!result.found) {
    throw new CsiError(
      'ETCD_CLUSTER_NOT_FOUND',
      `etcd cluster ${echo(reference.name ?? '?')} of ${what} not found in namespace ${reference.namespace}: ${result.tried.join('; ')}`,
    );
  }
  return result.cluster;
}
