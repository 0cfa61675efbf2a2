// The decision about one record: keep it, delete it (which deletes its file: the pipeline runs the
// delete Job and releases the finalizer), or report it. Pure: the record, what references it, the
// time and the options — unit-tested on its own.
//
// The rules (docs/pipeline.md, "Orphans and retention"):
// - Only this driver's records that have finished (Ready or Failed), are not being deleted, and
//   finished and were created at least orphanGraceMs ago. A save in flight is never judged.
// - A record a content still references belongs to the CO: it is never deleted here. Expired, it
//   is reported (the CO deletes it by deleting the VolumeSnapshot/VolumeGroupSnapshot).
// - Contents not known yet (a content store has not synced): kept, judged again later. Never
//   deleted on a cache that may simply not have listed the content that references the record.
// - Without the snapshot CRDs nothing can reference a record: only retention applies.
// - No content references it (an orphan): expired → deleted (retention-days is the class's explicit
//   ask); else by the gone content's policy — Delete → deleted, Retain → kept and reported, never
//   seen → reported, deleted only with deleteUnknownOrphanRecords.
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { ContentState } from './content-references.ts';

// Event reasons (Kubernetes' CamelCase, not the reason vocabulary of src/reasons: none is a
// failure) and the `reason` label values of the retention families (docs/observability.md).
export const DELETE_REASONS = ['OrphanDeletePolicy', 'OrphanUnknownPolicy', 'RetentionExpired'] as const;
export const REPORT_REASONS = [
  'OrphanRetained',
  'OrphanPolicyUnknown',
  'RetentionExpiredReferenced',
] as const;
export type DeleteReason = (typeof DELETE_REASONS)[number];
export type ReportReason = (typeof REPORT_REASONS)[number];

export type RecordVerdict =
  | { action: 'keep' }
  | { action: 'delete'; reason: DeleteReason; message: string }
  | { action: 'report'; reason: ReportReason; message: string };

const DAY_MS = 86_400_000;

export interface VerdictOptions {
  driverName: string;
  orphanGraceMs: number;
  deleteUnknownOrphanRecords: boolean;
}

const time = (s: string | undefined): number | undefined => {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
};

/** When the snapshot was taken (etcd's time), else when the record was made. */
export function snapshotTime(record: EtcdSnapshot): number | undefined {
  return time(record.status?.creationTime) ?? time(record.metadata?.creationTimestamp);
}

/** The moment retention-days runs out, or undefined when the record has no retention or no time. */
export function expiresAt(record: EtcdSnapshot): number | undefined {
  const days = record.spec?.retentionDays;
  const at = snapshotTime(record);
  if (!days || days <= 0 || at === undefined) return undefined;
  return at + days * DAY_MS;
}

export function judgeRecord(
  record: EtcdSnapshot,
  content: ContentState,
  now: number,
  options: VerdictOptions,
): RecordVerdict {
  const keep = { action: 'keep' } as const;
  if (record.spec?.driverName !== options.driverName) return keep;
  if (record.metadata?.deletionTimestamp) return keep;
  // An imported record mirrors a remote copy: the store's retention is the copy's, and a record
  // deleted here would only be imported again.
  if (record.spec?.imported) return keep;
  const phase = record.status?.phase;
  if (phase !== 'Ready' && phase !== 'Failed') return keep;
  const created = time(record.metadata?.creationTimestamp);
  const finished = time(record.status?.finishedAt) ?? created;
  if (created === undefined || finished === undefined) return keep;
  if (now - created < options.orphanGraceMs || now - finished < options.orphanGraceMs) return keep;
  if (content.kind === 'unknown') return keep;

  const expiry = expiresAt(record);
  const expired = expiry !== undefined && now >= expiry;
  const days = record.spec.retentionDays;
  if (content.kind === 'present') {
    return expired
      ? {
          action: 'report',
          reason: 'RetentionExpiredReferenced',
          message: `retention of ${days} days ran out; ${content.names.join(', ')} still reference the snapshot, so it stays until the VolumeSnapshot/VolumeGroupSnapshot is deleted`,
        }
      : keep;
  }
  if (expired) {
    return {
      action: 'delete',
      reason: 'RetentionExpired',
      message: `retention of ${days} days ran out and no snapshot content references it`,
    };
  }
  if (content.kind === 'no-crds') return keep;
  if (content.policy === 'Delete') {
    return {
      action: 'delete',
      reason: 'OrphanDeletePolicy',
      message: 'its snapshot content is gone and had deletionPolicy Delete',
    };
  }
  if (content.policy === 'Retain') {
    return {
      action: 'report',
      reason: 'OrphanRetained',
      message: 'its snapshot content is gone and had deletionPolicy Retain: the snapshot is kept',
    };
  }
  return options.deleteUnknownOrphanRecords
    ? {
        action: 'delete',
        reason: 'OrphanUnknownPolicy',
        message:
          'no snapshot content references it and its deletion policy is unknown (--delete-orphan-records)',
      }
    : {
        action: 'report',
        reason: 'OrphanPolicyUnknown',
        message:
          'no snapshot content references it and its deletion policy is unknown: kept (delete it, or run with --delete-orphan-records)',
      };
}
