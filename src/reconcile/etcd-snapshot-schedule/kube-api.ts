// The schedule reconciler's API calls (ScheduleApi) over the shared KubeClient. Creating a run
// that exists already is the slot having been run (names are deterministic): `false`, not an
// error. Deletes treat NotFound as done. Status is written with a JSON merge patch of only the
// fields this writer owns (a cluster lane its own entry of status.clusters), so replicas writing
// different lanes of one schedule never conflict.
import { isAlreadyExists, isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import { EventRecorder } from '../../kube/event-recorder.ts';
import { ETCD_SNAPSHOT_SCHEDULE, type EtcdSnapshotSchedule } from '../../records/etcd-snapshot-schedule.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { RunKind, ScheduleApi } from './ports.ts';

const enc = encodeURIComponent;

export interface KubeScheduleApiOptions {
  logger: Logger;
  /** The groupsnapshot.storage.k8s.io version the server serves (default v1). */
  groupSnapshotVersion?: string;
  component?: string;
}

export function kubeScheduleApi(client: JsonRequester, options: KubeScheduleApiOptions): ScheduleApi {
  const groupVersion = `groupsnapshot.storage.k8s.io/${options.groupSnapshotVersion ?? 'v1'}`;
  const events = new EventRecorder(client, {
    component: options.component ?? 'etcd-snapshot-driver',
    onError: (err, event) => options.logger.warn({ err, reason: event.reason }, 'cannot record an Event'),
  });
  const runsPath = (kind: RunKind, namespace: string) =>
    kind === 'VolumeSnapshot'
      ? `/apis/snapshot.storage.k8s.io/v1/namespaces/${enc(namespace)}/volumesnapshots`
      : `/apis/${groupVersion}/namespaces/${enc(namespace)}/volumegroupsnapshots`;
  const schedulePath = (s: EtcdSnapshotSchedule) =>
    `/apis/${ETCD_SNAPSHOT_SCHEDULE.group}/${ETCD_SNAPSHOT_SCHEDULE.version}/namespaces/${enc(s.metadata?.namespace ?? '')}/${ETCD_SNAPSHOT_SCHEDULE.plural}/${enc(s.metadata?.name ?? '')}`;
  const orUndefined = async <T>(call: Promise<T>): Promise<T | undefined> => {
    try {
      return await call;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    async createRun(run, signal) {
      const kind = run.kind as RunKind;
      const body = kind === 'VolumeGroupSnapshot' ? { ...run, apiVersion: groupVersion } : run;
      try {
        await client.request('POST', runsPath(kind, run.metadata?.namespace ?? ''), { body, signal });
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false;
        throw err;
      }
    },
    async deleteRun(kind, namespace, name, signal) {
      await orUndefined(client.request('DELETE', `${runsPath(kind, namespace)}/${enc(name)}`, { signal }));
    },
    async classExists(kind, name, signal) {
      const path =
        kind === 'VolumeSnapshot'
          ? `/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/${enc(name)}`
          : `/apis/${groupVersion}/volumegroupsnapshotclasses/${enc(name)}`;
      return (await orUndefined(client.request('GET', path, { signal }))) !== undefined;
    },
    async patchStatus(schedule, status, signal) {
      return client.request<EtcdSnapshotSchedule>('PATCH', `${schedulePath(schedule)}/status`, {
        body: { status },
        contentType: 'application/merge-patch+json',
        signal,
      });
    },
    async recordEvent(schedule, event, signal) {
      // Through the one recorder of src/kube: a repeated Event (a skip each slot) is aggregated.
      await events.record(
        {
          apiVersion: `${ETCD_SNAPSHOT_SCHEDULE.group}/${ETCD_SNAPSHOT_SCHEDULE.version}`,
          kind: ETCD_SNAPSHOT_SCHEDULE.kind,
          name: schedule.metadata?.name ?? '',
          namespace: schedule.metadata?.namespace ?? '',
          ...(schedule.metadata?.uid ? { uid: schedule.metadata.uid } : {}),
        },
        event,
        signal,
      );
    },
  };
}
