// VerifyResult, then Complete: the started cluster must reach quorum with one leader, list
// exactly the intended members, be at a revision ≥ the snapshot's + the bump, and every member
// must hold the snapshot's key count at the restored revision (fail closed on an empty result). Waiting for it is a requeue,
// bounded; a failure rolls back. Once verified (status.result), Complete restarts the selected
// consumer pods (once) and, with keepPreviousData=false, drops the kept old data.
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { fail, type StepFailure } from '../step.ts';
import { runJob } from './job-run.ts';
import { buildMemberJob, memberJobName } from './jobs.ts';
import { liveAccess } from './live-credentials.ts';
import type { RestoreIo } from './restore-io.ts';
import { judgeResult } from './result-judge.ts';
import { failPhase, transition, waiting } from './status-writes.ts';

const isFailure = (x: unknown): x is StepFailure => (x as StepFailure | undefined)?.kind === 'fail';

export async function verifyResult(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  if (restore.status?.result) return complete(io, restore, ctx);
  const s = restore.status ?? {};
  const revision = s.snapshot?.revision ?? 0;
  const bump = s.revisionBump ?? 0;
  const look = await lookAt(io, restore, ctx, revision + bump);
  if (isFailure(look)) {
    await failPhase(io, restore, ctx, look);
    return { requeueAfter: 0 };
  }
  if (look.verdict === 'wait') {
    const since = Date.parse(s.phaseStartedAt ?? '') || io.now().getTime();
    if (io.now().getTime() - since > io.options.verifyResultTimeoutMs) {
      await failPhase(
        io,
        restore,
        ctx,
        fail(
          'RESTORE_VERIFICATION_FAILED',
          `the restored cluster did not pass within ${Math.round(io.options.verifyResultTimeoutMs / 1000)}s: ${look.why}`,
        ),
      );
      return { requeueAfter: 0 };
    }
    await waiting(io, restore, ctx, 'ClusterStarting', `waiting for the restored cluster: ${look.why}`);
    return { requeueAfter: Math.min(io.options.pollIntervalMs, 2_000) };
  }
  const written = await io.putStatus(
    restore,
    {
      ...s,
      result: { revision: look.revision, totalKeys: look.keys, leader: look.leader },
    },
    ctx,
  );
  return complete(io, written, ctx);
}

async function lookAt(io: RestoreIo, restore: EtcdRestore, ctx: ReconcileContext, at: number) {
  const access = await liveAccess(io, restore, ctx);
  if (isFailure(access)) return access;
  if (access.endpoints.length === 0) return { verdict: 'wait' as const, why: 'no member pod runs yet' };
  try {
    const view = await io.probe(access.endpoints, access.credentials, {
      signal: ctx.signal,
      timeoutMs: io.options.probeTimeoutMs,
      countAtRevision: at,
    });
    return judgeResult(
      view,
      restore.status?.members ?? [],
      restore.status?.snapshot?.revision ?? 0,
      restore.status?.revisionBump ?? 0,
      restore.status?.snapshot?.keyCount,
    );
  } catch (err) {
    ctx.signal.throwIfAborted();
    return { verdict: 'wait' as const, why: (err as Error).message };
  }
}

async function complete(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  let current = restore;
  const options = current.spec.options ?? {};
  const selector = options.restartPods?.matchLabels;
  if (selector && Object.keys(selector).length > 0 && !current.status?.restartedPods) {
    const deleted = await io.api.deletePods(current.metadata?.namespace ?? '', selector, ctx.signal);
    current = await io.putStatus(current, { ...(current.status ?? {}), restartedPods: deleted }, ctx);
  }
  let note = '';
  if (options.keepPreviousData === false) {
    const name = current.metadata?.name ?? '';
    const members = current.status?.members ?? [];
    if (members.some((m) => !m.dropJob))
      current = await io.putStatus(
        current,
        {
          ...(current.status ?? {}),
          members: members.map((m) => ({ ...m, dropJob: memberJobName('drop', name, m.name) })),
        },
        ctx,
      );
    const runs = [];
    for (const m of current.status?.members ?? [])
      runs.push({
        member: m.name,
        run: await runJob(io, current, ctx, () => buildMemberJob(io.options, current, 'drop', m)),
      });
    if (runs.some((r) => r.run.state === 'running')) return { requeueAfter: io.options.pollIntervalMs };
    const failed = runs.filter((r) => r.run.state === 'failed');
    // The restore itself succeeded: old data left behind is reported, never a rollback.
    if (failed.length > 0)
      note = `; the old data of ${failed.map((f) => f.member).join(', ')} could not be dropped (see their drop Jobs)`;
    else note = '; the old data dirs were dropped';
  }
  const r = current.status?.result;
  await transition(
    io,
    current,
    ctx,
    'Completed',
    {
      members: (current.status?.members ?? []).map((m) => ({
        ...m,
        state:
          options.keepPreviousData === false && !note.includes('could not')
            ? ('PreviousDropped' as const)
            : ('Restored' as const),
      })),
    },
    `restored: revision ${r?.revision}, ${r?.totalKeys} keys on every member, leader ${r?.leader}${note}`,
  );
  return {};
}
