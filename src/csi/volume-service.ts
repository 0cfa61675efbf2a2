// CSI Controller, volumes: CreateVolume, DeleteVolume and ValidateVolumeCapabilities of etcd source
// volumes (docs/csi.md, "Volumes"). A CreateVolume with a snapshot as its content source goes
// through the restore door first (restore-door.ts): the volume is made only once the restore it
// asked for has completed. Handlers validate, write records and answer from caches; they never wait.
import { referenceFromAnnotations } from '../etcd/discovery.ts';
import { apiErrorKind } from '../kube/api-errors.ts';
import { LABEL_DRIVER, VELERO_EXCLUDED } from '../records/etcd-snapshot.ts';
import {
  ETCD_SOURCE_VOLUME,
  type EtcdClusterReference,
  type EtcdSourceVolume,
  type EtcdSourceVolumeSpec,
  INDEX_VOLUME_NAME,
} from '../records/etcd-source-volume.ts';
import { type DriverContext, requireSynced } from './context.ts';
import { CsiError, fromApiError } from './errors.ts';
import type { CallContext } from './handler.ts';
import {
  formatVolumeId,
  parseVolumeId,
  successorVolumeRecordName,
  type VolumeKey,
  volumeRecordName,
} from './ids.ts';
import { echo } from './limits.ts';
import type {
  CreateVolumeRequest,
  CreateVolumeResponse,
  DeleteVolumeRequest,
  DeleteVolumeResponse,
  StringMap,
  ValidateVolumeCapabilitiesRequest,
  ValidateVolumeCapabilitiesResponse,
} from './messages.ts';
import { openRestoreDoor } from './restore-door.ts';
import { releaseRestore } from './restore-hold.ts';
import {
  type Capacity,
  capacityFits,
  type ParsedParameters,
  parseCapacity,
  parseParameters,
  requireCapabilities,
  requireName,
  sameStringMap,
} from './validation.ts';
import {
  CONTEXT_ETCD_CLUSTER_NAME,
  CONTEXT_ETCD_NAMESPACE,
  CONTEXT_SNAPSHOT_LABEL,
  completeReference,
  discoverCluster,
  volumeExists,
} from './volume-resolver.ts';

