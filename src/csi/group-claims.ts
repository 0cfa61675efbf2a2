// The claim of a group snapshot name (src/records/etcd-group-snapshot.ts). CreateVolumeGroupSnapshot
// holds it before it writes any record: the API server's create is the one atomic step two callers
// of the same name can meet at, across replicas. The caller that created the claim, or found it
// with its own sources and parameters, writes the records; any other answers ALREADY_EXISTS and
// writes nothing. A crash between the claim and the records converges: the winner's re-call finds
// its claim and writes the records still missing.
import { apiErrorKind } from '../kube/api-errors.ts';
import { ETCD_GROUP_SNAPSHOT, type EtcdGroupSnapshot } from '../records/etcd-group-snapshot.ts';
import { LABEL_DRIVER } from '../records/etcd-snapshot.ts';
import type { DriverContext } from './context.ts';
import { CsiError, fromApiError } from './errors.ts';
import { isGroupSnapshotId } from './ids.ts';
import { echo } from './limits.ts';
import { sourcesDigest } from './snapshot-records.ts';
import { type ParsedParameters, sameStringMap } from './validation.ts';

export function groupAlreadyExists(name: string): CsiError {
  return new CsiError(
    'GROUP_SNAPSHOT_ALREADY_EXISTS',
    `group snapshot ${echo(name)} exists with other source volumes or parameters`,
  );
}

export function claimBody(
  ctx: DriverContext,
  name: string,
  groupId: string,
  sourceVolumeIds: readonly string[],
  parameters: ParsedParameters,
): EtcdGroupSnapshot {
  const sorted = [...new Set(sourceVolumeIds)].sort();
  return {
    apiVersion: `${ETCD_GROUP_SNAPSHOT.group}/${ETCD_GROUP_SNAPSHOT.version}`,
    kind: ETCD_GROUP_SNAPSHOT.kind,
    metadata: { name: groupId, labels: { [LABEL_DRIVER]: ctx.driverName } },
    spec: {
      driverName: ctx.driverName,
      requestName: name,
      sourcesDigest: sourcesDigest(sorted),
      sourceVolumeIds: sorted,
      sourceCount: sorted.length,
      parameters: parameters.own,
    },
  };
}

function sameRequest(a: EtcdGroupSnapshot, b: EtcdGroupSnapshot): boolean {
  return (
    a.spec.driverName === b.spec.driverName &&
    a.spec.requestName === b.spec.requestName &&
    a.spec.sourcesDigest === b.spec.sourcesDigest &&
    sameStringMap(a.spec.parameters ?? {}, b.spec.parameters)
  );
}

/** Makes the claim this request's, or throws ALREADY_EXISTS when another request holds it. */
export async function holdClaim(
  ctx: DriverContext,
  body: EtcdGroupSnapshot,
  signal?: AbortSignal,
): Promise<void> {
  const name = body.metadata?.name ?? '';
  const what = `create EtcdGroupSnapshot ${name}`;
  try {
    await ctx.groupClaims.create('', body, signal);
    return;
  } catch (err) {
    if (apiErrorKind(err) !== 'already-exists') throw fromApiError(err, what);
  }
  let held: EtcdGroupSnapshot | undefined;
  try {
    held = await ctx.groupClaims.get('', name, signal);
  } catch (err) {
    throw fromApiError(err, `read EtcdGroupSnapshot ${name}`);
  }
  // Deleted between our create and our read (the group was deleted meanwhile): retry.
  if (!held)
    throw new CsiError(
      'CONCURRENT_UPDATE',
      `EtcdGroupSnapshot ${name} was deleted while being claimed; retry`,
    );
  if (!sameRequest(held, body)) throw groupAlreadyExists(body.spec.requestName);
}

/** Deletes the claim of a group (unknown or malformed IDs: nothing to do). */
export async function releaseClaim(ctx: DriverContext, groupId: string, signal?: AbortSignal): Promise<void> {
  if (!isGroupSnapshotId(groupId)) return;
  try {
    await ctx.groupClaims.delete('', groupId, undefined, signal);
  } catch (err) {
    if (apiErrorKind(err) === 'not-found') return;
    throw fromApiError(err, `delete EtcdGroupSnapshot ${groupId}`);
  }
}
