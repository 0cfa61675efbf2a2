// How the restore door remembers a restore until its volume is handed out (docs/restore.md, "The
// CSI door"): each volume that asks for a restore holds it with a finalizer of its own, removed
// only once the volume's record exists. Deleted between Completed and the claim's binding, the
// restore stays (Terminating, still Completed) and the next CreateVolume binds from it instead of
// restoring the cluster a second time; the claims of one Velero restore hold it each.
import { apiErrorKind } from '../kube/api-errors.ts';
import type { EtcdRestore } from '../records/etcd-restore.ts';
import { SNAPSHOT_GROUP } from '../records/etcd-snapshot.ts';
import type { DriverContext } from './context.ts';
import { fromApiError } from './errors.ts';
import { hashId } from './ids.ts';
import { labelValue } from './snapshot-records.ts';

/** A label value may hold the volume name as it is (csi-provisioner's `pvc-<uid>`), else its hash. */
export function labelValueOf(volumeName: string): string {
  return labelValue(volumeName) ?? hashId(['restore-volume', volumeName], 20);
}

/** The finalizer by which the restore of a volume waits for that volume's record. */
export function restoreFinalizerOf(volumeName: string): string {
  return `restore-door.${SNAPSHOT_GROUP}/${labelValueOf(volumeName)}`;
}

/**
 * The volume made from a restore is recorded: its restore need not be remembered for it any more.
 * A failure is an error of the call (csi-provisioner calls again, and the next call, answered from
 * the volume record, releases it then): released here or never, as no call comes after the bind.
 */
export async function releaseRestore(
  ctx: DriverContext,
  namespace: string,
  volumeName: string,
  from: { restore: string },
  signal: AbortSignal,
): Promise<void> {
  const restore = ctx.restores.store.get(`${namespace}/${from.restore}`);
  if (restore) await releaseFinalizer(ctx, restore, restoreFinalizerOf(volumeName), signal);
}

export async function releaseFinalizer(
  ctx: DriverContext,
  restore: EtcdRestore,
  finalizer: string,
  signal: AbortSignal,
): Promise<void> {
  const finalizers = restore.metadata?.finalizers ?? [];
  if (!finalizers.includes(finalizer)) return;
  await patchFinalizers(
    ctx,
    restore,
    finalizers.filter((f) => f !== finalizer),
    signal,
  );
}

export async function holdRestore(
  ctx: DriverContext,
  restore: EtcdRestore,
  finalizer: string,
  signal: AbortSignal,
): Promise<void> {
  await patchFinalizers(ctx, restore, [...(restore.metadata?.finalizers ?? []), finalizer], signal);
}

async function patchFinalizers(
  ctx: DriverContext,
  restore: EtcdRestore,
  finalizers: string[],
  signal: AbortSignal,
): Promise<void> {
  const key = `${restore.metadata?.namespace}/${restore.metadata?.name}`;
  try {
    // Guarded by the resourceVersion read: a finalizer another claim added meanwhile is not lost.
    await ctx.restores.patch(
      restore,
      [{ op: 'add', path: '/metadata/finalizers', value: finalizers }],
      signal,
    );
  } catch (err) {
    if (apiErrorKind(err) === 'not-found') return;
    throw fromApiError(err, `update the finalizers of EtcdRestore ${key}`);
  }
}
