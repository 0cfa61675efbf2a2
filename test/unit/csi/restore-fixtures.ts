// What the restore door's tests share: a world with a Ready snapshot of cluster main, a
// CreateVolume from it for a claim, and restore statuses as the engine writes them.
import { CsiError } from '../../../src/csi/errors.ts';
import type { CreateSnapshotResponse, CreateVolumeResponse } from '../../../src/csi/messages.ts';
import type { RestoreIo } from '../../../src/reconcile/etcd-restore/restore-io.ts';
import { waiting } from '../../../src/reconcile/etcd-restore/status-writes.ts';
import type { ReconcileContext } from '../../../src/reconcile/result.ts';
import type { EtcdRestore, EtcdRestoreStatus } from '../../../src/records/etcd-restore.ts';
import { addClaim, addEtcdCluster, MOUNT_CAPABILITY, type World } from './fakes.ts';

export async function failure(
  promise: Promise<unknown>,
): Promise<{ reason: string; code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CsiError) return { reason: err.reason, code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** Cluster main in `default` with a Ready snapshot of its claim; returns the snapshot ID. */
export async function readySnapshot(w: World, ready = true): Promise<string> {
  addEtcdCluster(w, 'main');
  addClaim(w, 'data', { cluster: 'main' });
  const { snapshot } = await w.call<CreateSnapshotResponse>('Controller', 'CreateSnapshot', {
    name: 'snapcontent-1',
    source_volume_id: 'default/data',
  });
  const [record] = [...w.snapshotsApi.objects.values()];
  if (ready) {
    w.snapshotsApi.put({
      ...record!,
      status: { phase: 'Ready', readyToUse: true, checksumSha256: 'a'.repeat(64), revision: 42 },
    });
  }
  return snapshot.snapshot_id;
}

export const fromSnapshot = (snapshotId: string, claim = 'restored', namespace = 'default', extra = {}) => ({
  name: 'pvc-0b5e3c1a',
  capacity_range: { required_bytes: 1024 ** 2, limit_bytes: 0 },
  volume_capabilities: [MOUNT_CAPABILITY],
  parameters: {
    'csi.storage.k8s.io/pvc/name': claim,
    'csi.storage.k8s.io/pvc/namespace': namespace,
    'csi.storage.k8s.io/pv/name': 'pvc-0b5e3c1a',
    ...extra,
  },
  volume_content_source: { snapshot: { snapshot_id: snapshotId }, type: 'snapshot' },
});

export const createVolume = (w: World, req: unknown) =>
  w.call<CreateVolumeResponse>('Controller', 'CreateVolume', req);

export function restores(w: World): EtcdRestore[] {
  return [...w.restoresApi.objects.values()];
}

/** The status the restore engine's own `waiting` write gives a restore in `phase`. */
export async function engineWaiting(
  restore: EtcdRestore,
  phase: EtcdRestoreStatus['phase'],
  reason: string,
  message: string,
): Promise<EtcdRestoreStatus> {
  let written: EtcdRestoreStatus = {};
  const io = {
    now: () => new Date(),
    putStatus: async (r: EtcdRestore, status: EtcdRestoreStatus) => {
      written = status;
      return { ...r, status };
    },
  } as unknown as RestoreIo;
  await waiting(io, { ...restore, status: { phase } }, {} as ReconcileContext, reason, message);
  return written;
}

export function setStatus(w: World, status: EtcdRestoreStatus): void {
  const [restore] = restores(w);
  w.restoresApi.put({ ...restore!, status });
}
