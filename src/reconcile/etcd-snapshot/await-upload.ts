// The flow of a record whose save was judged and whose copy goes to an object store
// (status.uploadJob is set, docs/object-store.md):
//   Upload (the Job created if missing) → its end judged → Ready with status.remote
// A failed copy fails the record with the upload's reason (`remote: required`, the default), or
// leaves it Ready with a RemoteCopyFailed condition (`remote: best-effort`). The save's results
// were written with status.uploadJob, before the upload Job was created: this flow never needs
// the save Job again, which may be gone (its TTL) by now.
import type { AgentResult, RemoteCopy } from '../../agent/contract.ts';
import type { Job } from '../../informers/resources.ts';
import type { Reason } from '../../reasons/reasons.ts';
import {
  ANNOTATION_TRACEPARENT,
  type EtcdSnapshot,
  type EtcdSnapshotStatus,
  type EtcdSnapshotStep,
  type RemoteCopyStatus,
} from '../../records/etcd-snapshot.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { jobName } from '../snapshot-records/names.ts';
import { fail, type Phase, proceed, requeueAfter, runPhases, type StepResult } from '../step.ts';
import { bounded } from './conditions.ts';
import { createSaveJob } from './job-create-failure.ts';
import { jobOutcome, ownedBy } from './job-outcome.ts';
import { buildUploadJob } from './job-spec.ts';
import { failRecord, putReady, reportStorage, savedStatus } from './status-writes.ts';
import type { StepIo } from './step-io.ts';

export const CONDITION_REMOTE_COPY_FAILED = 'RemoteCopyFailed';

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * After a verified save of a record naming a store: the save's results and the upload Job's name
 * in status (the intent, before the Job exists). The next reconcile runs awaitUpload.
 */
export async function startUpload(
  io: StepIo,
  record: EtcdSnapshot,
  result: AgentResult,
  ctx: ReconcileContext,
  liveRevision: number | undefined,
): Promise<StepResult> {
  const status: EtcdSnapshotStatus = {
    ...savedStatus(record, result, io.now(), liveRevision),
    phase: 'Running',
    step: 'Upload',
    uploadJob: jobName('upload', record.metadata?.name ?? ''),
  };
  await io.putStatus(record, status, ctx);
  reportStorage(io, record, result);
  return requeueAfter(io.options.pollIntervalMs);
}

interface UploadRun {
  readonly record: EtcdSnapshot;
  readonly ctx: ReconcileContext;
  job?: Job;
  remote?: RemoteCopyStatus;
  /** The agent's own upload time, from its result. */
  seconds?: number;
}

export async function awaitUpload(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const run: UploadRun = { record, ctx };
  const phases: Phase<EtcdSnapshotStep>[] = [
    { name: 'Upload', run: () => uploadJobPresent(io, run) },
    { name: 'Upload', run: () => uploadEnded(io, run) },
    {
      name: 'Ready',
      run: async () => {
        await putReady(io, record, { ...withoutRemoteFailure(record.status), remote: run.remote! }, ctx);
        const { sizeBytes: storedBytes, compression } = run.remote!;
        io.metrics.remoteCopy(record.spec.cluster.key, 'success', {
          seconds: run.seconds,
          storedBytes,
          compression,
        });
        return proceed;
      },
    },
  ];
  const outcome = await runPhases(phases);
  if (outcome.result.kind === 'requeue') return { requeueAfter: outcome.result.afterMs };
  if (outcome.result.kind === 'fail' && 'phase' in outcome) {
    const { reason, message } = outcome.result;
    io.metrics.remoteCopy(record.spec.cluster.key, reason);
    if (record.spec.objectStore?.mode === 'best-effort')
      await readyWithoutCopy(io, record, ctx, reason, message);
    else await failRecord(io, record, ctx, { reason, step: 'Upload', message });
  }
  return {};
}

