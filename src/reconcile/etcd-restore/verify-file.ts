// VerifyFile: an agent `verify` Job re-reads the backup file (SHA-256 of the whole file, etcd's
// trailer, etcdutl's status) and its SHA-256 must equal the record's, before anything destructive.
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { runJob } from './job-run.ts';
import { buildVerifyJob, verifyJobName } from './jobs.ts';
import type { RestoreIo } from './restore-io.ts';
import { failPhase, transition } from './status-writes.ts';

export async function verifyFile(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  let current = restore;
  const name = verifyJobName(restore.metadata?.name ?? '');
  if (current.status?.verifyJob !== name)
    current = await io.putStatus(current, { ...(current.status ?? {}), verifyJob: name }, ctx);
  const run = await runJob(io, current, ctx, () => buildVerifyJob(io.options, current));
  if (run.state === 'running') return { requeueAfter: io.options.pollIntervalMs };
  if (run.state === 'failed') {
    await failPhase(io, current, ctx, {
      reason: run.reason,
      message: `the backup file failed its re-read: ${run.message}`,
    });
    return {};
  }
  const expected = current.status?.snapshot?.checksumSha256 ?? '';
  const got = run.result?.sha256;
  if (!run.result?.ok || got !== expected) {
    await failPhase(io, current, ctx, {
      reason: 'CHECKSUM_MISMATCH',
      message: `the backup file ${current.status?.snapshot?.path} reads with SHA-256 ${got ?? '(none reported)'}, the record ${current.status?.snapshot?.record} holds ${expected}`,
    });
    return {};
  }
  await transition(
    io,
    current,
    ctx,
    'Quiescing',
    {},
    `the backup file re-read: SHA-256 ${expected} and etcd's trailer match`,
  );
  return { requeueAfter: 0 };
}
