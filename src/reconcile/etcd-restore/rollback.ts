// RollingBack: a failure after any member's data was swapped. The cluster is stopped again, each
// member's old data dir is put back by an agent rollback Job (a member that was never swapped
// reports nothing-to-roll-back), and the StatefulSet is scaled back to its recorded replicas:
// the cluster runs as it was → RolledBack. A rollback that cannot finish leaves the cluster
// stopped (never a half-old, half-new cluster) and the restore Failed, saying so.
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import { restoreClusterKey } from '../../records/etcd-restore.ts';
import { jobFinished } from '../jobs/job-state.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { runJob } from './job-run.ts';
import { buildMemberJob, memberJobName } from './jobs.ts';
import { scaleDown } from './quiesce.ts';
import type { RestoreIo } from './restore-io.ts';
import { bounded, CONDITION_SUCCEEDED, CONDITION_WAITING, finished, waiting } from './status-writes.ts';
import { recordPhaseSpan } from './tracing.ts';

export async function rollBack(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  // Every member's old data is back (written before the scale-up): a crash after it only scales
  // up again and writes the end, never stopping the cluster running on its old data a second time.
  if (restore.status?.previousDataBack) return startAsItWas(io, restore, ctx);
  let current = restore;
  const left = await scaleDown(io, current, ctx);
  if (left.length > 0) {
    await waiting(
      io,
      current,
      ctx,
      'PodsTerminating',
      `rolling back: waiting for pods ${left.join(', ')} to be gone`,
    );
    return { requeueAfter: 2_000 };
  }
  const name = current.metadata?.name ?? '';
  const members = current.status?.members ?? [];
  // A member's restore Job that has not ended (a pod in ImagePullBackOff is judged failed while its
  // Job lives on) could still swap new data in after the rollback put the old data back: wait until
  // every one has ended; its activeDeadlineSeconds bounds the wait.
  const namespace = current.metadata?.namespace ?? '';
  for (const m of members) {
    const job = m.job ? await io.currentJob(namespace, m.job, ctx) : undefined;
    if (job && !jobFinished(job)) {
      await waiting(io, current, ctx, 'RestoreJobsRunning', `rolling back: waiting for Job ${m.job} to end`);
      return { requeueAfter: io.options.pollIntervalMs };
    }
  }
  if (members.some((m) => !m.rollbackJob))
    current = await io.putStatus(
      current,
      {
        ...(current.status ?? {}),
        members: members.map((m) => ({ ...m, rollbackJob: memberJobName('rollback', name, m.name) })),
      },
      ctx,
    );
  const runs = [];
  for (const m of current.status?.members ?? [])
    runs.push({
      member: m.name,
      run: await runJob(io, current, ctx, () => buildMemberJob(io.options, current, 'rollback', m)),
    });
  if (runs.some((r) => r.run.state === 'running')) return { requeueAfter: io.options.pollIntervalMs };
  const failed = runs.filter((r) => r.run.state === 'failed');
  const s = current.status ?? {};
  const now = io.now().toISOString();
  if (failed.length > 0) {
    const why = failed
      .map((f) => (f.run.state === 'failed' ? `member ${f.member}: ${f.run.reason}: ${f.run.message}` : ''))
      .join('; ');
    return end(
      io,
      current,
      ctx,
      {
        ...s,
        phase: 'Failed',
        message: bounded(
          `${s.message ?? ''} — the rollback failed too, the StatefulSet stays at 0 replicas: ${why}`,
        ),
        finishedAt: now,
      },
      'RollbackFailed',
    );
  }
  current = await io.putStatus(
    current,
    {
      ...s,
      previousDataBack: true,
      members: (s.members ?? []).map((m) => ({ ...m, state: 'RolledBack' as const })),
    },
    ctx,
  );
  return startAsItWas(io, current, ctx);
}

/** The StatefulSet back to its recorded replicas (idempotent), then RolledBack. */
async function startAsItWas(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const s = restore.status ?? {};
  const replicas = s.recordedReplicas ?? s.members?.length ?? 1;
  await io.api.scaleStatefulSet(restore.metadata?.namespace ?? '', s.statefulSet ?? '', replicas, ctx.signal);
  return end(
    io,
    restore,
    ctx,
    {
      ...s,
      phase: 'RolledBack',
      message: bounded(
        `${s.message ?? ''} — rolled back: the old data is back and the StatefulSet runs ${replicas} replicas again`,
      ),
      finishedAt: io.now().toISOString(),
    },
    'RestoreRolledBack',
  );
}

async function end(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
  status: NonNullable<EtcdRestore['status']>,
  event: string,
): Promise<ReconcileResult> {
  const at = status.finishedAt ?? io.now().toISOString();
  const succeeded = {
    type: CONDITION_SUCCEEDED,
    status: 'False' as const,
    reason: status.reason ?? 'RESTORE_FAILED',
    message: bounded(status.message ?? '', 1024),
    lastTransitionTime: at,
  };
  const conditions = [
    ...(status.conditions ?? []).filter(
      (c) => c.type !== CONDITION_SUCCEEDED && c.type !== CONDITION_WAITING,
    ),
    succeeded,
  ];
  const written = await io.putStatus(restore, { ...status, conditions, phaseStartedAt: at }, ctx);
  recordPhaseSpan(
    restore,
    'RollingBack',
    restore.status?.phaseStartedAt,
    status.phase === 'Failed' ? status.message : undefined,
  );
  io.metrics.restorePhase(restore.metadata?.name ?? '', restoreClusterKey(restore), status.phase ?? 'Failed');
  await io.api.recordEvent(
    written,
    { type: 'Warning', reason: event, message: bounded(status.message ?? '', 1024) },
    ctx.signal,
  );
  finished(io, written, status.reason ?? 'RESTORE_FAILED');
  return {};
}
