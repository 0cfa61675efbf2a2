// The record's conditions that tell why it is not ready while it is not failed: waiting for its
// cluster's turn, a Job the API refuses, a membership change that discarded a save. Each type is
// set while its cause holds and removed when it ends, so `kubectl get -o yaml` shows only causes
// that are current; status.reason/message carry the latest one for one-line readers.

import type { Reason } from '../../reasons/reasons.ts';
import type { EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';

export type Condition = NonNullable<EtcdSnapshotStatus['conditions']>[number];

export const CONDITION_SAVE_TURN = 'SaveTurn';
export const CONDITION_JOB_CREATED = 'JobCreated';
export const CONDITION_MEMBERSHIP_STABLE = 'MembershipStable';
export const CONDITION_ETCD_RESPONSIVE = 'EtcdResponsive';

const PIPELINE_CONDITIONS = [
  CONDITION_SAVE_TURN,
  CONDITION_JOB_CREATED,
  CONDITION_MEMBERSHIP_STABLE,
  CONDITION_ETCD_RESPONSIVE,
];

/** Condition and status messages are bounded: an API or etcd answer can be long. */
export const MAX_CONDITION_MESSAGE = 1024;

export function bounded(message: string, max = MAX_CONDITION_MESSAGE): string {
  return message.length > max ? `${message.slice(0, max)}…` : message;
}

export function conditionOf(status: EtcdSnapshotStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * The status with the condition set to False for `reason`, and reason/message mirrored. The
 * transition time stays when the condition was False already: it is when the cause began.
 */
export function withBlockingCondition(
  status: EtcdSnapshotStatus,
  type: string,
  reason: Reason,
  message: string,
  now: Date,
): EtcdSnapshotStatus {
  const text = bounded(message);
  const previous = conditionOf(status, type);
  const since =
    previous?.status === 'False' && previous.lastTransitionTime
      ? previous.lastTransitionTime
      : now.toISOString();
  const condition: Condition = { type, status: 'False', reason, message: text, lastTransitionTime: since };
  return {
    ...status,
    reason,
    message: text,
    conditions: [...(status.conditions ?? []).filter((c) => c.type !== type), condition],
  };
}

/**
 * The status without the given pipeline conditions (all of them by default), and without the
 * reason/message they mirrored. Undefined when there was nothing to remove.
 */
export function withoutBlockingConditions(
  status: EtcdSnapshotStatus,
  types: readonly string[] = PIPELINE_CONDITIONS,
): EtcdSnapshotStatus | undefined {
  const removed = (status.conditions ?? []).filter((c) => types.includes(c.type));
  if (removed.length === 0) return undefined;
  const next: EtcdSnapshotStatus = {
    ...status,
    conditions: (status.conditions ?? []).filter((c) => !types.includes(c.type)),
  };
  if (next.conditions?.length === 0) delete next.conditions;
  if (removed.some((c) => c.reason === status.reason)) {
    delete next.reason;
    delete next.message;
  }
  return next;
}
