// The flows that remove a record's files before its finalizer goes:
//   Failed       → Cleanup: a failed record keeps nothing
//   being deleted → Delete: the save stops, the delete Job removes the directory
// and, for a record whose copy went to an object store, the remote copy too (one Job: job-spec.ts).
// Both are one phase, removeFiles, a requeue until the files are gone (a failed delete backs off,
// with a FilesRemoved=False condition naming why: delete-blocked.ts); then the finalizer is
// released. Retain never reaches here: the CO does not call DeleteSnapshot for it.
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { FINALIZER_BACKUP_FILE } from '../../records/etcd-snapshot.ts';
import { jobFinished } from '../jobs/job-state.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { jobName, snapshotDir } from '../snapshot-records/names.ts';
import { proceed, requeueAfter, type StepContinue, type StepRequeue } from '../step.ts';
import { deleteBlocked } from './delete-blocked.ts';
import { jobOutcome, ownedBy, podActive } from './job-outcome.ts';
import { buildDeleteJob, remoteCopyMayExist } from './job-spec.ts';
import { durationSeconds, logStep } from './status-writes.ts';
import type { StepIo } from './step-io.ts';
import { checkStoreSecret } from './store-secrets.ts';
import { inStepSpan } from './tracing.ts';

/** A failed record keeps nothing: its save stops, its files go, then its finalizer. */
export async function cleanupFailed(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  if (!record.metadata?.finalizers?.includes(FINALIZER_BACKUP_FILE)) return {};
  const step = await inStepSpan(record, 'Cleanup', async () => removeFiles(io, record, ctx));
  if (step.kind === 'requeue') return { requeueAfter: step.afterMs };
  ctx.assertOwner();
  await io.api.removeFinalizer(record, FINALIZER_BACKUP_FILE, ctx.signal);
  logStep(ctx.log, record, 'Failed', 'Cleanup', durationSeconds(record, io.now()));
  return {};
}

export async function deletion(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  if (!record.metadata?.finalizers?.includes(FINALIZER_BACKUP_FILE)) return {};
  const started = Date.parse(record.metadata?.deletionTimestamp ?? '');
  const step = await inStepSpan(record, 'Delete', async () => removeFiles(io, record, ctx));
  if (step.kind === 'requeue') return { requeueAfter: step.afterMs };
  ctx.assertOwner();
  await io.api.removeFinalizer(record, FINALIZER_BACKUP_FILE, ctx.signal);
  const seconds = Number.isNaN(started) ? 0 : Math.max(0, (io.now().getTime() - started) / 1000);
  io.metrics.operationFinished({
    operation: 'delete',
    status: 'success',
    cluster: record.spec.cluster.key,
    durationSeconds: seconds,
  });
  ctx.log.info(
    {
      snapshot_id: record.metadata?.name,
      cluster_name: record.spec.cluster.key,
      operation: 'delete',
      status: 'Deleted',
      duration_seconds: seconds,
    },
    'snapshot files removed; finalizer released',
  );
  return {};
}

/**
 * Stops the record's save and upload and removes its directory: their Jobs are deleted and pods must
 * have stopped (a pod still writing would leave a file behind), then the delete Job runs to
 * success. Reads the API, not the caches, for the save: a Job created a moment ago must not be
 * missed. Done at once when no save ever started (no file can exist). Never fails (its type
 * says so): a failed delete Job is told (Event, metric) and tried again.
 */
async function removeFiles(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<StepContinue | StepRequeue> {
  const { api, options } = io;
  if (!record.status?.saveJob && !record.status?.backupPath) return proceed;
  const namespace = record.metadata?.namespace ?? '';
  const recordName = record.metadata?.name ?? '';
  const saveName = record.status?.saveJob ?? jobName('save', recordName);
  const wait = requeueAfter(Math.min(2_000, options.pollIntervalMs));

  // The upload too: one still running would read a file being removed, or copy a snapshot
  // whose deletion was asked for.
  // And a scheduled verify of the copy, which would read objects being deleted.
  const others = [record.status?.uploadJob, record.status?.remoteVerifyJob].filter(
    (n): n is string => n !== undefined,
  );
  for (const name of [saveName, ...others]) {
    const job = await api.getJob(namespace, name, ctx.signal);
    if (job && ownedBy(job, record) && !jobFinished(job) && !job.metadata?.deletionTimestamp) {
      ctx.assertOwner();
      await api.deleteJob(namespace, name, ctx.signal);
      ctx.log.info({ job: name }, 'stopped the Job');
    }
    const pods = await api.listJobPods(namespace, name, ctx.signal);
    if (pods.some(podActive)) return wait;
  }

  // The delete Job removes a whole directory: only ever one that is this record's own (a path
  // of another layout could name a directory other snapshots share).
  const ownDir = snapshotDir(record.spec.storage.path);
  const dir = ownDir?.endsWith(recordName) ? ownDir : undefined;
  if (dir === undefined) {
    await api.recordEvent(
      record,
      {
        type: 'Warning',
        reason: 'SnapshotFileNotRemoved',
        message: `path ${record.spec.storage.path} is not in a directory of its own; left in place`,
      },
      ctx.signal,
    );
    if (!remoteCopyMayExist(record)) return proceed;
  }
  const deleteName = jobName('delete', recordName);
  const del = await io.currentJob(namespace, deleteName, ctx);
  if (!del) {
    // The store Secret is mounted by the Job: a missing or invalid one would leave its pod
    // waiting for the volume, silently, until the Job's deadline.
    const store = remoteCopyMayExist(record) ? await checkStoreSecret(io, record, ctx) : proceed;
    if (store.kind === 'fail') {
      return requeueAfter(await deleteBlocked(io, record, ctx, store.reason, store.message));
    }
    ctx.assertOwner();
    await api.createJob(buildDeleteJob(options, record, dir), ctx.signal);
    return wait;
  }
  if (!ownedBy(del, record)) return wait;
  let outcome = jobOutcome(del, io.podsOf(record, 'delete'));
  if (outcome.state === 'failed' && outcome.result === undefined) {
    // The pod cache may trail the Job's: read the pods for the agent's reason.
    outcome = jobOutcome(del, await api.listJobPods(namespace, deleteName, ctx.signal));
  }
  if (outcome.state === 'running') return wait;
  if (outcome.state === 'failed') {
    const delay = await deleteBlocked(io, record, ctx, outcome.reason, outcome.message);
    // A new delete Job after the pause: removing a directory and a remote copy is safe to repeat.
    ctx.assertOwner();
    await api.deleteJob(namespace, deleteName, ctx.signal);
    return requeueAfter(delay);
  }
  return proceed;
}
