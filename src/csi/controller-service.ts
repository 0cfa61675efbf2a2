// CSI Controller: etcd source volumes (CreateVolume/DeleteVolume/ValidateVolumeCapabilities) and
// single snapshots (CreateSnapshot/ListSnapshots; DeleteSnapshot lives in snapshot-deletion.ts).
// Handlers validate, write desired state into records and answer from caches; they never wait for
// a snapshot to be taken.
import { referenceFromAnnotations } from '../etcd/discovery.ts';
import { apiErrorKind } from '../kube/api-errors.ts';
import {
  type EtcdSnapshot,
  INDEX_SNAPSHOT_ID,
  INDEX_SOURCE_VOLUME_ID,
  isBeingDeleted,
  LABEL_DRIVER,
} from '../records/etcd-snapshot.ts';
import {
  ETCD_SOURCE_VOLUME,
  type EtcdClusterReference,
  type EtcdSourceVolume,
  INDEX_VOLUME_NAME,
} from '../records/etcd-source-volume.ts';
import { type DriverContext, requireSynced } from './context.ts';
import { CsiError, fromApiError } from './errors.ts';
import type { CallContext, ServiceHandlers } from './handler.ts';
import { formatVolumeId, parseVolumeId, singleSnapshotId, type VolumeKey, volumeRecordName } from './ids.ts';
import { echo } from './limits.ts';
import type {
  ControllerGetCapabilitiesResponse,
  CreateSnapshotRequest,
  CreateSnapshotResponse,
  CreateVolumeRequest,
  CreateVolumeResponse,
  DeleteSnapshotRequest,
  DeleteVolumeRequest,
  DeleteVolumeResponse,
  ListSnapshotsRequest,
  ListSnapshotsResponse,
  Snapshot,
  StringMap,
  ValidateVolumeCapabilitiesRequest,
  ValidateVolumeCapabilitiesResponse,
} from './messages.ts';
import { claimBody, holdClaim } from './name-claims.ts';
import { deleteSnapshot } from './snapshot-deletion.ts';
import {
  ensureRecords,
  memberSnapshot,
  recordBody,
  recordMatches,
  requireUsable,
} from './snapshot-records.ts';
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
  resolveVolume,
  volumeExists,
} from './volume-resolver.ts';

export function controllerService(ctx: DriverContext): ServiceHandlers {
  return {
    async ControllerGetCapabilities(): Promise<ControllerGetCapabilitiesResponse> {
      return {
        capabilities: [
          { rpc: { type: 'CREATE_DELETE_VOLUME' } },
          { rpc: { type: 'CREATE_DELETE_SNAPSHOT' } },
          { rpc: { type: 'LIST_SNAPSHOTS' } },
        ],
      };
    },
    CreateVolume: (req: CreateVolumeRequest, call: CallContext) => createVolume(ctx, req, call.signal),
    DeleteVolume: (req: DeleteVolumeRequest, call: CallContext) => deleteVolume(ctx, req, call.signal),
    ValidateVolumeCapabilities: (req: ValidateVolumeCapabilitiesRequest) =>
      validateVolumeCapabilities(ctx, req),
    CreateSnapshot: (req: CreateSnapshotRequest, call: CallContext) => createSnapshot(ctx, req, call),
    DeleteSnapshot: (req: DeleteSnapshotRequest, call: CallContext) => deleteSnapshot(ctx, req, call.signal),
    ListSnapshots: (req: ListSnapshotsRequest) => listSnapshots(ctx, req),
  };
}

// ---- volumes ----

