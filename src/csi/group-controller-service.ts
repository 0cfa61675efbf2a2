// CSI GroupController: group snapshots of etcd source volumes. One EtcdSnapshot record per etcd
// cluster of the group (several volumes of one cluster share one backup), all labelled with the
// group ID. csi-snapshotter re-calls Create with the same arguments until the group is ready, as
// often as every ~800 ms: a re-call of a complete group reads caches only and writes nothing.
import { objectKey } from '../informers/store-types.ts';
import type { EtcdClusterRef, EtcdSnapshot } from '../records/etcd-snapshot.ts';
import { INDEX_GROUP_SNAPSHOT_ID, isBeingDeleted } from '../records/etcd-snapshot.ts';
import { type DriverContext, requireSynced } from './context.ts';
import { CsiError, fromApiError } from './errors.ts';
import type { CallContext, ServiceHandlers } from './handler.ts';
import { groupOfSnapshotId, groupSnapshotId, memberSnapshotId } from './ids.ts';
import { echo } from './limits.ts';
import type {
  CreateVolumeGroupSnapshotRequest,
  CreateVolumeGroupSnapshotResponse,
  DeleteVolumeGroupSnapshotRequest,
  DeleteVolumeGroupSnapshotResponse,
  GetVolumeGroupSnapshotRequest,
  GetVolumeGroupSnapshotResponse,
  GroupControllerGetCapabilitiesResponse,
} from './messages.ts';
import { claimBody, groupAlreadyExists, holdClaim, releaseClaim } from './name-claims.ts';
import {
  ensureRecords,
  failureOf,
  groupSnapshot,
  type PlannedMember,
  recordBody,
  recordMatches,
  requireUsable,
} from './snapshot-records.ts';
import { MAX_GROUP_VOLUMES, type ParsedParameters, parseParameters, requireName } from './validation.ts';
import {
  completeReference,
  discoverCluster,
  parseVolumeIdOrThrow,
  resolveVolume,
} from './volume-resolver.ts';

export function groupControllerService(ctx: DriverContext): ServiceHandlers {
  return {
    async GroupControllerGetCapabilities(): Promise<GroupControllerGetCapabilitiesResponse> {
      return { capabilities: [{ rpc: { type: 'CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT' } }] };
    },
    CreateVolumeGroupSnapshot: (req: CreateVolumeGroupSnapshotRequest, call: CallContext) =>
      createGroup(ctx, req, call),
    GetVolumeGroupSnapshot: (req: GetVolumeGroupSnapshotRequest) => getGroup(ctx, req),
    DeleteVolumeGroupSnapshot: (req: DeleteVolumeGroupSnapshotRequest, call: CallContext) =>
      deleteGroup(ctx, req, call.signal),
  };
}

function requireSourceVolumes(ids: readonly string[] | undefined): string[] {
  if (!ids || ids.length === 0) throw new CsiError('MISSING_SOURCE_VOLUMES', 'source_volume_ids is required');
  if (ids.length > MAX_GROUP_VOLUMES) {
    throw new CsiError(
      'TOO_MANY_VOLUMES',
      `${ids.length} source volumes; at most ${MAX_GROUP_VOLUMES} in one group`,
    );
  }
  const seen = new Set<string>();
  for (const id of ids) {
    if (!id) throw new CsiError('MISSING_VOLUME_ID', 'source_volume_ids has an empty entry');
    if (seen.has(id))
      throw new CsiError('DUPLICATE_SOURCE_VOLUME', `source volume ${echo(id)} is listed twice`);
    seen.add(id);
  }
  return [...ids];
}

/** The records of a group this driver made, including those being deleted. */
function groupRecords(ctx: DriverContext, groupId: string): EtcdSnapshot[] {
  return ctx.snapshots.store
    .byIndex(INDEX_GROUP_SNAPSHOT_ID, groupId)
    .filter((r) => r.spec?.driverName === ctx.driverName);
}

async function createGroup(
  ctx: DriverContext,
  req: CreateVolumeGroupSnapshotRequest,
  call: CallContext,
): Promise<CreateVolumeGroupSnapshotResponse> {
  const name = requireName(req.name);
  const sourceVolumeIds = requireSourceVolumes(req.source_volume_ids);
  const parameters = parseParameters(req.parameters);
  requireSynced(ctx);

  const groupId = groupSnapshotId(name);
  const requested = new Set(sourceVolumeIds);
  const existing = groupRecords(ctx, groupId);
  if (!existing.every((r) => recordMatches(r, name, sourceVolumeIds, parameters.own)))
    throw groupAlreadyExists(name);
  const covered = new Set(existing.flatMap((r) => r.spec.members.map((m) => m.sourceVolumeId)));
  // The common case: the snapshotter polling a group it created. Answer from the cache.
  if (existing.length > 0 && covered.size === requested.size) return answer(groupId, existing, name);

  // First call (or one that stopped half-way). Plan first, so that a call refused for its sources
  // writes nothing; then hold the name's claim, and only then write the records still missing.
  const missing = sourceVolumeIds.filter((id) => !covered.has(id));
  for (const id of missing) parseVolumeIdOrThrow(id);
  const bodies = planRecords(ctx, name, groupId, sourceVolumeIds, missing, parameters, call.traceparent);
  await holdClaim(ctx, claimBody(ctx, 'group', name, groupId, sourceVolumeIds, parameters), call.signal);
  const written = await ensureRecords(ctx, bodies, call.signal);
  const all = new Map<string, EtcdSnapshot>();
  for (const r of [...existing, ...written]) all.set(objectKey(r), r);
  const records = [...all.values()];
  // A record being deleted keeps its name (its finalizer waits for the file): not a conflict.
  requireUsable(records, `group snapshot ${echo(name)}`);
  const members = new Set(records.flatMap((r) => r.spec.members.map((m) => m.sourceVolumeId)));
  // Records left by a driver from before name claims, made for other sources: theirs stands.
  if (
    !records.every((r) => recordMatches(r, name, sourceVolumeIds, parameters.own)) ||
    members.size !== requested.size
  ) {
    throw groupAlreadyExists(name);
  }
  return answer(groupId, records, name);
}

