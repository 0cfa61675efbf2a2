// Start: the StatefulSet back to the replicas recorded before Quiesce.
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import type { RestoreIo } from './restore-io.ts';
import { transition } from './status-writes.ts';

export async function start(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const replicas = restore.status?.recordedReplicas ?? restore.status?.members?.length ?? 1;
  const setName = restore.status?.statefulSet ?? '';
  await io.api.scaleStatefulSet(restore.metadata?.namespace ?? '', setName, replicas, ctx.signal);
  await transition(
    io,
    restore,
    ctx,
    'VerifyingResult',
    {},
    `StatefulSet ${setName} scaled back to ${replicas}`,
  );
  return { requeueAfter: io.options.pollIntervalMs };
}