async function createVolume(
  ctx: DriverContext,
  req: CreateVolumeRequest,
  signal: AbortSignal,
): Promise<CreateVolumeResponse> {
  const name = requireName(req.name);
  requireCapabilities(req.volume_capabilities);
  const capacity = parseCapacity(req.capacity_range);
  const parameters = parseParameters(req.parameters);
  if (Object.keys(req.mutable_parameters ?? {}).length > 0) {
    throw new CsiError('UNKNOWN_PARAMETER', 'mutable_parameters are not supported (no MODIFY_VOLUME)');
  }
  requireSynced(ctx);
  refuseContentSource(ctx, req);

  const existing = ctx.volumes.store
    .byIndex(INDEX_VOLUME_NAME, name)
    .find((v) => v.spec.driverName === ctx.driverName);
  if (existing) return answerVolume(existing, name, capacity, parameters);

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
  const what = `volume ${echo(name)}`;
  const cluster = completeReference(ctx, reference, parameters.values, what);
  discoverCluster(ctx, cluster, what); // refuse volumes that stand for no cluster

  const held = ctx.volumes.store.get(formatVolumeId(key));
  if (held && held.spec.volumeName !== name) throw heldBy(key, held);
  const body: EtcdSourceVolume = {
    apiVersion: `${ETCD_SOURCE_VOLUME.group}/${ETCD_SOURCE_VOLUME.version}`,
    kind: ETCD_SOURCE_VOLUME.kind,
    metadata: { name: key.name, namespace: key.namespace, labels: { [LABEL_DRIVER]: ctx.driverName } },
    spec: {
      driverName: ctx.driverName,
      volumeName: name,
      capacityBytes: capacity.requiredBytes || capacity.limitBytes,
      requiredBytes: capacity.requiredBytes,
      limitBytes: capacity.limitBytes,
      parameters: parameters.own,
      cluster,
      ...(pvcName && pvcNamespace ? { claim: { namespace: pvcNamespace, name: pvcName } } : {}),
    },
  };
  let record: EtcdSourceVolume;
  try {
    record = (await ctx.volumes.createIfAbsent(body, signal)).record;
  } catch (err) {
    throw fromApiError(err, `create EtcdSourceVolume ${formatVolumeId(key)}`);
  }
  if (record.spec.volumeName !== name) throw heldBy(key, record);
  return answerVolume(record, name, capacity, parameters);
}

/**
 * A volume made from a snapshot or another volume would be a restore, which does not exist yet.
 * A source that does not exist is NOT_FOUND (CSI), one that does is refused.
 */
