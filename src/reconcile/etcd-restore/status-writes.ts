// The status writes of a restore: a phase transition (status, Normal Event, the phase's span, the
// phase gauge) and the end of a failed phase (Failed, or RollingBack once any data was swapped,
// with a Warning Event). Every flow moves a restore the same way.
import type { EtcdRestore, EtcdRestorePhase, EtcdRestoreStatus } from '../../records/etcd-restore.ts';
import { CONDITION_RESTORE_WAITING, restoreClusterKey } from '../../records/etcd-restore.ts';
import type { ReconcileContext } from '../result.ts';
import type { RestoreIo } from './restore-io.ts';
import { recordPhaseSpan } from './tracing.ts';

const MAX_MESSAGE = 2048;
export const CONDITION_WAITING = CONDITION_RESTORE_WAITING;
export const CONDITION_SUCCEEDED = 'Succeeded';

export const bounded = (text: string, max = MAX_MESSAGE) =>
  text.length > max ? `${text.slice(0, max)}…` : text;

type Condition = NonNullable<EtcdRestoreStatus['conditions']>[number];

function withCondition(status: EtcdRestoreStatus, condition: Condition): EtcdRestoreStatus {
  return {
    ...status,
    conditions: [...(status.conditions ?? []).filter((c) => c.type !== condition.type), condition],
  };
}

function withoutCondition(status: EtcdRestoreStatus, type: string): EtcdRestoreStatus {
  const conditions = (status.conditions ?? []).filter((c) => c.type !== type);
  const next: EtcdRestoreStatus = { ...status, conditions };
  if (conditions.length === 0) delete next.conditions;
  return next;
}

/** Moves the restore to `phase` with the given status fields; the ended phase gets its span. */
export async function transition(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
  phase: EtcdRestorePhase,
  fields: Partial<EtcdRestoreStatus>,
  message: string,
): Promise<EtcdRestore> {
  const now = io.now().toISOString();
  const previous = restore.status?.phase ?? 'Pending';
  let status: EtcdRestoreStatus = withoutCondition(
    { ...(restore.status ?? {}), ...fields, phase, phaseStartedAt: now },
    CONDITION_WAITING,
  );
  status.startedAt ??= now;
  status.observedGeneration = restore.metadata?.generation ?? 0;
  if (phase === 'Completed')
    status = withCondition(
      { ...status, finishedAt: now },
      {
        type: CONDITION_SUCCEEDED,
        status: 'True',
        reason: 'Restored',
        message: bounded(message, 1024),
        lastTransitionTime: now,
      },
    );
  const written = await io.putStatus(restore, status, ctx);
  recordPhaseSpan(restore, previous, restore.status?.phaseStartedAt);
  io.metrics.restorePhase(restore.metadata?.name ?? '', restoreClusterKey(restore), phase);
  await io.api.recordEvent(
    written,
    { type: 'Normal', reason: phase, message: bounded(message, 1024) },
    ctx.signal,
  );
  ctx.log.info({ restore: restore.metadata?.name, from: previous, to: phase }, message);
  if (phase === 'Completed') finished(io, written, 'success');
  return written;
}

/** A condition saying what the restore waits for (kept with its first time while the cause holds). */
export async function waiting(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
  reason: string,
  message: string,
): Promise<void> {
  const status = restore.status ?? {};
  const current = status.conditions?.find((c) => c.type === CONDITION_WAITING);
  const text = bounded(message, 1024);
  if (current?.reason === reason && current.message === text) return;
  const since =
    current?.reason === reason
      ? (current.lastTransitionTime ?? io.now().toISOString())
      : io.now().toISOString();
  const next = withCondition(
    { ...status, phase: status.phase ?? 'Validating' },
    { type: CONDITION_WAITING, status: 'True', reason, message: text, lastTransitionTime: since },
  );
  await io.putStatus(restore, next, ctx);
}

/**
 * A phase failed: before any data was swapped the restore is Failed (the cluster was already
 * started as it was, by the caller); after, it rolls back and stays RollingBack until the old
 * data is back. Warning Event, span, log line; the metric when the restore ends here.
 */
export async function failPhase(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
  failure: { reason: string; message: string },
): Promise<EtcdRestore> {
  const now = io.now().toISOString();
  const failedPhase = restore.status?.phase ?? 'Validating';
  const rollBack = restore.status?.swapStarted === true;
  const phase: EtcdRestorePhase = rollBack ? 'RollingBack' : 'Failed';
  const message = bounded(failure.message);
  let status: EtcdRestoreStatus = withoutCondition(
    { ...(restore.status ?? {}), phase, reason: failure.reason, message, failedPhase, phaseStartedAt: now },
    CONDITION_WAITING,
  );
  status.startedAt ??= now;
  if (!rollBack) {
    status.finishedAt = now;
    status = withCondition(status, {
      type: CONDITION_SUCCEEDED,
      status: 'False',
      reason: failure.reason,
      message: bounded(message, 1024),
      lastTransitionTime: now,
    });
  }
  // Nothing was swapped: the cluster starts as it was before anything else is written.
  const s = restore.status ?? {};
  if (!rollBack && s.recordedReplicas !== undefined && s.statefulSet)
    await io.api.scaleStatefulSet(
      restore.metadata?.namespace ?? '',
      s.statefulSet,
      s.recordedReplicas,
      ctx.signal,
    );
  const written = await io.putStatus(restore, status, ctx);
  recordPhaseSpan(restore, failedPhase, restore.status?.phaseStartedAt, `${failure.reason}: ${message}`);
  io.metrics.restorePhase(restore.metadata?.name ?? '', restoreClusterKey(restore), phase);
  await io.api.recordEvent(
    written,
    {
      type: 'Warning',
      reason: rollBack ? 'RestoreRollingBack' : 'RestoreFailed',
      message: bounded(`${failure.reason} in ${failedPhase}: ${message}`, 1024),
    },
    ctx.signal,
  );
  ctx.log.warn({ restore: restore.metadata?.name, phase: failedPhase, reason: failure.reason }, message);
  if (!rollBack) finished(io, written, failure.reason);
  return written;
}

/** The metric of a restore that ended. */
export function finished(io: RestoreIo, restore: EtcdRestore, status: string): void {
  const started = Date.parse(restore.status?.startedAt ?? '');
  const seconds = Number.isFinite(started) ? Math.max(0, (io.now().getTime() - started) / 1000) : 0;
  io.metrics.restoreFinished({ status, cluster: restoreClusterKey(restore), durationSeconds: seconds });
}
