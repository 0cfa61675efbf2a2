// Quiesce: the StatefulSet's replicas are recorded in status FIRST (Start and any rollback scale
// back to them), then it is scaled to 0, then the restore waits — a requeue, never a block —
// until the API server has none of the members' pods. Nothing of the data is touched yet.
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import type { RestoreIo } from './restore-io.ts';
import { failPhase, transition, waiting } from './status-writes.ts';

/** How often a scale-down is looked at while pods terminate (pod events wake it sooner). */
const POD_POLL_MS = 2_000;

/** Scales to 0 (once recorded) and says which member pods the API still has; [] when all are gone. */
export async function scaleDown(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<string[]> {
  const namespace = restore.metadata?.namespace ?? '';
  const setName = restore.status?.statefulSet ?? '';
  const set = io.stores.statefulSets.get(`${namespace}/${setName}`);
  if ((set?.spec?.replicas ?? 0) !== 0) await io.api.scaleStatefulSet(namespace, setName, 0, ctx.signal);
  const count = Math.max(restore.status?.recordedReplicas ?? 0, restore.status?.members?.length ?? 0);
  const left: string[] = [];
  for (let i = 0; i < count; i++) {
    const pod = `${setName}-${i}`;
    if (await io.api.getPod(namespace, pod, ctx.signal)) left.push(pod);
  }
  return left;
}

export async function quiesce(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const namespace = restore.metadata?.namespace ?? '';
  const setName = restore.status?.statefulSet ?? '';
  let current = restore;
  if (current.status?.recordedReplicas === undefined) {
    const set = io.stores.statefulSets.get(`${namespace}/${setName}`);
    if (!set) {
      await failPhase(io, current, ctx, {
        reason: 'RESTORE_TARGET_NOT_FOUND',
        message: `StatefulSet ${namespace}/${setName} is gone`,
      });
      return {};
    }
    current = await io.putStatus(
      current,
      { ...(current.status ?? {}), recordedReplicas: set.spec?.replicas ?? 1 },
      ctx,
    );
  }
  const left = await scaleDown(io, current, ctx);
  if (left.length > 0) {
    const since = Date.parse(current.status?.phaseStartedAt ?? '') || io.now().getTime();
    if (io.now().getTime() - since > io.options.quiesceTimeoutMs) {
      await failPhase(io, current, ctx, {
        reason: 'RESTORE_QUIESCE_TIMEOUT',
        message: `pods ${left.join(', ')} were still there ${Math.round(io.options.quiesceTimeoutMs / 1000)}s after the scale to 0; nothing was restored and the StatefulSet is scaled back`,
      });
      return {};
    }
    await waiting(io, current, ctx, 'PodsTerminating', `waiting for pods ${left.join(', ')} to be gone`);
    return { requeueAfter: POD_POLL_MS };
  }
  await transition(
    io,
    current,
    ctx,
    'Restoring',
    {},
    `StatefulSet ${setName} scaled to 0 (was ${current.status?.recordedReplicas}); its pods are gone`,
  );
  return { requeueAfter: 0 };
}
