// The status writes that end a record's create: Failed (with its Warning Event) and Ready, each
// with its metric and one log line. Flows return a step result; the dispatch and the flows turn
// a `fail` into failRecord, so every failure is told the same way.
import type { AgentResult } from '../../agent/contract.ts';
import type { Reason } from '../../reasons/reasons.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus, EtcdSnapshotStep } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { ReconcileContext } from '../result.ts';
import { CONDITION_SAVE_TURN, withoutBlockingConditions } from './conditions.ts';
import type { StepIo } from './step-io.ts';

const MAX_MESSAGE = 2048;

export interface RecordFailure {
  reason: Reason;
  step: EtcdSnapshotStep;
  message: string;
  /** A group's record that took over another's failure names that record. */
  failedWith?: string;
}

/** Makes the record Failed: status, Warning Event, metric, log line. */
export async function failRecord(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
  failure: RecordFailure,
): Promise<void> {
  const now = io.now();
  const message =
    failure.message.length > MAX_MESSAGE ? `${failure.message.slice(0, MAX_MESSAGE)}…` : failure.message;
  const status: EtcdSnapshotStatus = {
    ...(record.status
      ? (withoutBlockingConditions(record.status, [CONDITION_SAVE_TURN]) ?? record.status)
      : {}),
    phase: 'Failed',
    readyToUse: false,
    step: failure.step,
    reason: failure.reason,
    message,
    finishedAt: now.toISOString(),
  };
  if (failure.failedWith) status.failedWith = failure.failedWith;
  await io.putStatus(record, status, ctx);
  await io.api.recordEvent(
    record,
    { type: 'Warning', reason: 'SnapshotFailed', message: `${failure.reason}: ${message}` },
    ctx.signal,
  );
  const seconds = durationSeconds(record, now);
  io.metrics.operationFinished({
    operation: 'create',
    status: failure.reason,
    cluster: record.spec.cluster.key,
    durationSeconds: seconds,
  });
  logStep(ctx.log, record, 'Failed', failure.step, seconds, failure.reason);
}

/**
 * The record's lastRevisionSeen: the newest revision the live cluster showed after the save
 * ended, never below the snapshot's own (a cluster that could not be read then leaves the
 * snapshot's revision, the least a restore must bump past).
 */
export function lastRevisionSeen(snapshotRevision: number, liveRevision: number | undefined): number {
  const live = liveRevision !== undefined && Number.isSafeInteger(liveRevision) ? liveRevision : 0;
  return Math.max(snapshotRevision, live);
}

/**
 * The record's status with what the save reported (checksum, size, revision …) and without the
 * waits' conditions: what Ready shows, and what an upload starts from.
 */
export function savedStatus(
  record: EtcdSnapshot,
  result: AgentResult,
  now: Date,
  liveRevision?: number,
): EtcdSnapshotStatus {
  const status: EtcdSnapshotStatus = {
    ...record.status,
    creationTime: result.createdAt ?? now.toISOString(),
    backupPath: record.spec.storage.path,
  };
  delete status.reason;
  delete status.message;
  delete status.conditions;
  if (result.sizeBytes !== undefined) status.sizeBytes = result.sizeBytes;
  if (result.sha256 !== undefined) status.checksumSha256 = result.sha256;
  if (result.revision !== undefined) {
    status.revision = result.revision;
    status.lastRevisionSeen = lastRevisionSeen(result.revision, liveRevision);
  }
  if (result.etcdVersion !== undefined) status.etcdVersion = result.etcdVersion;
  if (result.member !== undefined) status.sourceMember = result.member;
  if (result.totalKeys !== undefined) status.totalKeys = result.totalKeys;
  if (result.keyCount !== undefined) status.keyCount = result.keyCount;
  return status;
}

/** The claim's usage the save saw: a gauge of the claim, written when the save is judged. */
export function reportStorage(io: StepIo, record: EtcdSnapshot, result: AgentResult): void {
  if (result.storage === undefined) return;
  const { usedBytes, availableBytes } = result.storage;
  io.metrics.storageUsage(
    record.spec.cluster.namespace,
    record.spec.storage.claimName,
    usedBytes,
    availableBytes,
  );
}

/** Makes the record Ready with what the save reported; its metrics and log line. */
export async function markReady(
  io: StepIo,
  record: EtcdSnapshot,
  result: AgentResult,
  ctx: ReconcileContext,
  liveRevision?: number,
): Promise<void> {
  await putReady(io, record, savedStatus(record, result, io.now(), liveRevision), ctx);
  reportStorage(io, record, result);
}

/** Writes `status` as Ready (phase, readyToUse, step, finishedAt), with the metrics and log line. */
export async function putReady(
  io: StepIo,
  record: EtcdSnapshot,
  status: EtcdSnapshotStatus,
  ctx: ReconcileContext,
): Promise<void> {
  const now = io.now();
  await io.putStatus(
    record,
    { ...status, phase: 'Ready', readyToUse: true, step: 'Ready', finishedAt: now.toISOString() },
    ctx,
  );
  const cluster = record.spec.cluster.key;
  const seconds = durationSeconds(record, now);
  io.metrics.operationFinished({ operation: 'create', status: 'success', cluster, durationSeconds: seconds });
  if (status.sizeBytes !== undefined) io.metrics.snapshotSize(cluster, status.sizeBytes);
  logStep(ctx.log, record, 'Ready', 'Ready', seconds);
}

/** One line per step a create reached: what the log pipeline counts and alerts on. */
export function logStep(
  log: Logger,
  record: EtcdSnapshot,
  status: string,
  step: EtcdSnapshotStep,
  seconds: number,
  reason?: Reason,
): void {
  log.info(
    {
      snapshot_id: record.metadata?.name,
      cluster_name: record.spec.cluster.key,
      operation: 'create',
      status,
      step,
      duration_seconds: Math.round(seconds * 1000) / 1000,
      ...(reason ? { reason } : {}),
    },
    `snapshot ${status.toLowerCase()} (${step})`,
  );
}

/** Seconds since the record was created (0 when it has no timestamp). */
export function durationSeconds(record: EtcdSnapshot, now: Date): number {
  const from = Date.parse(record.metadata?.creationTimestamp ?? '');
  return Number.isNaN(from) ? 0 : Math.max(0, (now.getTime() - from) / 1000);
}
