// A record waiting for its etcd cluster's turn (one save per cluster, cluster-turn.ts) says so:
// phase Pending, reason SNAPSHOT_CREATION_IN_PROGRESS and a SaveTurn=False condition naming what
// it waits for. Written only when that changes (not on every poll); the wait itself is a requeue.
import type { EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';
import { CONDITION_SAVE_TURN, hasBlockingCondition, withBlockingCondition } from './conditions.ts';

export const REASON_WAITING_FOR_TURN = 'SNAPSHOT_CREATION_IN_PROGRESS';

/** The status to write while waiting for `waitingFor`, or undefined when it says so already. */
export function waitingStatus(
  status: EtcdSnapshotStatus | undefined,
  clusterKey: string,
  waitingFor: string,
  now: Date,
): EtcdSnapshotStatus | undefined {
  const message = `etcd cluster ${clusterKey} saves one snapshot at a time; waiting for ${waitingFor}`;
  if (
    status?.phase === 'Pending' &&
    hasBlockingCondition(status, CONDITION_SAVE_TURN, REASON_WAITING_FOR_TURN, message)
  )
    return undefined;
  return {
    ...withBlockingCondition(status ?? {}, CONDITION_SAVE_TURN, REASON_WAITING_FOR_TURN, message, now),
    phase: 'Pending',
    readyToUse: false,
  };
}
