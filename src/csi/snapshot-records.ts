// EtcdSnapshot records for CreateSnapshot and CreateVolumeGroupSnapshot: what to write for a
// request, writing it create-if-absent, and answering from records.
import type { EtcdClusterRef, EtcdSnapshot, EtcdSnapshotMember } from '../records/etcd-snapshot.ts';
import {
  ANNOTATION_TRACEPARENT,
  ETCD_SNAPSHOT,
  FINALIZER_BACKUP_FILE,
  isBeingDeleted,
  LABEL_CLUSTER,
  LABEL_DRIVER,
  LABEL_GROUP_SNAPSHOT_ID,
  LABEL_SNAPSHOT_ID,
  VELERO_EXCLUDED,
} from '../records/etcd-snapshot.ts';
import { sourcesDigest } from '../records/hash-id.ts';
import { snapshotClaimName } from '../records/snapshot-claim.ts';
import type { DriverContext } from './context.ts';
import { CsiError, fromApiError, isErrorReason } from './errors.ts';
import { snapshotRecordName } from './ids.ts';
import type { Snapshot, StringMap, Timestamp, VolumeGroupSnapshot } from './messages.ts';
import { remoteSpec } from './remote-parameters.ts';
import { type ParsedParameters, sameStringMap } from './validation.ts';

export interface PlannedMember {
  snapshotId: string;
  sourceVolumeId: string;
  claim?: { namespace: string; name: string };
}