export async function createVolume(
  ctx: DriverContext,
  req: CreateVolumeRequest,
  call: CallContext,
): Promise<CreateVolumeResponse> {
  const { signal } = call;
  const name = requireName(req.name);
  requireCapabilities(req.volume_capabilities);
  const capacity = parseCapacity(req.capacity_range);
  const parameters = parseParameters(req.parameters);
  if (Object.keys(req.mutable_parameters ?? {}).length > 0) {
    throw new CsiError('UNKNOWN_PARAMETER', 'mutable_parameters are not supported (no MODIFY_VOLUME)');
  }
  requireSynced(ctx);
  const snapshotId = sourceSnapshotId(ctx, req);

  const existing = ctx.volumes.store
    .byIndex(INDEX_VOLUME_NAME, name)
    .find((v) => v.spec.driverName === ctx.driverName);
  if (existing) {
    const answer = answerVolume(existing, name, capacity, parameters, snapshotId);
    // A call after a crash between the record and the release releases it now.
    const from = existing.spec.contentSource;
    if (from?.restore) await releaseRestore(ctx, existing.metadata?.namespace ?? '', name, from, signal);
    return answer;
  }

  // With --extra-create-metadata the provisioner names the claim: the volume ID is the claim's key
  // and the claim's annotations name the cluster. Without it, the parameters must.
  const pvcName = parameters.metadata['pvc/name'];
  const pvcNamespace = parameters.metadata['pvc/namespace'];
  let key: VolumeKey;
  let reference: Partial<EtcdClusterReference> & { namespace?: string };
  if (pvcName && pvcNamespace) {
    const claim = ctx.claims.get(`${pvcNamespace}/${pvcName}`);
    if (!claim) throw new CsiError('CLAIM_NOT_FOUND', `claim ${pvcNamespace}/${pvcName} is not known (yet)`);
    key = { namespace: pvcNamespace, name: pvcName };
    reference = {
      namespace: parameters.values.etcdNamespace ?? pvcNamespace,
      ...referenceFromAnnotations(claim.metadata?.annotations, claim.metadata?.labels),
    };
  } else {
    key = {
      namespace: parameters.values.etcdNamespace ?? ctx.defaults.etcdNamespace,
      name: volumeRecordName(name),
    };
    reference = { namespace: key.namespace };
  }
  const held = ctx.volumes.store.get(formatVolumeId(key));
  if (held && held.spec.volumeName !== name && !pvcName) throw heldBy(key, held);
  if (pvcName && (held ? held.spec.volumeName !== name : handleOfAnotherPv(ctx, formatVolumeId(key), name))) {
    // A claim re-created under a deleted claim's name (Velero's restore does) while the old
    // volume still exists — its record, or a static PV of that handle without one: the old
    // volume keeps its ID, the new volume gets one of its own. Never shared: the old volume's
    // DeleteVolume would delete the new record.
    key = { namespace: key.namespace, name: successorVolumeRecordName(key.name, name) };
    const successorHeld = ctx.volumes.store.get(formatVolumeId(key));
    if (successorHeld && successorHeld.spec.volumeName !== name) throw heldBy(key, successorHeld);
  }
  // From a snapshot: the restore (ABORTED while it runs, its final code when it failed). No check
  // of the claim may refuse it after that — it would have restored the cluster for nothing and
  // never bind: the door accepts only a claim naming its cluster (etcd.io/cluster), which is what
  // completes the reference below, and a restored volume is not discovered: its target may not
  // run yet (Velero restores claims first), and the restore's Validate finds it before anything
  // is touched.
  const contentSource =
    snapshotId === undefined
      ? undefined
      : await openRestoreDoor(ctx, { volumeName: name, snapshotId, parameters }, call);
  const what = `volume ${echo(name)}`;
  const cluster = completeReference(ctx, reference, parameters.values, what);
  if (snapshotId === undefined) discoverCluster(ctx, cluster, what); // an empty volume stands for a running cluster

  const spec: EtcdSourceVolumeSpec = {
    driverName: ctx.driverName,
    volumeName: name,
    capacityBytes: capacity.requiredBytes || capacity.limitBytes,
    requiredBytes: capacity.requiredBytes,
    limitBytes: capacity.limitBytes,
    parameters: parameters.own,
    cluster,
    ...(pvcName && pvcNamespace ? { claim: { namespace: pvcNamespace, name: pvcName } } : {}),
    ...(contentSource ? { contentSource } : {}),
  };
  const body: EtcdSourceVolume = {
    apiVersion: `${ETCD_SOURCE_VOLUME.group}/${ETCD_SOURCE_VOLUME.version}`,
    kind: ETCD_SOURCE_VOLUME.kind,
    metadata: {
      name: key.name,
      namespace: key.namespace,
      labels: { [LABEL_DRIVER]: ctx.driverName, ...VELERO_EXCLUDED },
    },
    spec,
  };
  let record: EtcdSourceVolume;
  try {
    record = (await ctx.volumes.createIfAbsent(body, signal)).record;
  } catch (err) {
    throw fromApiError(err, `create EtcdSourceVolume ${formatVolumeId(key)}`);
  }
  if (record.spec.volumeName !== name) throw heldBy(key, record);
  const answer = answerVolume(record, name, capacity, parameters, snapshotId);
  if (contentSource) await releaseRestore(ctx, key.namespace, name, contentSource, signal);
  return answer;
}

/**
 * The snapshot a volume is to be made from, or undefined for an empty one. Another volume as
 * the source (a clone) is refused: an etcd cluster is restored from a snapshot, never copied
 * from a live handle. A source volume that does not exist is NOT_FOUND (CSI); the snapshot is
 * looked up by the restore door.
 */
function sourceSnapshotId(ctx: DriverContext, req: CreateVolumeRequest): string | undefined {
  const source = req.volume_content_source;
  if (source?.snapshot) return source.snapshot.snapshot_id ?? '';
  if (!source?.volume) return undefined;
  const volumeId = source.volume.volume_id ?? '';
  if (!volumeExists(ctx, volumeId)) {
    throw new CsiError(
      'CONTENT_SOURCE_NOT_FOUND',
      `volume_content_source volume ${echo(volumeId)} does not exist`,
    );
  }
  throw new CsiError(
    'VOLUME_CONTENT_SOURCE_UNSUPPORTED',
    `volume_content_source volume ${echo(volumeId)}: cloning a volume is not supported; restore from a VolumeSnapshot instead (docs/restore.md)`,
  );
}

/** A PV of this driver other than `volumeName` has this handle (a static PV stays after its claim). */
function handleOfAnotherPv(ctx: DriverContext, volumeId: string, volumeName: string): boolean {
  return (ctx.persistentVolumes?.list() ?? []).some(
    (pv) =>
      pv.metadata?.name !== volumeName &&
      pv.spec?.csi?.driver === ctx.driverName &&
      pv.spec.csi.volumeHandle === volumeId,
  );
}