async function uploadJobPresent(io: StepIo, run: UploadRun): Promise<StepResult> {
  const { record, ctx } = run;
  const name = record.status?.uploadJob ?? '';
  run.job = await io.currentJob(record.metadata?.namespace ?? '', name, ctx);
  if (run.job) return proceed;
  const traceparent = record.metadata?.annotations?.[ANNOTATION_TRACEPARENT];
  const created = await createSaveJob(io, record, buildUploadJob(io.options, record, traceparent), ctx);
  if (created.kind !== 'continue') return created;
  ctx.log.info({ job: name }, 'upload Job created');
  return requeueAfter(io.options.pollIntervalMs);
}

async function uploadEnded(io: StepIo, run: UploadRun): Promise<StepResult> {
  const { record, ctx } = run;
  const job = run.job as Job;
  // A Job of an earlier record of the same name, which the garbage collector is removing.
  if (!ownedBy(job, record)) return requeueAfter(io.options.pollIntervalMs);
  const namespace = record.metadata?.namespace ?? '';
  let outcome = jobOutcome(job, io.podsOf(record, 'upload'));
  if (outcome.state !== 'running' && outcome.result === undefined) {
    // The pod cache may trail the Job's: read the pods before judging without their result.
    outcome = jobOutcome(job, await io.api.listJobPods(namespace, job.metadata?.name ?? '', ctx.signal));
  }
  // The Job's activeDeadlineSeconds ends a stuck upload: the Job fails, judged below.
  if (outcome.state === 'running') return requeueAfter(io.options.pollIntervalMs);
  if (outcome.state === 'failed') return fail(outcome.reason, outcome.message);
  const checked = checkUploadResult(outcome.result);
  if (typeof checked === 'string') return fail('SNAPSHOT_STATUS_FAILED', checked);
  run.remote = checked;
  run.seconds = outcome.result?.durationSeconds;
  return proceed;
}

/** The upload's result must name a complete copy: where it is, its SHA-256 and size. */
export function checkUploadResult(result: AgentResult | undefined): RemoteCopyStatus | string {
  if (!result) return 'the upload Job succeeded but left no result in its termination message';
  if (result.operation !== 'upload') return `the result is of operation "${result.operation}", not upload`;
  if (!result.ok) return `the upload reported failure: ${result.error?.message ?? 'no message'}`;
  const remote: Partial<RemoteCopy> = result.remote ?? {};
  if (typeof remote.location !== 'string' || typeof remote.object !== 'string')
    return 'the upload result names no remote location';
  if (typeof remote.sha256 !== 'string' || !SHA256.test(remote.sha256))
    return `the upload result has no valid sha256 (got ${JSON.stringify(remote.sha256)})`;
  if (typeof remote.sizeBytes !== 'number' || !Number.isSafeInteger(remote.sizeBytes) || remote.sizeBytes < 0)
    return `the upload result's sizeBytes is ${JSON.stringify(remote.sizeBytes)}`;
  const copy: RemoteCopyStatus = {
    location: remote.location,
    object: remote.object,
    sha256: remote.sha256,
    sizeBytes: remote.sizeBytes,
    compression: remote.compression ?? 'none',
  };
  if (remote.keyId !== undefined) copy.keyId = remote.keyId;
  return copy;
}

function withoutRemoteFailure(status: EtcdSnapshotStatus | undefined): EtcdSnapshotStatus {
  const next: EtcdSnapshotStatus = { ...status };
  const conditions = (status?.conditions ?? []).filter((c) => c.type !== CONDITION_REMOTE_COPY_FAILED);
  if (conditions.length > 0) next.conditions = conditions;
  else delete next.conditions;
  return next;
}

/** best-effort: the local snapshot is good, so Ready; the condition and a Warning say the copy is not. */
async function readyWithoutCopy(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
  reason: Reason,
  message: string,
): Promise<void> {
  const status = withoutRemoteFailure(record.status);
  delete status.remote;
  status.conditions = [
    ...(status.conditions ?? []),
    {
      type: CONDITION_REMOTE_COPY_FAILED,
      status: 'True',
      reason,
      message: bounded(message),
      lastTransitionTime: io.now().toISOString(),
    },
  ];
  await putReady(io, record, status, ctx);
  await io.api.recordEvent(
    record,
    { type: 'Warning', reason: 'RemoteCopyFailed', message: `${reason}: ${bounded(message)}` },
    ctx.signal,
  );
}
