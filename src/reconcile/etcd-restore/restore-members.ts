// RestoreMembers: one agent `restore` Job per member. Every Job's name and swapStarted are
// written in ONE status write before the first Job is created: from then on any failure rolls
// back (a Job may have swapped its member's data), and a crash finds every Job again by name.
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { runJob } from './job-run.ts';
import { buildMemberJob, memberJobName } from './jobs.ts';
import type { RestoreIo } from './restore-io.ts';
import { failPhase, transition } from './status-writes.ts';

export async function restoreMembers(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const name = restore.metadata?.name ?? '';
  let current = restore;
  const members = current.status?.members ?? [];
  if (!current.status?.swapStarted || members.some((m) => !m.job)) {
    current = await io.putStatus(
      current,
      {
        ...(current.status ?? {}),
        swapStarted: true,
        members: members.map((m) => ({ ...m, job: memberJobName('restore', name, m.name) })),
      },
      ctx,
    );
  }
  const runs = [];
  for (const member of current.status?.members ?? []) {
    const run = await runJob(io, current, ctx, () => buildMemberJob(io.options, current, 'restore', member));
    runs.push({ member: member.name, run });
  }
  // Judged only once every member's Job has ended: a rollback started while a sibling still runs
  // would put old data back under a member that swaps new data in afterwards.
  if (runs.some((r) => r.run.state === 'running')) return { requeueAfter: io.options.pollIntervalMs };
  const failed = runs.filter((r) => r.run.state === 'failed');
  if (failed.length > 0) {
    const message = failed
      .map((f) => (f.run.state === 'failed' ? `member ${f.member}: ${f.run.reason}: ${f.run.message}` : ''))
      .join('; ');
    const reason = failed[0]!.run.state === 'failed' ? failed[0]!.run.reason : 'RESTORE_FAILED';
    await failPhase(io, current, ctx, { reason, message });
    return { requeueAfter: 0 };
  }
  await transition(
    io,
    current,
    ctx,
    'Starting',
    {
      members: (current.status?.members ?? []).map((m) => ({ ...m, state: 'Restored' as const })),
    },
    `restored the data of ${runs.length} members (old data kept beside each as .pre-restore-${current.metadata?.uid})`,
  );
  return { requeueAfter: 0 };
}
