// The orphan sweep over an object store (docs/pipeline.md, "Orphan file sweep"): which store a
// cluster's sweep lists, what it keeps, and what the controller makes of the result — the
// metric, a log line and Events on the claim, like the local orphans. Remote snapshots are
// named by their records, so a record of the cluster (being deleted or not) owns its remote
// directory. Deletion follows the same rule as local directories: only with
// --delete-orphan-files, and only what two consecutive sweeps found unowned (orphan-dirs.ts).
import type { RemoteSweepReport } from '../../agent/contract.ts';
import type { PersistentVolumeClaim } from '../../informers/resources.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import type { RetentionApi } from './kube-api.ts';
import type { RetentionMetrics } from './metrics.ts';
import { confirmedOrphans } from './orphan-dirs.ts';

/**
 * The store Secret the cluster's newest record naming one uses: a sweep lists one store per
 * cluster (copies in a store no current record names are not seen).
 */
export function clusterStore(records: readonly EtcdSnapshot[]): string | undefined {
  const named = records
    .filter((r) => r.spec?.objectStore?.secretName)
    .sort((a, b) => (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''));
  return named[0]?.spec.objectStore?.secretName;
}

/** The remote directory names the cluster's records own: their names. */
export function ownedRemote(records: readonly EtcdSnapshot[]): string[] {
  return [...new Set(records.map((r) => r.metadata?.name ?? '').filter((n) => n !== ''))].sort();
}

export interface RemoteSweepRead {
  clusterKey: string;
  claim: PersistentVolumeClaim;
  report: RemoteSweepReport;
  records: readonly EtcdSnapshot[];
  deleteOrphans: boolean;
}

/**
 * Reports what the sweep found in the store; returns the confirmed orphans (the next sweep may
 * delete them), or undefined when the store could not be listed (nothing is deleted on that).
 */
export async function readRemoteSweep(
  input: RemoteSweepRead,
  deps: { api: RetentionApi; metrics: RetentionMetrics },
  ctx: ReconcileContext,
): Promise<string[] | undefined> {
  const { report, claim, clusterKey } = input;
  if (report.error) {
    const why = `${report.error.reason}: ${report.error.message}`;
    ctx.log.warn({ cluster_name: clusterKey, location: report.location, error: why }, 'remote sweep failed');
    await deps.api.claimEvent(
      claim,
      { type: 'Warning', reason: 'RemoteSweepFailed', message: `sweep of ${report.location} failed: ${why}` },
      ctx.signal,
    );
    return undefined;
  }
  // The cache may have caught up with a record since the Job was made: its directory is owned.
  const orphans = confirmedOrphans(report.unowned, ownedRemote(input.records));
  const count = report.unownedCount - (report.unowned.length - orphans.length);
  deps.metrics.remoteOrphans(clusterKey, count);
  if (report.deleted.length > 0) {
    ctx.log.info({ location: report.location, deleted: report.deleted }, 'orphaned remote snapshots deleted');
    await deps.api.claimEvent(
      claim,
      {
        type: 'Normal',
        reason: 'OrphanedRemoteSnapshotsDeleted',
        message: `deleted ${report.deleted.length} remote snapshots under ${report.location} no record owned: ${report.deleted.join(', ')}`,
      },
      ctx.signal,
    );
  }
  if (count > 0) {
    const more = count > orphans.length ? ` and ${count - orphans.length} more` : '';
    const what = input.deleteOrphans
      ? 'they are deleted at the next sweep if still unowned'
      : 'kept (--delete-orphan-files removes them)';
    ctx.log.warn({ location: report.location, orphans: count }, 'remote snapshots no record owns');
    await deps.api.claimEvent(
      claim,
      {
        type: 'Warning',
        reason: 'OrphanedRemoteSnapshots',
        message: `${count} remote snapshots under ${report.location} no record owns: ${orphans.join(', ')}${more}; ${what}`,
      },
      ctx.signal,
    );
  }
  return orphans;
}