function planRecords(
  ctx: DriverContext,
  name: string,
  groupId: string,
  allSourceVolumeIds: readonly string[],
  sourceVolumeIds: readonly string[],
  parameters: ParsedParameters,
  traceparent: string | undefined,
): EtcdSnapshot[] {
  const byCluster = new Map<string, { cluster: EtcdClusterRef; prefix?: string; members: PlannedMember[] }>();
  for (const sourceVolumeId of sourceVolumeIds) {
    const volume = resolveVolume(ctx, sourceVolumeId);
    const what = `volume ${echo(sourceVolumeId)}`;
    const reference = completeReference(ctx, volume.reference, parameters.values, what);
    const cluster = discoverCluster(ctx, reference, what);
    let entry = byCluster.get(cluster.key);
    if (!entry) {
      entry = {
        cluster,
        members: [],
        ...(reference.snapshotPrefix ? { prefix: reference.snapshotPrefix } : {}),
      };
      byCluster.set(cluster.key, entry);
    }
    const claim = volume.claim?.metadata;
    entry.members.push({
      snapshotId: memberSnapshotId(groupId, sourceVolumeId),
      sourceVolumeId,
      ...(claim?.name && claim.namespace ? { claim: { namespace: claim.namespace, name: claim.name } } : {}),
    });
  }
  return [...byCluster.values()].map((entry) =>
    recordBody(ctx, {
      kind: 'group',
      requestName: name,
      groupSnapshotId: groupId,
      cluster: entry.cluster,
      ...(entry.prefix ? { snapshotPrefix: entry.prefix } : {}),
      members: entry.members,
      sourceVolumeIds: allSourceVolumeIds,
      parameters,
      ...(traceparent ? { traceparent } : {}),
    }),
  );
}

function answer(
  groupId: string,
  records: readonly EtcdSnapshot[],
  name: string,
): CreateVolumeGroupSnapshotResponse {
  requireUsable(records, `group snapshot ${echo(name)}`);
  return { group_snapshot: groupSnapshot(groupId, records) };
}

/** snapshot_ids given with a group must all be members of it (CSI: report a mismatch). */
function requireMembers(
  groupId: string,
  snapshotIds: readonly string[],
  records: readonly EtcdSnapshot[],
): void {
  const members = new Set(records.flatMap((r) => r.spec.members.map((m) => m.snapshotId)));
  const foreign = snapshotIds.filter((id) => !members.has(id) && groupOfSnapshotId(id) !== groupId);
  if (foreign.length > 0) {
    throw new CsiError(
      'SNAPSHOT_IDS_MISMATCH',
      `snapshot_ids ${foreign
        .slice(0, 3)
        .map((id) => echo(id))
        .join(
          ', ',
        )}${foreign.length > 3 ? ` and ${foreign.length - 3} more` : ''} are not members of group snapshot ${echo(groupId)}`,
    );
  }
}

async function getGroup(
  ctx: DriverContext,
  req: GetVolumeGroupSnapshotRequest,
): Promise<GetVolumeGroupSnapshotResponse> {
  const groupId = req.group_snapshot_id;
  if (!groupId) throw new CsiError('MISSING_GROUP_SNAPSHOT_ID', 'group_snapshot_id is required');
  requireSynced(ctx);
  const records = groupRecords(ctx, groupId).filter((r) => !isBeingDeleted(r));
  if (records.length === 0)
    throw new CsiError('GROUP_SNAPSHOT_NOT_FOUND', `group snapshot ${echo(groupId)} does not exist`);
  requireMembers(groupId, req.snapshot_ids ?? [], records);
  for (const r of records) {
    const failure = failureOf(r);
    if (failure) throw failure;
  }
  return { group_snapshot: groupSnapshot(groupId, records) };
}

async function deleteGroup(
  ctx: DriverContext,
  req: DeleteVolumeGroupSnapshotRequest,
  signal: AbortSignal,
): Promise<DeleteVolumeGroupSnapshotResponse> {
  const groupId = req.group_snapshot_id;
  if (!groupId) throw new CsiError('MISSING_GROUP_SNAPSHOT_ID', 'group_snapshot_id is required');
  requireSynced(ctx);
  const records = groupRecords(ctx, groupId);
  if (records.length > 0) requireMembers(groupId, req.snapshot_ids ?? [], records);
  await Promise.all(
    records
      .filter((r) => !isBeingDeleted(r))
      .map(async (r) => {
        try {
          await ctx.snapshots.delete(r, signal);
        } catch (err) {
          throw fromApiError(err, `delete EtcdSnapshot ${r.metadata?.namespace}/${r.metadata?.name}`);
        }
      }),
  );
  // After the records: the name stays claimed until nothing of the group is left to answer for.
  // Also for a group the cache has no record of (a first call that stopped after its claim).
  await releaseClaim(ctx, groupId, signal);
  return {};
}
