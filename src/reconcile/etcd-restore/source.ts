// The snapshot record a restore's source names: an EtcdSnapshot by name; a VolumeSnapshot →
// its bound content → the content's snapshotHandle → the record holding that snapshot ID; a
// VolumeGroupSnapshot → its content's group handle → the group's record of the named cluster;
// or a remote copy by its place in the store (fetch-plan.ts), which needs no record.

import type { EtcdRestore } from '../../records/etcd-restore.ts';
import {
  type EtcdSnapshot,
  INDEX_GROUP_SNAPSHOT_ID,
  INDEX_SNAPSHOT_ID,
} from '../../records/etcd-snapshot.ts';
import { fail, type StepFailure } from '../step.ts';
import { type FetchPlan, objectStorePlan } from './fetch-plan.ts';
import type { RestoreIo } from './restore-io.ts';

const notFound = (message: string) => fail('RESTORE_SNAPSHOT_NOT_FOUND', message);

export async function resolveSource(
  io: RestoreIo,
  restore: EtcdRestore,
  signal: AbortSignal,
): Promise<{ record: EtcdSnapshot } | { remote: FetchPlan } | StepFailure> {
  const namespace = restore.metadata?.namespace ?? '';
  const { source } = restore.spec;
  const set = [
    source.etcdSnapshot,
    source.volumeSnapshot,
    source.volumeGroupSnapshot,
    source.objectStore,
  ].filter(Boolean).length;
  if (set !== 1)
    return fail(
      'RESTORE_INVALID_SPEC',
      `spec.source must set exactly one of etcdSnapshot, volumeSnapshot, volumeGroupSnapshot, objectStore (${set} set)`,
    );
  if (source.objectStore) {
    const plan = objectStorePlan(restore);
    return 'kind' in plan ? plan : { remote: plan };
  }
  if (source.etcdSnapshot) {
    const { name } = source.etcdSnapshot;
    const record =
      io.stores.etcdSnapshots.get(`${namespace}/${name}`) ??
      (await liveRecord(io, namespace, (r) => r.metadata?.name === name, signal));
    return record ? { record } : notFound(`EtcdSnapshot ${namespace}/${name} does not exist`);
  }
  if (source.volumeSnapshot) {
    const what = `VolumeSnapshot ${namespace}/${source.volumeSnapshot.name}`;
    const vs = await io.api.getVolumeSnapshot(namespace, source.volumeSnapshot.name, signal);
    if (!vs) return notFound(`${what} does not exist`);
    const content = vs.status?.boundVolumeSnapshotContentName;
    if (!content)
      return fail('RESTORE_SNAPSHOT_NOT_READY', `${what} is not bound to a VolumeSnapshotContent yet`);
    const handle = await io.api.getContentHandle('single', content, signal);
    if (!handle)
      return fail(
        'RESTORE_SNAPSHOT_NOT_READY',
        `VolumeSnapshotContent ${content} of ${what} has no snapshotHandle`,
      );
    const record =
      io.stores.etcdSnapshots.byIndex(INDEX_SNAPSHOT_ID, handle)[0] ??
      (await liveRecord(io, namespace, (r) => r.spec.members.some((m) => m.snapshotId === handle), signal));
    return record
      ? { record }
      : notFound(
          `${what}: no EtcdSnapshot record holds its snapshot ID ${handle} (not this driver's, or deleted)`,
        );
  }
  const group = source.volumeGroupSnapshot!;
  const what = `VolumeGroupSnapshot ${namespace}/${group.name}`;
  const vgs = await io.api.getVolumeGroupSnapshot(namespace, group.name, signal);
  if (!vgs) return notFound(`${what} does not exist`);
  const content = vgs.status?.boundVolumeGroupSnapshotContentName;
  if (!content)
    return fail('RESTORE_SNAPSHOT_NOT_READY', `${what} is not bound to a VolumeGroupSnapshotContent yet`);
  const handle = await io.api.getContentHandle('group', content, signal);
  if (!handle)
    return fail(
      'RESTORE_SNAPSHOT_NOT_READY',
      `VolumeGroupSnapshotContent ${content} of ${what} has no group handle`,
    );
  const ofGroup = (r: EtcdSnapshot) => r.spec.cluster.name === group.cluster;
  const records = io.stores.etcdSnapshots.byIndex(INDEX_GROUP_SNAPSHOT_ID, handle);
  const record =
    records.find(ofGroup) ??
    (await liveRecord(io, namespace, (r) => r.spec.groupSnapshotId === handle && ofGroup(r), signal));
  if (record) return { record };
  const clusters =
    records
      .map((r) => r.spec.cluster.name)
      .sort()
      .join(', ') || 'none';
  return notFound(`${what} holds no snapshot of cluster ${group.cluster} (its clusters: ${clusters})`);
}

/**
 * A record the cache does not hold, looked for in the API server's list of the namespace's
 * records: the cache may lag behind a record made a moment ago, and a restore fails for good on
 * "not found", so that answer is the server's, never the cache's alone.
 */
async function liveRecord(
  io: RestoreIo,
  namespace: string,
  match: (r: EtcdSnapshot) => boolean,
  signal: AbortSignal,
): Promise<EtcdSnapshot | undefined> {
  return (await io.api.listSnapshotRecords(namespace, signal)).find(match);
}