export interface RecordPlan {
  kind: 'snapshot' | 'group';
  requestName: string;
  groupSnapshotId?: string;
  cluster: EtcdClusterRef;
  snapshotPrefix?: string;
  members: PlannedMember[];
  /** Every source volume of the request, across clusters. */
  sourceVolumeIds: readonly string[];
  parameters: ParsedParameters;
  traceparent?: string;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** `v` when it may stand as a label value as it is; undefined otherwise. */
export const labelValue = (v: string): string | undefined =>
  v.length <= 63 && LABEL_VALUE.test(v) ? v : undefined;

export function recordBody(ctx: DriverContext, plan: RecordPlan): EtcdSnapshot {
  const name = snapshotRecordName(plan.kind, plan.requestName, plan.cluster.key);
  const labels: StringMap = { ...VELERO_EXCLUDED };
  if (plan.groupSnapshotId) labels[LABEL_GROUP_SNAPSHOT_ID] = plan.groupSnapshotId;
  else if (plan.kind === 'snapshot' && plan.members[0])
    labels[LABEL_SNAPSHOT_ID] = plan.members[0].snapshotId;
  const clusterLabel = labelValue(plan.cluster.name);
  if (clusterLabel) labels[LABEL_CLUSTER] = clusterLabel;
  const driverLabel = labelValue(ctx.driverName);
  if (driverLabel) labels[LABEL_DRIVER] = driverLabel;
  const values = plan.parameters.values;
  const prefix = (plan.snapshotPrefix ?? '').replace(/[^A-Za-z0-9._-]/g, '-');
  const members: EtcdSnapshotMember[] = plan.members
    .map((m) => {
      const member: EtcdSnapshotMember = { snapshotId: m.snapshotId, sourceVolumeId: m.sourceVolumeId };
      if (m.claim) {
        member.sourceNamespace = m.claim.namespace;
        member.sourcePvcName = m.claim.name;
      }
      return member;
    })
    .sort((a, b) => a.sourceVolumeId.localeCompare(b.sourceVolumeId));
  const record: EtcdSnapshot = {
    apiVersion: `${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`,
    kind: ETCD_SNAPSHOT.kind,
    metadata: {
      name,
      namespace: plan.cluster.namespace,
      labels,
      finalizers: [FINALIZER_BACKUP_FILE],
      ...(plan.traceparent ? { annotations: { [ANNOTATION_TRACEPARENT]: plan.traceparent } } : {}),
    },
    spec: {
      driverName: ctx.driverName,
      requestKind: plan.kind,
      requestName: plan.requestName,
      cluster: plan.cluster,
      members,
      sourcesDigest: sourcesDigest(plan.sourceVolumeIds),
      parameters: plan.parameters.own,
      snapshotTimeoutSeconds: values.snapshotTimeoutSeconds ?? ctx.defaults.snapshotTimeoutSeconds,
      retentionDays: values.retentionDays ?? ctx.defaults.retentionDays,
      storage: {
        storageClassName: values.storageClass ?? ctx.defaults.storageClass,
        // One claim per etcd cluster, in its namespace (docs/pipeline.md); one directory per
        // snapshot holding snapshot.db and its meta file, so deleting a snapshot is one rmdir.
        claimName: snapshotClaimName(plan.cluster.name),
        path: `${prefix}${name}/snapshot.db`,
      },
      createdBy: ctx.createdBy,
    },
  };
  if (plan.groupSnapshotId) record.spec.groupSnapshotId = plan.groupSnapshotId;
  if (values.snapshotLabel) record.spec.snapshotLabel = values.snapshotLabel;
  if (plan.snapshotPrefix) record.spec.snapshotPrefix = plan.snapshotPrefix;
  // Throws INVALID_PARAMETER before anything is written: callers build bodies before the claim.
  const objectStore = remoteSpec(values, plan.parameters.own, ctx.defaults.objectStoreSecret);
  if (objectStore) record.spec.objectStore = objectStore;
  return record;
}

export { sourcesDigest } from '../records/hash-id.ts';
export { snapshotClaimName } from '../records/snapshot-claim.ts';

/** Whether an existing record was made by the same request (same name, sources, parameters). */
export function recordMatches(
  record: EtcdSnapshot,
  requestName: string,
  sourceVolumeIds: readonly string[],
  parameters: StringMap,
): boolean {
  const wanted = new Set(sourceVolumeIds);
  return (
    record.spec.requestName === requestName &&
    record.spec.sourcesDigest === sourcesDigest(sourceVolumeIds) &&
    record.spec.members.every((m) => wanted.has(m.sourceVolumeId)) &&
    sameStringMap(record.spec.parameters ?? {}, parameters)
  );
}

/** Writes the planned records create-if-absent; returns the records as they now exist. */
export async function ensureRecords(
  ctx: DriverContext,
  bodies: readonly EtcdSnapshot[],
  signal?: AbortSignal,
): Promise<EtcdSnapshot[]> {
  return Promise.all(
    bodies.map(async (body) => {
      try {
        return (await ctx.snapshots.createIfAbsent(body, signal)).record;
      } catch (err) {
        throw fromApiError(err, `create EtcdSnapshot ${body.metadata?.namespace}/${body.metadata?.name}`);
      }
    }),
  );
}

/** A Failed record as the error its reason maps to; Create and Get answer with it. */
export function failureOf(record: EtcdSnapshot): CsiError | undefined {
  if (record.status?.phase !== 'Failed') return undefined;
  const reason =
    record.status.reason && isErrorReason(record.status.reason) ? record.status.reason : 'SNAPSHOT_FAILED';
  return new CsiError(
    reason,
    `snapshot of etcd cluster ${record.spec.cluster.key} failed: ${record.status.message ?? record.status.reason ?? 'no message'}`,
  );
}

/** Refuses to answer a Create from records that are being deleted or failed. */
export function requireUsable(records: readonly EtcdSnapshot[], what: string): void {
  for (const r of records) {
    if (isBeingDeleted(r)) {
      throw new CsiError('SNAPSHOT_DELETION_IN_PROGRESS', `${what} is being deleted; retry after it is gone`);
    }
    const failure = failureOf(r);
    if (failure) throw failure;
  }
}

export function timestampOf(value: unknown): Timestamp | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  if (Number.isNaN(ms)) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** When the snapshot was taken; until then, when it was requested (CSI requires a value). */
function creationTime(record: EtcdSnapshot): Timestamp {
  return (
    timestampOf(record.status?.creationTime) ??
    timestampOf(record.metadata?.creationTimestamp) ?? { seconds: 0, nanos: 0 }
  );
}

export function isReady(record: EtcdSnapshot): boolean {
  return record.status?.readyToUse === true || record.status?.phase === 'Ready';
}

export function memberSnapshot(record: EtcdSnapshot, member: EtcdSnapshotMember): Snapshot {
  return {
    size_bytes: record.status?.sizeBytes ?? 0,
    snapshot_id: member.snapshotId,
    source_volume_id: member.sourceVolumeId,
    creation_time: creationTime(record),
    ready_to_use: isReady(record),
    group_snapshot_id: record.spec.groupSnapshotId ?? '',
  };
}

function earliest(times: readonly Timestamp[]): Timestamp {
  return times.reduce((a, b) =>
    b.seconds < a.seconds || (b.seconds === a.seconds && b.nanos < a.nanos) ? b : a,
  );
}

export function groupSnapshot(
  groupSnapshotId: string,
  records: readonly EtcdSnapshot[],
): VolumeGroupSnapshot {
  const snapshots = records
    .flatMap((r) => r.spec.members.map((m) => memberSnapshot(r, m)))
    .sort((a, b) => a.source_volume_id.localeCompare(b.source_volume_id));
  return {
    group_snapshot_id: groupSnapshotId,
    snapshots,
    creation_time: earliest(records.map(creationTime)),
    ready_to_use: records.every(isReady),
  };
}
