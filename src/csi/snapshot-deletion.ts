// DeleteSnapshot: one member snapshot at a time. The backing file is shared by the members of a
// record, so a member is only marked; the record (and with it the file) is deleted with its last
// member, and the group's claim with the group's last record. A replica whose cache has no record
// of the ID asks the API (a create made on another replica may not have reached its cache yet).
import { apiErrorKind } from '../kube/api-errors.ts';
import {
  type EtcdSnapshot,
  INDEX_SNAPSHOT_ID,
  isBeingDeleted,
  LABEL_GROUP_SNAPSHOT_ID,
  LABEL_SNAPSHOT_ID,
} from '../records/etcd-snapshot.ts';
import { type DriverContext, requireSynced } from './context.ts';
import { CsiError, fromApiError } from './errors.ts';
import { groupOfSnapshotId, isSingleSnapshotId } from './ids.ts';
import { echo } from './limits.ts';
import type { DeleteSnapshotRequest, DeleteSnapshotResponse } from './messages.ts';
import { releaseClaim } from './name-claims.ts';

/**
 * Deletes one member snapshot. The backing file is shared by the members of a record, so a member
 * is only marked; the record (and with it the file) is deleted when its last member is.
 */
export async function deleteSnapshot(
  ctx: DriverContext,
  req: DeleteSnapshotRequest,
  signal: AbortSignal,
): Promise<DeleteSnapshotResponse> {
  const snapshotId = req.snapshot_id;
  if (!snapshotId) throw new CsiError('MISSING_SNAPSHOT_ID', 'snapshot_id is required');
  requireSynced(ctx);
  // DeleteSnapshot is rare; asking the API when the cache has nothing closes the window in which
  // this replica's cache trails a create made elsewhere (as DeleteVolume does).
  let record =
    ctx.snapshots.store.byIndex(INDEX_SNAPSHOT_ID, snapshotId)[0] ??
    (await recordFromApi(ctx, snapshotId, signal));
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!record || isBeingDeleted(record)) {
      // A retry after a delete whose claim release failed, or a first call that stopped between
      // its claim and its record: no live record holds the name, so its claim goes now.
      if (isSingleSnapshotId(snapshotId)) await releaseClaim(ctx, snapshotId, signal);
      return {};
    }
    const index = record.spec.members.findIndex((m) => m.snapshotId === snapshotId);
    if (index < 0) return {};
    const others = record.spec.members.filter((m, i) => i !== index && !m.deletionRequested);
    const where = `EtcdSnapshot ${record.metadata?.namespace}/${record.metadata?.name}`;
    try {
      if (others.length === 0) {
        await ctx.snapshots.delete(record, signal);
        await releaseClaimAfter(ctx, record, signal);
      } else if (!record.spec.members[index]!.deletionRequested) {
        await ctx.snapshots.patch(
          record,
          [{ op: 'add', path: `/spec/members/${index}/deletionRequested`, value: true }],
          signal,
        );
      }
      return {};
    } catch (err) {
      const kind = apiErrorKind(err);
      if (kind === 'not-found') return {};
      if (kind !== 'conflict') throw fromApiError(err, `delete snapshot ${echo(snapshotId)} from ${where}`);
      try {
        record = await ctx.snapshots.fetch(
          record.metadata?.namespace ?? '',
          record.metadata?.name ?? '',
          signal,
        );
      } catch (fetchErr) {
        throw fromApiError(fetchErr, `read ${where}`);
      }
    }
  }
  throw new CsiError(
    'CONCURRENT_UPDATE',
    `snapshot ${echo(snapshotId)} kept changing while being deleted; retry`,
  );
}

/** The record holding a snapshot ID, from the API: by its group's label, or its own. */
async function recordFromApi(
  ctx: DriverContext,
  snapshotId: string,
  signal: AbortSignal,
): Promise<EtcdSnapshot | undefined> {
  const groupId = groupOfSnapshotId(snapshotId);
  const selector = groupId
    ? `${LABEL_GROUP_SNAPSHOT_ID}=${groupId}`
    : isSingleSnapshotId(snapshotId)
      ? `${LABEL_SNAPSHOT_ID}=${snapshotId}`
      : undefined;
  if (!selector) return undefined; // not an ID this driver makes: nothing of ours to delete
  let found: EtcdSnapshot[];
  try {
    found = await ctx.snapshots.findByLabel(selector, signal);
  } catch (err) {
    throw fromApiError(err, `find the EtcdSnapshot of snapshot ${echo(snapshotId)}`);
  }
  return found.find(
    (r) => r.spec?.driverName === ctx.driverName && r.spec.members.some((m) => m.snapshotId === snapshotId),
  );
}

/** A snapshot, or a group whose last live record went with this delete, no longer needs its name claimed. */
async function releaseClaimAfter(
  ctx: DriverContext,
  deleted: EtcdSnapshot,
  signal: AbortSignal,
): Promise<void> {
  const groupId = deleted.spec.groupSnapshotId;
  if (!groupId) {
    const single = deleted.spec.requestKind === 'snapshot' ? deleted.spec.members[0]?.snapshotId : undefined;
    if (single) await releaseClaim(ctx, single, signal);
    return;
  }
  // From the API, not the cache: another replica may have deleted the group's other records, or
  // this cache may not hold them yet; releasing the name while a record lives would let a second
  // request win it.
  let group: EtcdSnapshot[];
  try {
    group = await ctx.snapshots.findByLabel(`${LABEL_GROUP_SNAPSHOT_ID}=${groupId}`, signal);
  } catch (err) {
    throw fromApiError(err, `list the EtcdSnapshots of group ${echo(groupId)}`);
  }
  const live = group
    .filter((r) => r.spec?.driverName === ctx.driverName && !isBeingDeleted(r))
    .filter((r) => r.metadata?.uid !== deleted.metadata?.uid);
  if (live.length === 0) await releaseClaim(ctx, groupId, signal);
}
