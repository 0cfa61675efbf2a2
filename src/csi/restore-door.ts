// The CSI restore door (docs/restore.md, "The CSI door"): CreateVolume with
// volume_content_source.snapshot — what Velero's restore and a plain `dataSource` PVC of the etcd
// source class send — restores the etcd cluster the claim names from that snapshot, through the
// same EtcdRestore a user would write. The call never waits: it creates the restore (create-if-
// absent, named from the CreateVolume name — or shared by the claims of one Velero restore — so
// retries and replicas find the one restore) and answers ABORTED until the restore reconciler has
// completed it; then the caller makes the volume.
// A claim that names no restorable target is refused before anything is written.
// A completed restore is remembered until its volume is handed out: the door's restore carries a
// finalizer per volume, removed only once the volume record exists, so a restore deleted between
// Completed and the claim's binding stays (Terminating) and the next retry binds instead of
// restoring the cluster again (docs/restore.md, "The CSI door").
import {
  ANNOTATION_TRACEPARENT,
  ETCD_RESTORE,
  type EtcdRestore,
  LABEL_RESTORE_VOLUME_NAME,
} from '../records/etcd-restore.ts';
import {
  type EtcdSnapshot,
  INDEX_SNAPSHOT_ID,
  isBeingDeleted,
  LABEL_DRIVER,
  VELERO_EXCLUDED,
} from '../records/etcd-snapshot.ts';
import type { DriverContext } from './context.ts';
import { CsiError, fromApiError } from './errors.ts';
import type { CallContext } from './handler.ts';
import { hashId } from './ids.ts';
import { echo } from './limits.ts';
import { holdRestore, labelValueOf, releaseFinalizer, restoreFinalizerOf } from './restore-hold.ts';
import { decideRestoreTarget, type RestoreTarget, restoreVerdict } from './restore-rules.ts';
import type { ParsedParameters } from './validation.ts';

export interface RestoreDoorRequest {
  /** The CreateVolume name (the PV name csi-provisioner chose). */
  volumeName: string;
  snapshotId: string;
  parameters: ParsedParameters;
}

/** What the volume record keeps of the restore that made it (EtcdSourceVolume spec.contentSource). */
export interface RestoredFrom {
  snapshotId: string;
  restore: string;
}

/** Velero labels what it restores with its Restore's name. */
export const LABEL_VELERO_RESTORE_NAME = 'velero.io/restore-name';

/**
 * The EtcdRestore a CreateVolume stands for: one per volume, whoever asks and how often — except
 * that the claims one Velero restore makes of one etcd cluster from one snapshot record (the
 * member claims of a group snapshot) share one: the cluster is restored once, and each claim
 * binds when it has completed.
 */
export function restoreNameOf(
  volumeName: string,
  shared?: { veleroRestore: string; record: string; target: RestoreTarget },
): string {
  const parts = shared
    ? ['velero-restore', shared.veleroRestore, shared.record, shared.target.namespace, shared.target.cluster]
    : ['restore-volume', volumeName];
  return `restore-${hashId(parts, 20)}`;
}

/**
 * Resolves the snapshot and the target, creates the restore if absent and answers from its
 * status: RestoredFrom once Completed; otherwise throws (ABORTED in progress, the final code of
 * a Failed or RolledBack restore, FAILED_PRECONDITION for a claim with no restorable target).
 */
export async function openRestoreDoor(
  ctx: DriverContext,
  req: RestoreDoorRequest,
  call: CallContext,
): Promise<RestoredFrom> {
  const snapshot = snapshotRecord(ctx, req.snapshotId);
  const claimKey = {
    namespace: req.parameters.metadata['pvc/namespace'],
    name: req.parameters.metadata['pvc/name'],
  };
  const claim =
    claimKey.namespace && claimKey.name
      ? ctx.claims.get(`${claimKey.namespace}/${claimKey.name}`)
      : undefined;
  const decision = decideRestoreTarget({
    snapshot,
    snapshotId: req.snapshotId,
    claimKey,
    ...(claim ? { claim } : {}),
    ...(req.parameters.values.etcdNamespace ? { etcdNamespace: req.parameters.values.etcdNamespace } : {}),
  });
  if ('missing' in decision) {
    const reason = decision.reason === 'claim-not-cached' ? 'CLAIM_NOT_FOUND' : 'RESTORE_TARGET_UNKNOWN';
    throw new CsiError(reason, decision.missing);
  }
  requireReady(snapshot, req.snapshotId);
  const veleroRestore = claim?.metadata?.labels?.[LABEL_VELERO_RESTORE_NAME];
  const name = restoreNameOf(
    req.volumeName,
    veleroRestore ? { veleroRestore, record: snapshot.metadata?.name ?? '', target: decision } : undefined,
  );
  const body = restoreBody(ctx, req, name, snapshot, decision, call.traceparent);
  const restore = await ensureRestore(ctx, body, call);
  requireSameRestore(restore, body, req.volumeName);
  const verdict = restoreVerdict(restore);
  const finalizer = restoreFinalizerOf(req.volumeName);
  // Completed, even while being deleted: the caller records the volume, then releases it.
  if (verdict.kind === 'completed') return { snapshotId: req.snapshotId, restore: body.metadata?.name ?? '' };
  if (restore.metadata?.deletionTimestamp) {
    // Deleted before it completed (a failed one, to retry): nothing to remember; let it go.
    await releaseFinalizer(ctx, restore, finalizer, call.signal);
    throw new CsiError(
      'VOLUME_RESTORE_IN_PROGRESS',
      `EtcdRestore ${body.metadata?.namespace}/${body.metadata?.name} is being deleted before it completed (${restore.status?.phase ?? 'Pending'}); the next retry starts a new restore`,
    );
  }
  // The claims of one Velero restore share it: each holds it with its own finalizer.
  if (!restore.metadata?.finalizers?.includes(finalizer))
    await holdRestore(ctx, restore, finalizer, call.signal);
  throw new CsiError(verdict.reason, verdict.message);
}