function refuseContentSource(ctx: DriverContext, req: CreateVolumeRequest): void {
  const source = req.volume_content_source;
  const snapshotId = source?.snapshot ? (source.snapshot.snapshot_id ?? '') : undefined;
  const volumeId = source?.volume ? (source.volume.volume_id ?? '') : undefined;
  if (snapshotId === undefined && volumeId === undefined) return;
  const exists =
    snapshotId !== undefined
      ? ctx.snapshots.store.byIndex(INDEX_SNAPSHOT_ID, snapshotId).some((r) => !isBeingDeleted(r))
      : volumeExists(ctx, volumeId!);
  const what = snapshotId !== undefined ? `snapshot ${echo(snapshotId)}` : `volume ${echo(volumeId ?? '')}`;
  if (!exists) throw new CsiError('CONTENT_SOURCE_NOT_FOUND', `volume_content_source ${what} does not exist`);
  throw new CsiError(
    'VOLUME_CONTENT_SOURCE_UNSUPPORTED',
    `volume_content_source ${what}: creating a volume from a snapshot or volume (restore) is not supported yet`,
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
  const cluster = record.spec.cluster;
  const context: StringMap = { [CONTEXT_ETCD_NAMESPACE]: cluster.namespace };
  if (cluster.name) context[CONTEXT_ETCD_CLUSTER_NAME] = cluster.name;
  if (cluster.labelSelector) context[CONTEXT_SNAPSHOT_LABEL] = cluster.labelSelector;
  return {
    volume: {
      capacity_bytes: record.spec.capacityBytes,
      volume_id: `${record.metadata?.namespace}/${record.metadata?.name}`,
      volume_context: context,
    },
  };
}

async function deleteVolume(
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

async function validateVolumeCapabilities(
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

// ---- snapshots ----

async function createSnapshot(
  ctx: DriverContext,
  req: CreateSnapshotRequest,
  call: CallContext,
): Promise<CreateSnapshotResponse> {
  const name = requireName(req.name);
  const sourceVolumeId = req.source_volume_id;
  if (!sourceVolumeId) throw new CsiError('MISSING_VOLUME_ID', 'source_volume_id is required');
  const parameters = parseParameters(req.parameters);
  requireSynced(ctx);

  const snapshotId = singleSnapshotId(name);
  const existing = ctx.snapshots.store.byIndex(INDEX_SNAPSHOT_ID, snapshotId);
  if (existing.length > 0) return answerSnapshot(existing, name, sourceVolumeId, parameters);

  const volume = resolveVolume(ctx, sourceVolumeId);
  const what = `volume ${echo(sourceVolumeId)}`;
  const reference = completeReference(ctx, volume.reference, parameters.values, what);
  const cluster = discoverCluster(ctx, reference, what);
  const claim = volume.claim?.metadata;
  const body = recordBody(ctx, {
    kind: 'snapshot',
    requestName: name,
    cluster,
    ...(reference.snapshotPrefix ? { snapshotPrefix: reference.snapshotPrefix } : {}),
    members: [
      {
        snapshotId,
        sourceVolumeId,
        ...(claim?.name && claim.namespace
          ? { claim: { namespace: claim.namespace, name: claim.name } }
          : {}),
      },
    ],
    sourceVolumeIds: [sourceVolumeId],
    parameters,
    ...(call.traceparent ? { traceparent: call.traceparent } : {}),
  });
  // The name's claim first: a call of this name with another source (on another cluster, in
  // another namespace, on another replica) must not also win a record.
  await holdClaim(
    ctx,
    claimBody(ctx, 'snapshot', name, snapshotId, [sourceVolumeId], parameters),
    call.signal,
  );
  return answerSnapshot(await ensureRecords(ctx, [body], call.signal), name, sourceVolumeId, parameters);
}

function answerSnapshot(
  records: EtcdSnapshot[],
  name: string,
  sourceVolumeId: string,
  parameters: ParsedParameters,
): CreateSnapshotResponse {
  const record = records[0]!;
  const member = record.spec.members[0];
  if (!member || !recordMatches(record, name, [sourceVolumeId], parameters.own)) {
    throw new CsiError(
      'SNAPSHOT_ALREADY_EXISTS',
      `snapshot ${echo(name)} exists for source volume ${echo(member?.sourceVolumeId ?? '?')} or with other parameters`,
    );
  }
  requireUsable(records, `snapshot ${echo(name)}`);
  return { snapshot: memberSnapshot(record, member) };
}

const TOKEN_PREFIX = 'v1:';

function encodeToken(afterSnapshotId: string): string {
  return Buffer.from(`${TOKEN_PREFIX}${afterSnapshotId}`).toString('base64url');
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(TOKEN_PREFIX) || !/^[a-z0-9-]{1,128}$/.test(text.slice(TOKEN_PREFIX.length))) {
    throw new CsiError(
      'INVALID_STARTING_TOKEN',
      `starting_token ${echo(token)} was not issued by this driver`,
    );
  }
  return text.slice(TOKEN_PREFIX.length);
}

/**
 * Keyset pagination in snapshot ID order: a token is the last ID of the previous page, so pages
 * stay consistent while snapshots come and go between calls.
 */
async function listSnapshots(ctx: DriverContext, req: ListSnapshotsRequest): Promise<ListSnapshotsResponse> {
  const maxEntries = req.max_entries ?? 0;
  if (maxEntries < 0)
    throw new CsiError('INVALID_MAX_ENTRIES', `max_entries must not be negative (got ${maxEntries})`);
  const after = req.starting_token ? decodeToken(req.starting_token) : undefined;
  requireSynced(ctx);
  const { snapshot_id: snapshotId, source_volume_id: sourceVolumeId } = req;
  const store = ctx.snapshots.store;
  const candidates = snapshotId
    ? store.byIndex(INDEX_SNAPSHOT_ID, snapshotId)
    : sourceVolumeId
      ? store.byIndex(INDEX_SOURCE_VOLUME_ID, sourceVolumeId)
      : store.list();
  const entries: Snapshot[] = [];
  for (const record of candidates) {
    if (record.spec?.driverName !== ctx.driverName || isBeingDeleted(record)) continue;
    for (const member of record.spec.members) {
      if (member.deletionRequested) continue;
      if (snapshotId && member.snapshotId !== snapshotId) continue;
      if (sourceVolumeId && member.sourceVolumeId !== sourceVolumeId) continue;
      // A member of a group snapshot can be deleted on its own (DeleteSnapshot marks it; the file
      // goes with the last member), so by the CSI spec its group_snapshot_id is left empty here:
      // csi-snapshotter (v8.7.0 sidecar syncContent) never calls DeleteSnapshot for a
      // VolumeSnapshotContent whose status has a volumeGroupSnapshotHandle, and it fills that
      // status of a pre-provisioned content from this answer — Velero's backup deletion re-creates
      // each member content that way. Group answers (Create/GetVolumeGroupSnapshot) keep the ID.
      entries.push({ ...memberSnapshot(record, member), group_snapshot_id: '' });
    }
  }
  entries.sort((a, b) => (a.snapshot_id < b.snapshot_id ? -1 : a.snapshot_id > b.snapshot_id ? 1 : 0));
  const start = after === undefined ? 0 : entries.findIndex((e) => e.snapshot_id > after);
  const from = start < 0 ? entries.length : start;
  const page = maxEntries > 0 ? entries.slice(from, from + maxEntries) : entries.slice(from);
  const more = maxEntries > 0 && from + maxEntries < entries.length;
  return {
    entries: page.map((snapshot) => ({ snapshot })),
    next_token: more ? encodeToken(page[page.length - 1]!.snapshot_id) : '',
  };
}
