import type { SecretLike } from '../../etcd/credentials.ts';
import {
  type Pod,
  VOLUME_GROUP_SNAPSHOT_GROUP,
  VOLUME_GROUP_SNAPSHOT_VERSIONS,
} from '../../informers/resources.ts';
import { isAlreadyExists, isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester, TextRequester } from '../../kube/custom-objects.ts';
import { EventRecorder, type InvolvedObject } from '../../kube/event-recorder.ts';
import { ETCD_RESTORE, type EtcdRestore } from '../../records/etcd-restore.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot, VELERO_EXCLUDED } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { kubeJobApi } from '../jobs/job-api.ts';
import { APP_NAME } from '../jobs/labels.ts';
import type { RestoreApi, SnapshotObject } from './ports.ts';

const enc = encodeURIComponent;
const nsPath = (group: string, namespace: string, plural: string) =>
  `${group === '' ? '/api/v1' : `/apis/${group}`}/namespaces/${enc(namespace)}/${plural}`;
const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';

export function kubeRestoreApi(
  client: JsonRequester,
  options: { logger: Logger; logs?: TextRequester },
): RestoreApi {
  // The Job calls every reconciler makes (create-if-absent, get, pods, log tail).
  const jobs = kubeJobApi(client, options);
  // The one Event writer (repeats merged as client-go does).
  const events = new EventRecorder(client, {
    component: APP_NAME,
    onError: (err, event) => options.logger.warn({ err, reason: event.reason }, 'cannot record an Event'),
  });
  const get = async <T>(path: string, signal: AbortSignal): Promise<T | undefined> => {
    try {
      return await client.request<T>('GET', path, { signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const restorePath = (r: EtcdRestore) =>
    `${nsPath(`${ETCD_RESTORE.group}/${ETCD_RESTORE.version}`, r.metadata?.namespace ?? '', ETCD_RESTORE.plural)}/${enc(r.metadata?.name ?? '')}`;
  return {
    createJob: (job, signal) => jobs.createJob(job, signal),
    async createClaim(claim, signal) {
      await client
        .request('POST', nsPath('', claim.metadata?.namespace ?? '', 'persistentvolumeclaims'), {
          body: claim,
          signal,
        })
        .catch((err: unknown) => {
          if (!isAlreadyExists(err)) throw err;
        });
    },
    getJob: (namespace, name, signal) => jobs.getJob(namespace, name, signal),
    listJobPods: (namespace, name, signal) => jobs.listJobPods(namespace, name, signal),
    podLogTail: (namespace, pod, lines, signal) => jobs.podLogTail(namespace, pod, lines, signal),
    getVolumeSnapshot: (namespace, name, signal) =>
      get<SnapshotObject>(`${nsPath(SNAPSHOT_API, namespace, 'volumesnapshots')}/${enc(name)}`, signal),
    async getVolumeGroupSnapshot(namespace, name, signal) {
      for (const version of VOLUME_GROUP_SNAPSHOT_VERSIONS) {
        const found = await get<SnapshotObject>(
          `${nsPath(`${VOLUME_GROUP_SNAPSHOT_GROUP}/${version}`, namespace, 'volumegroupsnapshots')}/${enc(name)}`,
          signal,
        );
        if (found) return found;
      }
      return undefined;
    },
    async getContentHandle(kind, name, signal) {
      if (kind === 'single') {
        const c = await get<{ status?: { snapshotHandle?: string } }>(
          `/apis/${SNAPSHOT_API}/volumesnapshotcontents/${enc(name)}`,
          signal,
        );
        return c?.status?.snapshotHandle;
      }
      for (const version of VOLUME_GROUP_SNAPSHOT_VERSIONS) {
        const c = await get<{ status?: { volumeGroupSnapshotHandle?: string } }>(
          `/apis/${VOLUME_GROUP_SNAPSHOT_GROUP}/${version}/volumegroupsnapshotcontents/${enc(name)}`,
          signal,
        );
        if (c) return c.status?.volumeGroupSnapshotHandle;
      }
      return undefined;
    },
    getSecret: (namespace, name, signal) =>
      get<SecretLike>(`${nsPath('', namespace, 'secrets')}/${enc(name)}`, signal),
    async listSnapshotRecords(namespace, signal) {
      const path = nsPath(`${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`, namespace, ETCD_SNAPSHOT.plural);
      return (await client.request<{ items?: EtcdSnapshot[] }>('GET', path, { signal })).items ?? [];
    },
    async scaleStatefulSet(namespace, name, replicas, signal) {
      await client.request('PATCH', `${nsPath('apps/v1', namespace, 'statefulsets')}/${enc(name)}/scale`, {
        body: { spec: { replicas } },
        contentType: 'application/merge-patch+json',
        signal,
      });
    },
    getPod: (namespace, name, signal) => get<Pod>(`${nsPath('', namespace, 'pods')}/${enc(name)}`, signal),
    async deletePods(namespace, matchLabels, signal) {
      const selector = Object.entries(matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const list = await client.request<{ items?: Pod[] }>(
        'GET',
        `${nsPath('', namespace, 'pods')}?labelSelector=${enc(selector)}`,
        { signal },
      );
      const names = (list.items ?? []).map((p) => p.metadata?.name ?? '').filter((n) => n !== '');
      for (const name of names) {
        await client
          .request('DELETE', `${nsPath('', namespace, 'pods')}/${enc(name)}`, { signal })
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
      }
      return names;
    },
    putStatus: (restore, signal) =>
      client.request<EtcdRestore>('PUT', `${restorePath(restore)}/status`, { body: restore, signal }),
    excludeFromVelero: (restore, signal) =>
      client.request<EtcdRestore>('PATCH', restorePath(restore), {
        body: { metadata: { labels: VELERO_EXCLUDED } },
        contentType: 'application/merge-patch+json',
        signal,
      }),
    async deleteRestore(restore, signal) {
      await client
        .request('DELETE', restorePath(restore), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: restore.metadata?.uid } },
          signal,
        })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    },
    recordEvent: (restore, event, signal) => events.record(restoreReference(restore), event, signal),
  };
}

/** The restore as the object of an Event. */
function restoreReference(restore: EtcdRestore): InvolvedObject {
  return {
    apiVersion: `${ETCD_RESTORE.group}/${ETCD_RESTORE.version}`,
    kind: ETCD_RESTORE.kind,
    name: restore.metadata?.name ?? '',
    namespace: restore.metadata?.namespace ?? '',
    ...(restore.metadata?.uid ? { uid: restore.metadata.uid } : {}),
    ...(restore.metadata?.resourceVersion ? { resourceVersion: restore.metadata.resourceVersion } : {}),
  };
}
