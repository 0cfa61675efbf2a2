// The scheduled check of a Ready record's remote copy (--remote-verify-interval, docs/object-store.md):
//   due (interval since status.remoteVerifiedAt, else since Ready) → intent (status.remoteVerifyJob)
//   → verify Job (`agent verify --remote`) → judged: condition RemoteCopyVerified, remoteVerifiedAt
// A damaged copy (CHECKSUM_MISMATCH, SNAPSHOT_INCOMPLETE) or one that cannot be read sets the
// condition False with the agent's reason, a Warning Event and the metric; the record stays Ready
// (the local snapshot is good) and is checked again at the next interval. At most one verify per
// etcd cluster runs at a time, so a cluster with many copies reads its store one copy at a time.
import type { AgentResult } from '../../agent/contract.ts';
import type { Reason } from '../../reasons/reasons.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { jobName } from '../snapshot-records/names.ts';
import { bounded, type Condition } from './conditions.ts';
import { jobOutcome, ownedBy } from './job-outcome.ts';
import { buildVerifyJob } from './job-spec.ts';
import { keyOf, type StepIo } from './step-io.ts';

export const CONDITION_REMOTE_COPY_VERIFIED = 'RemoteCopyVerified';

/** When the next verify of the record is due (ms since the epoch), or undefined when never. */
export function nextVerifyAt(record: EtcdSnapshot, intervalMs: number): number | undefined {
  if (intervalMs <= 0 || !record.status?.remote || !record.spec.objectStore) return undefined;
  const last = Date.parse(record.status.remoteVerifiedAt ?? record.status.finishedAt ?? '');
  return (Number.isNaN(last) ? 0 : last) + intervalMs;
}

/** What a verify Job's end means: the copy verified, or the reason and message why not. */
export function judgeVerify(
  outcome:
    | { state: 'succeeded'; result?: AgentResult }
    | { state: 'failed'; reason: Reason; message: string },
): { ok: true } | { ok: false; reason: Reason; message: string } {
  if (outcome.state === 'failed') return { ok: false, reason: outcome.reason, message: outcome.message };
  const result = outcome.result;
  if (result?.operation === 'verify' && result.ok) return { ok: true };
  return {
    ok: false,
    reason: 'SNAPSHOT_STATUS_FAILED',
    message: result
      ? `the verify Job succeeded but its result is ${result.operation}/${result.ok ? 'ok' : 'failed'}`
      : 'the verify Job succeeded but left no result in its termination message',
  };
}

export async function remoteVerify(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const interval = io.options.remoteVerifyIntervalMs;
  const dueAt = nextVerifyAt(record, interval);
  if (dueAt === undefined) return {};
  const namespace = record.metadata?.namespace ?? '';
  const poll = { requeueAfter: io.options.pollIntervalMs };
  const name = record.status?.remoteVerifyJob;
  if (!name) {
    const wait = dueAt - io.now().getTime();
    if (wait > 0) return { requeueAfter: wait };
    const key = keyOf(record);
    const busy = io
      .clusterRecords(record.spec.cluster.key)
      .some((r) => keyOf(r) !== key && r.status?.remoteVerifyJob);
    if (busy) return poll;
    // The intent first: a replica that takes over finds the Job by this name.
    await io.putStatus(
      record,
      { ...record.status, remoteVerifyJob: jobName('verify', record.metadata?.name ?? '') },
      ctx,
    );
    return poll;
  }
  const job = await io.currentJob(namespace, name, ctx);
  // A Job of an earlier verify still going away: its result was judged already.
  if (job?.metadata?.deletionTimestamp || (job && !ownedBy(job, record))) return poll;
  if (!job) {
    ctx.assertOwner();
    await io.api.createJob(buildVerifyJob(io.options, record), ctx.signal);
    ctx.log.info({ job: name }, 'remote verify Job created');
    return poll;
  }
  let outcome = jobOutcome(job, io.podsOf(record, 'verify'));
  if (outcome.state !== 'running' && outcome.result === undefined)
    outcome = jobOutcome(job, await io.api.listJobPods(namespace, name, ctx.signal));
  if (outcome.state === 'running') return poll;
  const verdict = judgeVerify(outcome);

  // The Job goes before the status says it was judged: a Job left behind would be judged again.
  ctx.assertOwner();
  await io.api.deleteJob(namespace, name, ctx.signal);
  const now = io.now();
  const condition: Condition = verdict.ok
    ? { type: CONDITION_REMOTE_COPY_VERIFIED, status: 'True', lastTransitionTime: now.toISOString() }
    : {
        type: CONDITION_REMOTE_COPY_VERIFIED,
        status: 'False',
        reason: verdict.reason,
        message: bounded(verdict.message),
        lastTransitionTime: now.toISOString(),
      };
  const status: EtcdSnapshotStatus = {
    ...record.status,
    remoteVerifiedAt: now.toISOString(),
    conditions: [
      ...(record.status?.conditions ?? []).filter((c) => c.type !== CONDITION_REMOTE_COPY_VERIFIED),
      condition,
    ],
  };
  delete status.remoteVerifyJob;
  await io.putStatus(record, status, ctx);
  io.metrics.remoteVerify(record.spec.cluster.key, verdict.ok ? 'success' : verdict.reason);
  if (!verdict.ok) {
    ctx.log.warn(
      {
        snapshot_id: record.metadata?.name,
        reason: verdict.reason,
        location: record.status?.remote?.location,
      },
      `remote copy failed its verify: ${bounded(verdict.message, 200)}`,
    );
    await io.api.recordEvent(
      record,
      {
        type: 'Warning',
        reason: 'RemoteCopyVerifyFailed',
        message: `${verdict.reason}: ${bounded(verdict.message)}`,
      },
      ctx.signal,
    );
  } else {
    ctx.log.info({ snapshot_id: record.metadata?.name }, 'remote copy verified');
  }
  return { requeueAfter: interval };
}
