// A cluster whose members took the health check's calls but answered after its deadline is slow,
// not lost (a loaded node, a paused process): the record waits, backing off so that a struggling
// etcd is asked less often, and says so on an EtcdResponsive=False condition (reason
// DEADLINE_EXCEEDED, step CheckHealth). When snapshotTimeoutSeconds runs out it fails with the
// same reason and a message that says how long it waited.
import type { ClusterSlowError } from '../../etcd/errors.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';
import { CONDITION_ETCD_RESPONSIVE, conditionOf, withBlockingCondition } from './conditions.ts';

export const REASON_ETCD_SLOW = 'DEADLINE_EXCEEDED';

/** The longest pause between two checks of a slow cluster. */
const MAX_BACKOFF_MS = 30_000;

export type SlowEtcdVerdict =
  | { kind: 'wait'; requeueAfterMs: number; status: EtcdSnapshotStatus | undefined }
  | { kind: 'fail'; message: string };

export function slowEtcdVerdict(
  record: EtcdSnapshot,
  err: ClusterSlowError,
  now: Date,
  pollIntervalMs: number,
): SlowEtcdVerdict {
  const timeoutMs = record.spec.snapshotTimeoutSeconds * 1000;
  const created = Date.parse(record.metadata?.creationTimestamp ?? '');
  const age = now.getTime() - created;
  if (!(age <= timeoutMs)) {
    return {
      kind: 'fail',
      message: `${err.message}; still too slow when the snapshot's timeout of ${record.spec.snapshotTimeoutSeconds}s ran out`,
    };
  }
  const previous = conditionOf(record.status, CONDITION_ETCD_RESPONSIVE);
  const since = previous?.status === 'False' ? Date.parse(previous.lastTransitionTime ?? '') : Number.NaN;
  // Half the time it has been slow so far: 1, 1, 2, 4 … poll intervals, never past the timeout.
  const slowFor = Number.isFinite(since) ? now.getTime() - since : 0;
  const backoff = Math.min(MAX_BACKOFF_MS, Math.max(pollIntervalMs, slowFor / 2));
  const requeueAfterMs = Math.max(pollIntervalMs, Math.min(backoff, created + timeoutMs - now.getTime()));
  const message = `${err.message}; waiting (until the snapshot's timeout of ${record.spec.snapshotTimeoutSeconds}s)`;
  // Written when the wait begins, not at every check: the message differs each time.
  const already = previous?.status === 'False' && previous.reason === REASON_ETCD_SLOW;
  const status = already
    ? undefined
    : {
        ...withBlockingCondition(
          record.status ?? {},
          CONDITION_ETCD_RESPONSIVE,
          REASON_ETCD_SLOW,
          message,
          now,
        ),
        phase: record.status?.phase ?? 'Pending',
        readyToUse: false,
        step: 'CheckHealth' as const,
      };
  return { kind: 'wait', requeueAfterMs, status };
}
