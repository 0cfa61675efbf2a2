// The claim of a snapshot or group snapshot name (src/records/etcd-snapshot-name.ts), named by the
// ID the name gives (snap-… / grp-…). CreateSnapshot and CreateVolumeGroupSnapshot hold it before
// they write any record: records are per etcd cluster, in its namespace, so two first calls of one
// name with other sources would otherwise each win records of their own; the API server's create
// of the claim is the one atomic step they meet at, across replicas. The caller that created the
// claim, or found it with its own sources and parameters, writes the records; any other answers
// ALREADY_EXISTS and writes nothing. A crash between the claim and the records converges: the
// winner's re-call finds its claim and writes the records still missing.
import { apiErrorKind } from '../kube/api-errors.ts';
import { LABEL_DRIVER, VELERO_EXCLUDED } from '../records/etcd-snapshot.ts';
import { ETCD_SNAPSHOT_NAME, type EtcdSnapshotName } from '../records/etcd-snapshot-name.ts';
import type { DriverContext } from './context.ts';
import { CsiError, fromApiError } from './errors.ts';
import { isGroupSnapshotId, isSingleSnapshotId } from './ids.ts';
import { echo } from './limits.ts';
import { sourcesDigest } from './snapshot-records.ts';
import { type ParsedParameters, sameStringMap } from './validation.ts';

export function groupAlreadyExists(name: string): CsiError {
  return new CsiError(
    'GROUP_SNAPSHOT_ALREADY_EXISTS',
    `group snapshot ${echo(name)} exists with other source volumes or parameters`,
  );
}

export function snapshotAlreadyExists(name: string): CsiError {
  return new CsiError(
    'SNAPSHOT_ALREADY_EXISTS',
    `snapshot ${echo(name)} exists for another source volume or with other parameters`,
  );
}

export function claimBody(
  ctx: DriverContext,
  kind: 'snapshot' | 'group',
  name: string,
  id: string,
  sourceVolumeIds: readonly string[],
  parameters: ParsedParameters,
): EtcdSnapshotName {
  const sorted = [...new Set(sourceVolumeIds)].sort();
  return {
    apiVersion: `${ETCD_SNAPSHOT_NAME.group}/${ETCD_SNAPSHOT_NAME.version}`,
    kind: ETCD_SNAPSHOT_NAME.kind,
    metadata: { name: id, labels: { [LABEL_DRIVER]: ctx.driverName, ...VELERO_EXCLUDED } },
    spec: {
      driverName: ctx.driverName,
      requestKind: kind,
      requestName: name,
      sourcesDigest: sourcesDigest(sorted),
      sourceVolumeIds: sorted,
      sourceCount: sorted.length,
      parameters: parameters.own,
    },
  };
}

function sameRequest(a: EtcdSnapshotName, b: EtcdSnapshotName): boolean {
  return (
    a.spec.driverName === b.spec.driverName &&
    a.spec.requestKind === b.spec.requestKind &&
    a.spec.requestName === b.spec.requestName &&
    a.spec.sourcesDigest === b.spec.sourcesDigest &&
    sameStringMap(a.spec.parameters ?? {}, b.spec.parameters)
  );
}

/** Makes the claim this request's, or throws ALREADY_EXISTS when another request holds it. */
export async function holdClaim(
  ctx: DriverContext,
  body: EtcdSnapshotName,
  signal?: AbortSignal,
): Promise<void> {
  const name = body.metadata?.name ?? '';
  const what = `create EtcdSnapshotName ${name}`;
  try {
    await ctx.nameClaims.create('', body, signal);
    return;
  } catch (err) {
    if (apiErrorKind(err) !== 'already-exists') throw fromApiError(err, what);
  }
  let held: EtcdSnapshotName | undefined;
  try {
    held = await ctx.nameClaims.get('', name, signal);
  } catch (err) {
    throw fromApiError(err, `read EtcdSnapshotName ${name}`);
  }
  // Deleted between our create and our read (the group was deleted meanwhile): retry.
  if (!held)
    throw new CsiError(
      'CONCURRENT_UPDATE',
      `EtcdSnapshotName ${name} was deleted while being claimed; retry`,
    );
  if (!sameRequest(held, body)) {
    const name = body.spec.requestName;
    throw body.spec.requestKind === 'group' ? groupAlreadyExists(name) : snapshotAlreadyExists(name);
  }
}

/** Deletes the claim of a group or snapshot ID (unknown or malformed IDs: nothing to do). */
export async function releaseClaim(ctx: DriverContext, id: string, signal?: AbortSignal): Promise<void> {
  if (!isGroupSnapshotId(id) && !isSingleSnapshotId(id)) return;
  try {
    await ctx.nameClaims.delete('', id, undefined, signal);
  } catch (err) {
    if (apiErrorKind(err) === 'not-found') return;
    throw fromApiError(err, `delete EtcdSnapshotName ${id}`);
  }
}
