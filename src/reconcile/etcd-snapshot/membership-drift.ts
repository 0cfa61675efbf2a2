// The member list CheckHealth saw (status.memberIds) is read again when the save Job succeeded:
// a member added or removed in between means the snapshot was taken while the membership
// changed (seed §13 CLUSTER_MODIFICATION_IN_PROGRESS). The save is then discarded and taken
// again — the same Job name and file path, after the finished Job is deleted (its uid is kept in
// status.discardedSaveJob so a lagging cache never passes it off as the new one) — while the
// record is younger than its snapshotTimeoutSeconds, as the other transient reasons; after that
// the record fails with CLUSTER_MODIFICATION_IN_PROGRESS. A member list that cannot be read at
// the end keeps the save: the agent checked the cluster itself before streaming.
import type { Job, Pod } from '../../informers/resources.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import { fail, proceed, requeueAfter, type StepResult } from '../step.ts';
import { bounded, CONDITION_MEMBERSHIP_STABLE, withBlockingCondition } from './conditions.ts';
import { memberView } from './member-view.ts';
import type { ClusterHealthView } from './ports.ts';
import { resolveCredentials } from './resolve-credentials.ts';
import { type StepIo, sourceFirst } from './step-io.ts';

export const REASON_MEMBERSHIP_CHANGED = 'CLUSTER_MODIFICATION_IN_PROGRESS';
export const EVENT_MEMBERSHIP_CHANGED = 'MembershipChanged';
const MAX_IDS_SHOWN = 8;

export interface MembershipChange {
  added: string[];
  removed: string[];
}

/** The member IDs of a health check, sorted; empty when its members carry none. */
export function memberIdsOf(members: readonly unknown[]): string[] {
  const ids = members.flatMap((m) => {
    const id = memberView(m).id;
    return id ? [id] : [];
  });
  return [...new Set(ids)].sort();
}

/** Whether the Job is the save a membership change discarded (a cache may still hold it). */
export function isDiscarded(job: Job, record: EtcdSnapshot): boolean {
  const uid = job.metadata?.uid;
  return uid !== undefined && uid === record.status?.discardedSaveJob;
}

/** The pods without the discarded save's, which may outlive its Job: its result is never read. */
export function notDiscarded(pods: readonly Pod[], record: EtcdSnapshot): Pod[] {
  const discarded = record.status?.discardedSaveJob;
  if (!discarded) return [...pods];
  return pods.filter((p) => !p.metadata?.ownerReferences?.some((o) => o.uid === discarded));
}

export function membershipChange(
  before: readonly string[] | undefined,
  after: readonly string[],
): MembershipChange | undefined {
  if (!before || before.length === 0 || after.length === 0) return undefined;
  const was = new Set(before);
  const is = new Set(after);
  const added = after.filter((id) => !was.has(id));
  const removed = before.filter((id) => !is.has(id));
  return added.length === 0 && removed.length === 0 ? undefined : { added, removed };
}

export function describeChange(clusterKey: string, change: MembershipChange): string {
  const list = (ids: string[]) =>
    ids.length > MAX_IDS_SHOWN
      ? `${ids.slice(0, MAX_IDS_SHOWN).join(', ')} and ${ids.length - MAX_IDS_SHOWN} more`
      : ids.join(', ');
  const parts = [
    ...(change.added.length > 0 ? [`added ${list(change.added)}`] : []),
    ...(change.removed.length > 0 ? [`removed ${list(change.removed)}`] : []),
  ];
  return bounded(`etcd cluster ${clusterKey} changed its members during the save (${parts.join('; ')})`);
}

export type DriftVerdict =
  | { kind: 'retry'; status: EtcdSnapshotStatus; message: string }
  | { kind: 'fail'; message: string };

/** What to do with a save that ended after `change`: take it again, or fail when too old. */
export function driftVerdict(
  record: EtcdSnapshot,
  change: MembershipChange,
  retry: { memberIds: string[]; endpoints: string[]; discardedSaveJob: string },
  now: Date,
): DriftVerdict {
  const what = describeChange(record.spec.cluster.key, change);
  const age = now.getTime() - Date.parse(record.metadata?.creationTimestamp ?? '');
  if (age > record.spec.snapshotTimeoutSeconds * 1000) {
    return {
      kind: 'fail',
      message: `${what}; not retried: the snapshot is older than its timeout of ${record.spec.snapshotTimeoutSeconds}s`,
    };
  }
  const message = `${what}; the save is taken again`;
  return {
    kind: 'retry',
    message,
    status: {
      ...withBlockingCondition(
        record.status ?? {},
        CONDITION_MEMBERSHIP_STABLE,
        REASON_MEMBERSHIP_CHANGED,
        message,
        now,
      ),
      phase: 'Running',
      readyToUse: false,
      step: 'AwaitJob',
      memberIds: retry.memberIds,
      endpoints: retry.endpoints,
      discardedSaveJob: retry.discardedSaveJob,
      startedAt: now.toISOString(),
    },
  };
}

/**
 * The save succeeded: its member list is read again and compared with CheckHealth's. A change
 * discards the save (a requeue: it is taken again) or fails the record when too old; `continue`
 * when the save stands. `seen` is told the newest live revision this read found (the members'
 * Status headers): the record's lastRevisionSeen, at no extra call.
 */
export async function checkMembershipAfterSave(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
  seen?: (liveRevision: number) => void,
): Promise<StepResult> {
  const before = record.status?.memberIds;
  if (!io.health || !before?.length) return proceed;
  const endpoints = record.status?.endpoints ?? record.spec.cluster.endpoints;
  let health: ClusterHealthView;
  try {
    const resolved = await resolveCredentials(io, record, ctx);
    if (!('credentials' in resolved)) {
      const { reason, message } = resolved;
      ctx.log.warn({ reason, message }, 'cannot read the etcd member list after the save; keeping the save');
      return proceed;
    }
    health = await io.health(endpoints, resolved.credentials, {
      signal: ctx.signal,
      timeoutMs: io.options.healthTimeoutMs,
    });
  } catch (err) {
    ctx.signal.throwIfAborted();
    ctx.log.warn({ err }, 'cannot read the etcd member list after the save; keeping the save');
    return proceed;
  }
  if (health.revision !== undefined) seen?.(health.revision);
  const after = memberIdsOf(health.members);
  const change = membershipChange(before, after);
  if (!change) return proceed;
  const namespace = record.metadata?.namespace ?? '';
  const saveJob = record.status?.saveJob ?? '';
  const job = await io.currentJob(namespace, saveJob, ctx);
  const verdict = driftVerdict(
    record,
    change,
    {
      memberIds: after,
      endpoints: sourceFirst(endpoints, health.source),
      discardedSaveJob: job?.metadata?.uid ?? '',
    },
    io.now(),
  );
  if (verdict.kind === 'fail') return fail(REASON_MEMBERSHIP_CHANGED, verdict.message);
  ctx.assertOwner();
  await io.api.deleteJob(namespace, saveJob, ctx.signal);
  await io.putStatus(record, verdict.status, ctx);
  await io.api.recordEvent(
    record,
    {
      type: 'Warning',
      reason: EVENT_MEMBERSHIP_CHANGED,
      message: `${REASON_MEMBERSHIP_CHANGED}: ${verdict.message}`,
    },
    ctx.signal,
  );
  ctx.log.warn({ job: saveJob, reason: REASON_MEMBERSHIP_CHANGED }, verdict.message);
  return requeueAfter(Math.min(2_000, io.options.pollIntervalMs));
}