function heldBy(key: VolumeKey, record: EtcdSourceVolume): CsiError {
  return new CsiError(
    'VOLUME_ALREADY_EXISTS',
    `volume ID ${formatVolumeId(key)} belongs to volume ${echo(record.spec.volumeName)}; delete that volume first`,
  );
}

function answerVolume(
  record: EtcdSourceVolume,
  name: string,
  capacity: Capacity,
  parameters: ParsedParameters,
  snapshotId: string | undefined,
): CreateVolumeResponse {
  if (!capacityFits(record.spec.capacityBytes, capacity)) {
    throw new CsiError(
      'VOLUME_ALREADY_EXISTS',
      `volume ${echo(name)} exists with capacity ${record.spec.capacityBytes} bytes, outside the requested range`,
    );
  }
  if (!sameStringMap(record.spec.parameters ?? {}, parameters.own)) {
    throw new CsiError('VOLUME_ALREADY_EXISTS', `volume ${echo(name)} exists with other parameters`);
  }
  const made = record.spec.contentSource?.snapshotId;
  if (made !== snapshotId) {
    throw new CsiError(
      'VOLUME_ALREADY_EXISTS',
      `volume ${echo(name)} exists ${made === undefined ? 'without a content source' : `from snapshot ${echo(made)}`}`,
    );
  }
  const cluster = record.spec.cluster;
  const context: StringMap = { [CONTEXT_ETCD_NAMESPACE]: cluster.namespace };
  if (cluster.name) context[CONTEXT_ETCD_CLUSTER_NAME] = cluster.name;
  if (cluster.labelSelector) context[CONTEXT_SNAPSHOT_LABEL] = cluster.labelSelector;
  return {
    volume: {
      capacity_bytes: record.spec.capacityBytes,
      volume_id: `${record.metadata?.namespace}/${record.metadata?.name}`,
      volume_context: context,
      // csi-provisioner deletes a volume made for a dataSource claim whose answer has no source.
      ...(made === undefined ? {} : { content_source: { snapshot: { snapshot_id: made } } }),
    },
  };
}

export async function deleteVolume(
  ctx: DriverContext,
  req: DeleteVolumeRequest,
  signal: AbortSignal,
): Promise<DeleteVolumeResponse> {
  const volumeId = req.volume_id;
  if (!volumeId) throw new CsiError('MISSING_VOLUME_ID', 'volume_id is required');
  // An ID that cannot be ours names nothing to delete (CSI: unknown volume → OK).
  const key = parseVolumeId(volumeId);
  if (!key) return {};
  const { namespace, name } = key;
  requireSynced(ctx);
  try {
    // DeleteVolume is rare; asking the API when the cache has nothing closes the cache-lag window.
    const record = ctx.volumes.store.get(volumeId) ?? (await ctx.volumes.fetch(namespace, name, signal));
    if (record && record.spec.driverName === ctx.driverName) await ctx.volumes.delete(record, signal);
  } catch (err) {
    if (apiErrorKind(err) === 'not-found') return {};
    throw fromApiError(err, `delete EtcdSourceVolume ${echo(volumeId)}`);
  }
  return {};
}

export async function validateVolumeCapabilities(
  ctx: DriverContext,
  req: ValidateVolumeCapabilitiesRequest,
): Promise<ValidateVolumeCapabilitiesResponse> {
  const volumeId = req.volume_id;
  if (!volumeId) throw new CsiError('MISSING_VOLUME_ID', 'volume_id is required');
  const capabilities = requireCapabilities(req.volume_capabilities);
  requireSynced(ctx);
  // CSI: a volume that does not exist is NOT_FOUND here, whatever its ID looks like.
  if (!volumeExists(ctx, volumeId))
    throw new CsiError('VOLUME_NOT_FOUND', `volume ${echo(volumeId)} does not exist`);
  try {
    parseParameters(req.parameters);
  } catch (err) {
    if (err instanceof CsiError) return { confirmed: null, message: err.message };
    throw err;
  }
  if (Object.keys(req.mutable_parameters ?? {}).length > 0) {
    return { confirmed: null, message: 'mutable_parameters are not supported' };
  }
  return {
    confirmed: {
      volume_context: req.volume_context ?? {},
      volume_capabilities: capabilities,
      parameters: req.parameters ?? {},
      mutable_parameters: {},
    },
    message: '',
  };
}