/** The record holding the snapshot (any member of a group), not being deleted. */
function snapshotRecord(ctx: DriverContext, snapshotId: string): EtcdSnapshot {
  const record = ctx.snapshots.store
    .byIndex(INDEX_SNAPSHOT_ID, snapshotId)
    .find(
      (r) =>
        r.spec?.driverName === ctx.driverName &&
        !isBeingDeleted(r) &&
        r.spec.members.some((m) => m.snapshotId === snapshotId && !m.deletionRequested),
    );
  if (!record) {
    throw new CsiError(
      'CONTENT_SOURCE_NOT_FOUND',
      `volume_content_source snapshot ${echo(snapshotId)} does not exist`,
    );
  }
  return record;
}

function requireReady(snapshot: EtcdSnapshot, snapshotId: string): void {
  const status = snapshot.status;
  if (status?.phase === 'Ready' && status.readyToUse && status.checksumSha256) return;
  const key = `${snapshot.metadata?.namespace}/${snapshot.metadata?.name}`;
  throw new CsiError(
    'VOLUME_SOURCE_NOT_READY',
    `snapshot ${echo(snapshotId)} (EtcdSnapshot ${key}) is ${status?.phase ?? 'Pending'}${
      status?.reason ? ` (${status.reason})` : ''
    }, not Ready with a checksum: nothing to restore from`,
  );
}

function restoreBody(
  ctx: DriverContext,
  req: RestoreDoorRequest,
  name: string,
  snapshot: EtcdSnapshot,
  target: RestoreTarget,
  traceparent: string | undefined,
): EtcdRestore {
  return {
    apiVersion: `${ETCD_RESTORE.group}/${ETCD_RESTORE.version}`,
    kind: ETCD_RESTORE.kind,
    metadata: {
      name,
      namespace: target.namespace,
      labels: {
        [LABEL_DRIVER]: ctx.driverName,
        [LABEL_RESTORE_VOLUME_NAME]: labelValueOf(req.volumeName),
        ...VELERO_EXCLUDED,
      },
      finalizers: [restoreFinalizerOf(req.volumeName)],
      ...(traceparent ? { annotations: { [ANNOTATION_TRACEPARENT]: traceparent } } : {}),
    },
    spec: {
      source: { etcdSnapshot: { name: snapshot.metadata?.name ?? '' } },
      target: { cluster: target.cluster },
    },
  };
}

/** The restore of this name: from the cache on every retry, created once. */
async function ensureRestore(ctx: DriverContext, body: EtcdRestore, call: CallContext): Promise<EtcdRestore> {
  const key = `${body.metadata?.namespace}/${body.metadata?.name}`;
  const cached = ctx.restores.store.get(key);
  if (cached) return cached;
  try {
    const { record, created } = await ctx.restores.createIfAbsent(body, call.signal);
    if (created) {
      call.log.info(
        { restore: key, snapshot: body.spec.source.etcdSnapshot?.name, cluster: body.spec.target.cluster },
        'CreateVolume from a snapshot: EtcdRestore created',
      );
    }
    return record;
  } catch (err) {
    throw fromApiError(err, `create EtcdRestore ${key}`);
  }
}

/** The restore of this name must be the one this request asks for (same snapshot, same target). */
function requireSameRestore(restore: EtcdRestore, body: EtcdRestore, volumeName: string): void {
  const same =
    restore.spec?.source?.etcdSnapshot?.name === body.spec.source.etcdSnapshot?.name &&
    restore.spec?.target?.cluster === body.spec.target.cluster;
  if (same) return;
  throw new CsiError(
    'VOLUME_ALREADY_EXISTS',
    `volume ${echo(volumeName)} is being restored by EtcdRestore ${body.metadata?.namespace}/${body.metadata?.name} from another snapshot or into another cluster`,
  );
}
