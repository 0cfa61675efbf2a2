// Steps of the CSI restore door tests against the real apiserver (restore-door.test.ts and the
// error table of csi.test.ts): a snapshot record made Ready by hand (no pipeline runs here), the
// CreateVolume-from-snapshot request csi-provisioner would send, and EtcdRestore status writes
// standing in for the restore reconciler.
import type { CreateSnapshotResponse } from '../../../src/csi/messages.ts';
import type { KubeClient } from '../../../src/informers/kube-client.ts';
import type { EtcdRestore, EtcdRestoreStatus } from '../../../src/records/etcd-restore.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { waitFor } from '../../harness/process.ts';
import type { DriverEnv } from './driver-env.ts';

export const RECORDS = '/apis/snapshot.etcd-snapshot-driver.io/v1alpha1';
const MOUNT = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

/** CreateSnapshot of `sourceVolumeId`; with `ready`, its record patched Ready as the pipeline would. */
export async function snapshotOf(
  env: DriverEnv,
  admin: KubeClient,
  name: string,
  sourceVolumeId: string,
  ready: boolean,
): Promise<string> {
  const { snapshot } = (await env.client.Controller.CreateSnapshot!({
    name,
    source_volume_id: sourceVolumeId,
  })) as CreateSnapshotResponse;
  const id = snapshot.snapshot_id;
  const record = await waitFor(
    'the snapshot record in the cache',
    () => env.stores.etcdSnapshots.byIndex('snapshot-id', id)[0],
  );
  if (!ready) return id;
  const { namespace, name: recordName } = record.metadata!;
  await admin.request('PATCH', `${RECORDS}/namespaces/${namespace}/etcdsnapshots/${recordName}/status`, {
    body: {
      status: {
        phase: 'Ready',
        readyToUse: true,
        checksumSha256: 'c'.repeat(64),
        revision: 7,
        sizeBytes: 4096,
      },
    },
    contentType: 'application/merge-patch+json',
  });
  await waitFor('the Ready snapshot in the cache', () =>
    (env.stores.etcdSnapshots.byIndex('snapshot-id', id)[0] as EtcdSnapshot | undefined)?.status?.phase ===
    'Ready'
      ? true
      : undefined,
  );
  return id;
}

/** What csi-provisioner (--extra-create-metadata) sends for a claim with a VolumeSnapshot dataSource. */
export function fromSnapshot(
  volumeName: string,
  snapshotId: string,
  claim?: { namespace: string; name: string },
): Record<string, unknown> {
  return {
    name: volumeName,
    capacity_range: { required_bytes: 1 << 20, limit_bytes: 0 },
    volume_capabilities: [MOUNT],
    parameters: claim
      ? {
          'csi.storage.k8s.io/pvc/name': claim.name,
          'csi.storage.k8s.io/pvc/namespace': claim.namespace,
          'csi.storage.k8s.io/pv/name': volumeName,
        }
      : {},
    volume_content_source: { snapshot: { snapshot_id: snapshotId } },
  };
}

/** The EtcdRestores in `namespace` that the door made for `volumeName` (by its label). */
export async function restoresOf(
  admin: KubeClient,
  namespace: string,
  volumeName: string,
): Promise<EtcdRestore[]> {
  const selector = encodeURIComponent(`snapshot.etcd-snapshot-driver.io/restore-volume-name=${volumeName}`);
  return (
    await admin.request<{ items: EtcdRestore[] }>(
      'GET',
      `${RECORDS}/namespaces/${namespace}/etcdrestores?labelSelector=${selector}`,
    )
  ).items;
}

/** Writes a restore's status as the restore reconciler would, and waits until the driver sees it. */
export async function setRestoreStatus(
  env: DriverEnv,
  admin: KubeClient,
  restore: EtcdRestore,
  status: EtcdRestoreStatus,
): Promise<void> {
  const { namespace, name } = restore.metadata!;
  await admin.request('PATCH', `${RECORDS}/namespaces/${namespace}/etcdrestores/${name}/status`, {
    body: { status },
    contentType: 'application/merge-patch+json',
  });
  await waitFor(`restore ${name} ${status.phase} in the cache`, () =>
    env.stores.etcdRestores.get(`${namespace}/${name}`)?.status?.phase === status.phase ? true : undefined,
  );
}
