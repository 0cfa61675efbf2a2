// Metric hooks of the retention controller; src/telemetry/retention-metrics.ts implements them
// with the driver's registry (etcd_snapshot_orphan_files and friends).
import type { DeleteReason, ReportReason } from './record-verdict.ts';

export interface RetentionMetrics {
  /** Unowned snapshot directories the last sweep of a cluster's claim found. */
  orphanFiles(cluster: string, count: number): void;
  /** Remote snapshots under the cluster's prefix in its store that no record owns, as the last sweep found. */
  remoteOrphans(cluster: string, count: number): void;
  /** Records of a cluster kept but reported, by reason (orphans kept, expired but referenced). */
  reportedRecords(cluster: string, counts: Record<ReportReason, number>): void;
  /** A record deleted by this controller. */
  recordDeleted(cluster: string, reason: DeleteReason): void;
}

export const noopRetentionMetrics: RetentionMetrics = {
  orphanFiles() {},
  remoteOrphans() {},
  reportedRecords() {},
  recordDeleted() {},
};
