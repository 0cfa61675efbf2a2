// The flow of a record whose save has started (status.saveJob is set):
//   RunJob (again, if its Job is missing) → AwaitJob → Verify → (membership unchanged) → Ready,
//   or, for a record naming an object store, → Upload (await-upload.ts)
// AwaitJob outlives one reconcile: it is a requeue until the Job ends, and its span is recorded
// once, from the Job's start to its judged end (tracing.ts recordEndedPhase).
import { type AgentResult, SNAPSHOT_MOUNT_PATH } from '../../agent/contract.ts';
import type { Job } from '../../informers/resources.ts';
import {
  ANNOTATION_TRACEPARENT,
  type EtcdSnapshot,
  type EtcdSnapshotStep,
} from '../../records/etcd-snapshot.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { minFreeBytes } from '../snapshot-records/claim-spec.ts';
import { fail, type Phase, proceed, requeueAfter, runPhases, type StepResult } from '../step.ts';
import { startUpload } from './await-upload.ts';
import { createSaveJob } from './job-create-failure.ts';
import { type JobOutcome, jobOutcome, ownedBy } from './job-outcome.ts';
import { buildSaveJob } from './job-spec.ts';
import { checkMembershipAfterSave, isDiscarded, notDiscarded } from './membership-drift.ts';
import { checkSaveResult } from './result-check.ts';
import { failRecord, markReady } from './status-writes.ts';
import type { StepIo } from './step-io.ts';
import { inStepSpan, recordEndedPhase } from './tracing.ts';

const LOG_TAIL_LINES = 20;
// A save Job that still runs this long after its deadline (a kubelet that cannot kill it) is
// failed by the controller itself.
const DEADLINE_GRACE_MS = 60_000;

interface AwaitRun {
  readonly record: EtcdSnapshot;
  readonly ctx: ReconcileContext;
  readonly namespace: string;
  readonly name: string;
  job?: Job;
  outcome?: Extract<JobOutcome, { state: 'succeeded' }>;
  result?: AgentResult;
  /** The live cluster's newest revision read after the save ended (membership check). */
  liveRevision?: number;
}

export async function awaitSave(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const run: AwaitRun = {
    record,
    ctx,
    namespace: record.metadata?.namespace ?? '',
    name: record.status?.saveJob ?? '',
  };
  const phases: Phase<EtcdSnapshotStep>[] = [
    { name: 'RunJob', run: () => jobPresent(io, run) },
    { name: 'AwaitJob', run: () => jobEnded(io, run) },
    { name: 'Verify', run: () => inStepSpan(record, 'Verify', async () => verify(run)) },
    {
      name: 'Verify',
      run: () =>
        checkMembershipAfterSave(io, record, ctx, (revision) => {
          run.liveRevision = revision;
        }),
    },
    { name: 'Ready', run: () => ready(io, run) },
  ];
  const outcome = await runPhases(phases);
  if (outcome.result.kind === 'requeue') return { requeueAfter: outcome.result.afterMs };
  if (outcome.result.kind === 'fail' && 'phase' in outcome) {
    const { reason, message } = outcome.result;
    await failRecord(io, record, ctx, { reason, step: outcome.phase, message });
  }
  return {};
}

/** The save Job exists, or is created again (same name, same arguments: the same save). */
async function jobPresent(io: StepIo, run: AwaitRun): Promise<StepResult> {
  const { record, ctx, namespace, name } = run;
  run.job = await io.currentJob(namespace, name, ctx);
  if (run.job) return proceed;
  // Intent stored but no Job: the writer crashed before creating it (or it was removed). Its
  // agent joins the trace under the CSI call's span (the RunJob span that would have been its
  // parent has ended).
  const traceparent = record.metadata?.annotations?.[ANNOTATION_TRACEPARENT];
  const again = buildSaveJob(io.options, {
    record,
    ...(traceparent ? { traceparent } : {}),
    endpoints: record.status?.endpoints ?? record.spec.cluster.endpoints,
    ...(record.status?.dbSizeBytes !== undefined
      ? { minFreeBytes: minFreeBytes(record.status.dbSizeBytes) }
      : {}),
  });
  const created = await createSaveJob(io, record, again, ctx);
  if (created.kind !== 'continue') return created;
  ctx.log.info({ job: name }, 'save Job was missing; created it');
  return requeueAfter(io.options.pollIntervalMs);
}

