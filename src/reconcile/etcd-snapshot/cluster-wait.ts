// A record waiting for its etcd cluster's turn (one save per cluster, cluster-turn.ts) says so:
// phase Pending, reason SNAPSHOT_CREATION_IN_PROGRESS and a SaveTurn=False condition naming what
// it first waited for. Written once when the wait begins, not each time the save ahead of it
// changes: a queue of N records of one cluster would otherwise cost O(N²) writes. The wait itself
// is a requeue; the debug log names what it waits for now.
import type { EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';
import { CONDITION_SAVE_TURN, conditionOf, withBlockingCondition } from './conditions.ts';

export const REASON_WAITING_FOR_TURN = 'SNAPSHOT_CREATION_IN_PROGRESS';

/** The status to write when the wait for `waitingFor` begins, or undefined when it says so already. */
export function waitingStatus(
  status: EtcdSnapshotStatus | undefined,
  clusterKey: string,
  waitingFor: string,
  now: Date,
): EtcdSnapshotStatus | undefined {
  const waiting = conditionOf(status, CONDITION_SAVE_TURN);
  if (status?.phase === 'Pending' && waiting?.status === 'False' && status.reason === REASON_WAITING_FOR_TURN)
    return undefined;
  const message = `etcd cluster ${clusterKey} saves one snapshot at a time; this one waits its turn (it began waiting for ${waitingFor})`;
  return {
    ...withBlockingCondition(status ?? {}, CONDITION_SAVE_TURN, REASON_WAITING_FOR_TURN, message, now),
    phase: 'Pending',
    readyToUse: false,
  };
}
