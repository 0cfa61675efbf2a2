// CSI Controller: its capabilities and single snapshots (CreateSnapshot/ListSnapshots;
// DeleteSnapshot lives in snapshot-deletion.ts); the volume RPCs live in volume-service.ts.
// Handlers validate, write desired state into records and answer from caches; they never wait for
// a snapshot to be taken.
import {
  type EtcdSnapshot,
  INDEX_SNAPSHOT_ID,
  INDEX_SOURCE_VOLUME_ID,
  isBeingDeleted,
} from '../records/etcd-snapshot.ts';
import { type DriverContext, requireSynced } from './context.ts';
import { CsiError } from './errors.ts';
import type { CallContext, ServiceHandlers } from './handler.ts';
import { singleSnapshotId } from './ids.ts';
import { echo } from './limits.ts';
import type {
  ControllerGetCapabilitiesResponse,
  CreateSnapshotRequest,
  CreateSnapshotResponse,
  CreateVolumeRequest,
  DeleteSnapshotRequest,
  DeleteVolumeRequest,
  ListSnapshotsRequest,
  ListSnapshotsResponse,
  Snapshot,
  ValidateVolumeCapabilitiesRequest,
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
import { type ParsedParameters, parseParameters, requireName } from './validation.ts';
import { completeReference, discoverCluster, resolveVolume } from './volume-resolver.ts';
import { createVolume, deleteVolume, validateVolumeCapabilities } from './volume-service.ts';

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
    CreateVolume: (req: CreateVolumeRequest, call: CallContext) => createVolume(ctx, req, call),
    DeleteVolume: (req: DeleteVolumeRequest, call: CallContext) => deleteVolume(ctx, req, call.signal),
    ValidateVolumeCapabilities: (req: ValidateVolumeCapabilitiesRequest) =>
      validateVolumeCapabilities(ctx, req),
    CreateSnapshot: (req: CreateSnapshotRequest, call: CallContext) => createSnapshot(ctx, req, call),
    DeleteSnapshot: (req: DeleteSnapshotRequest, call: CallContext) => deleteSnapshot(ctx, req, call.signal),
    ListSnapshots: (req: ListSnapshotsRequest) => listSnapshots(ctx, req),
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
