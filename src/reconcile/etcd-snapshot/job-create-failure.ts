// A save Job the API server refuses (401/403: credentials, RBAC, a ResourceQuota, an admission
// policy; 400/422: a rejected spec; 404: the namespace is gone) is not waited on forever. The
// first refusal sets JobCreated=False (reason JOB_CREATION_FAILED, the API's message) on the
// record, so the stall is visible; the create is tried again every JOB_CREATE_RETRY_MS until the
// window (the pipeline option jobCreateRetryWindowMs, JOB_CREATE_RETRY_WINDOW_MS by default) has
// passed since that first refusal (the condition's lastTransitionTime), then the record fails
// with JOB_CREATION_FAILED. An API that does not answer (429, 5xx, network) is no refusal: that
// error goes to the controller's backoff, as every other API failure does.

import type { Job } from '../../informers/resources.ts';
import { apiErrorKind } from '../../kube/api-errors.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import { fail, proceed, requeueAfter, type StepResult } from '../step.ts';
import {
  bounded,
  CONDITION_JOB_CREATED,
  conditionOf,
  withBlockingCondition,
  withoutBlockingConditions,
} from './conditions.ts';
import type { StepIo } from './step-io.ts';

export const REASON_JOB_CREATION_FAILED = 'JOB_CREATION_FAILED';
/** How long refusals are retried after the first one by default: time to lift a quota. */
export const JOB_CREATE_RETRY_WINDOW_MS = 60_000;
/** The pause between two attempts: with the default window, at most 13 attempts per save. */
export const JOB_CREATE_RETRY_MS = 5_000;
const MAX_API_MESSAGE = 512;

export type JobCreateVerdict =
  /** Not a refusal: rethrow (the controller backs off). */
  | { kind: 'not-refused' }
  /** Refused within the window: write `status` when set, try again after `retryAfterMs`. */
  | { kind: 'retry'; status: EtcdSnapshotStatus | undefined; retryAfterMs: number }
  /** Refused past the window: the record fails with this message. */
  | { kind: 'fail'; message: string };

export function isRefusal(err: unknown): boolean {
  const kind = apiErrorKind(err);
  return kind === 'forbidden' || kind === 'invalid' || kind === 'not-found' || kind === 'unauthorized';
}

export function judgeJobCreateError(
  err: unknown,
  jobName: string,
  status: EtcdSnapshotStatus | undefined,
  now: Date,
  windowMs = JOB_CREATE_RETRY_WINDOW_MS,
): JobCreateVerdict {
  if (!isRefusal(err)) return { kind: 'not-refused' };
  const apiMessage = bounded(err instanceof Error ? err.message : String(err), MAX_API_MESSAGE);
  const since = Date.parse(conditionOf(status, CONDITION_JOB_CREATED)?.lastTransitionTime ?? '');
  const firstRefusal = Number.isNaN(since) || conditionOf(status, CONDITION_JOB_CREATED)?.status !== 'False';
  const elapsed = firstRefusal ? 0 : now.getTime() - since;
  if (elapsed >= windowMs) {
    return {
      kind: 'fail',
      message: `the API refused to create save Job ${jobName} for ${Math.round(elapsed / 1000)}s: ${apiMessage}`,
    };
  }
  const message = `the API refuses to create save Job ${jobName} (retried every ${JOB_CREATE_RETRY_MS / 1000}s, final after ${Math.round(windowMs / 1000)}s): ${apiMessage}`;
  const same = conditionOf(status, CONDITION_JOB_CREATED)?.message === bounded(message);
  return {
    kind: 'retry',
    status: same
      ? undefined
      : withBlockingCondition(status ?? {}, CONDITION_JOB_CREATED, REASON_JOB_CREATION_FAILED, message, now),
    retryAfterMs: JOB_CREATE_RETRY_MS,
  };
}

/**
 * Creates the save Job of `record` (whose status names it): `continue` once the Job exists. A
 * refusal is a requeue for a bounded time, then a `fail` with JOB_CREATION_FAILED.
 */
export async function createSaveJob(
  io: StepIo,
  record: EtcdSnapshot,
  job: Job,
  ctx: ReconcileContext,
): Promise<StepResult> {
  ctx.assertOwner();
  try {
    await io.api.createJob(job, ctx.signal);
  } catch (err) {
    ctx.signal.throwIfAborted();
    const name = job.metadata?.name ?? '';
    const verdict = judgeJobCreateError(
      err,
      name,
      record.status,
      io.now(),
      io.options.jobCreateRetryWindowMs,
    );
    if (verdict.kind === 'not-refused') throw err;
    if (verdict.kind === 'fail') return fail(REASON_JOB_CREATION_FAILED, verdict.message);
    ctx.log.warn({ job: name, err }, 'the API refused the save Job; trying again');
    if (verdict.status) await io.putStatus(record, verdict.status, ctx);
    return requeueAfter(verdict.retryAfterMs);
  }
  // Created after refusals: the record no longer says it is refused.
  const cleared = record.status && withoutBlockingConditions(record.status, [CONDITION_JOB_CREATED]);
  if (cleared) await io.putStatus(record, cleared, ctx);
  return proceed;
}
