// What a record being deleted (or cleaned up after a failure) shows while its files cannot be
// removed: a condition `FilesRemoved=False` with the delete's reason (the store refused the
// credentials, did not answer, its Secret is gone …) and message, so `kubectl get -o yaml` says
// why the record stays; the retries back off. The finalizer stays until a delete succeeds: a copy
// is never dropped silently, and a store that comes back (or a Secret put right) lets it finish.
import type { Reason } from '../../reasons/reasons.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import { bounded, conditionOf, withBlockingCondition } from './conditions.ts';
import type { StepIo } from './step-io.ts';

export const CONDITION_FILES_REMOVED = 'FilesRemoved';

/** The longest pause between two delete attempts. */
export const MAX_DELETE_RETRY_MS = 5 * 60_000;

/**
 * The pause before the next attempt: as long as the delete has been failing already (so pauses
 * about double), at least `baseMs`, at most MAX_DELETE_RETRY_MS. Read from the condition's
 * transition time, so a restarted replica keeps the pace. Pure.
 */
export function deleteRetryDelay(status: EtcdSnapshotStatus | undefined, now: Date, baseMs: number): number {
  const since = Date.parse(conditionOf(status, CONDITION_FILES_REMOVED)?.lastTransitionTime ?? '');
  const failingFor = Number.isNaN(since) ? 0 : now.getTime() - since;
  return Math.min(MAX_DELETE_RETRY_MS, Math.max(baseMs, failingFor));
}

/**
 * The status with FilesRemoved=False for `reason`; the transition time kept while it was False
 * already (when the trouble began). A record being deleted mirrors it into status.reason/message;
 * a Failed one keeps the reason it failed with there.
 */
export function withDeleteBlocked(
  status: EtcdSnapshotStatus | undefined,
  reason: Reason,
  message: string,
  now: Date,
): EtcdSnapshotStatus {
  const next = withBlockingCondition(status ?? {}, CONDITION_FILES_REMOVED, reason, message, now);
  if (status?.phase !== 'Failed') return next;
  // A Failed record keeps the reason (and message) it failed with.
  return { ...status, conditions: next.conditions };
}

/**
 * A delete that could not run or failed: the condition written, a Warning Event and the metric,
 * and the pause before the next attempt returned.
 */
export async function deleteBlocked(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
  reason: Reason,
  message: string,
): Promise<number> {
  const now = io.now();
  const delay = deleteRetryDelay(record.status, now, io.options.pollIntervalMs * 3);
  await io.putStatus(record, withDeleteBlocked(record.status, reason, message, now), ctx);
  await io.api.recordEvent(
    record,
    { type: 'Warning', reason: 'SnapshotDeleteFailed', message: `${reason}: ${bounded(message)}` },
    ctx.signal,
  );
  io.metrics.operationFinished({
    operation: 'delete',
    status: reason,
    cluster: record.spec.cluster.key,
    durationSeconds: 0,
  });
  ctx.log.warn(
    { snapshot_id: record.metadata?.name, reason, retry_after_ms: delay },
    `snapshot files not removed: ${bounded(message, 200)}`,
  );
  return delay;
}