/** A requeue while the save Job runs (failed by us past its deadline); its end judged once. */
async function jobEnded(io: StepIo, run: AwaitRun): Promise<StepResult> {
  const { record, ctx, namespace, name } = run;
  const { options, metrics } = io;
  // Set by jobPresent, which stops the flow when there is none.
  const job = run.job as Job;
  // A Job of an earlier record of the same name, which the garbage collector is removing.
  if (!ownedBy(job, record)) return requeueAfter(options.pollIntervalMs);
  if (isDiscarded(job, record)) {
    // The save discarded for a membership change, still in the cache: gone first, then again.
    if (!job.metadata?.deletionTimestamp) {
      ctx.assertOwner();
      await io.api.deleteJob(namespace, name, ctx.signal);
    }
    return requeueAfter(Math.min(2_000, options.pollIntervalMs));
  }
  let outcome = jobOutcome(job, notDiscarded(io.podsOf(record, 'save'), record));
  if (outcome.state !== 'running' && outcome.result === undefined) {
    // The pod cache may trail the Job's: read the pods before judging without their result.
    const pods = await io.api.listJobPods(namespace, name, ctx.signal);
    outcome = jobOutcome(job, notDiscarded(pods, record));
  }
  const cluster = record.spec.cluster.key;
  const ended = (failure?: string) =>
    recordEndedPhase(record, 'AwaitJob', record.status?.startedAt, { 'k8s.job.name': name }, failure);
  if (outcome.state === 'running') {
    const startedAt = Date.parse(record.status?.startedAt ?? '');
    const deadlineMs = (job.spec?.activeDeadlineSeconds ?? options.jobActiveDeadlineSeconds) * 1000;
    if (!startedAt || io.now().getTime() - startedAt <= deadlineMs + DEADLINE_GRACE_MS)
      return requeueAfter(options.pollIntervalMs);
    ctx.assertOwner();
    await io.api.deleteJob(namespace, name, ctx.signal);
    metrics.jobTimeout(cluster);
    ended('JOB_TIMEOUT');
    return fail(
      'JOB_TIMEOUT',
      `save Job ${name} still running ${Math.round(deadlineMs / 1000)}s after it started`,
    );
  }
  // The wait is over: one AwaitJob span from the Job's creation to now.
  ended(outcome.state === 'failed' ? outcome.reason : undefined);
  if (outcome.state === 'succeeded') {
    run.outcome = outcome;
    return proceed;
  }
  if (outcome.timedOut) metrics.jobTimeout(cluster);
  if (outcome.reason === 'STORAGE_QUOTA_EXCEEDED' || outcome.reason === 'STORAGE_WRITE_FAILED')
    metrics.storageError(cluster, outcome.reason);
  const tail = outcome.pod ? await io.api.podLogTail(namespace, outcome.pod, LOG_TAIL_LINES, ctx.signal) : '';
  return fail(
    outcome.reason,
    tail.trim()
      ? `${outcome.message}\n--- log tail of pod ${outcome.pod} ---\n${tail.trim()}`
      : outcome.message,
  );
}

/** The save's result is complete and names this record's file. */
function verify(run: AwaitRun): StepResult {
  const file = `${SNAPSHOT_MOUNT_PATH}/${run.record.spec.storage.path}`;
  const check = checkSaveResult(run.outcome?.result, { snapshotId: run.record.metadata?.name ?? '', file });
  if (!check.ok) return fail(check.reason, check.message);
  run.result = check.result;
  return proceed;
}

async function ready(io: StepIo, run: AwaitRun): Promise<StepResult> {
  // Set by verify, which stops the flow when the result does not check out.
  const result = run.result as AgentResult;
  // A record naming a store is Ready only with its copy (or, best-effort, its failure): the
  // upload flow (await-upload.ts) takes over from the save's results written now.
  if (run.record.spec.objectStore) return startUpload(io, run.record, result, run.ctx, run.liveRevision);
  await markReady(io, run.record, result, run.ctx, run.liveRevision);
  return proceed;
}
