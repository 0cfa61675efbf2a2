// The restore's API calls (RestoreApi) over the shared KubeClient. Creates treat AlreadyExists as
// success (names are deterministic); reads treat NotFound as undefined; the status is written
// through its subresource with the resourceVersion read, so a stale writer gets 409.
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { SecretLike } from '../../etcd/credentials.ts';
import {
  type Pod,
  VOLUME_GROUP_SNAPSHOT_GROUP,
  VOLUME_GROUP_SNAPSHOT_VERSIONS,
} from '../../informers/resources.ts';
import { isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import { ETCD_RESTORE, type EtcdRestore } from '../../records/etcd-restore.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { kubeJobApi } from '../jobs/job-api.ts';
import type { RestoreApi, SnapshotObject } from './ports.ts';

const enc = encodeURIComponent;
const nsPath = (group: string, namespace: string, plural: string) =>
  `${group === '' ? '/api/v1' : `/apis/${group}`}/namespaces/${enc(namespace)}/${plural}`;
const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';

export function kubeRestoreApi(
  client: JsonRequester,
  options: { logger: Logger; kubeConfig?: KubeConfig },
): RestoreApi {
  // The Job calls every reconciler makes (create-if-absent, get, pods, log tail).
  const jobs = kubeJobApi(client, options);
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
    async recordEvent(restore, event, signal) {
      const namespace = restore.metadata?.namespace ?? '';
      const now = new Date().toISOString();
      try {
        await client.request('POST', nsPath('', namespace, 'events'), {
          body: {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name: `${restore.metadata?.name}.${randomBytes(6).toString('hex')}`, namespace },
            involvedObject: {
              apiVersion: `${ETCD_RESTORE.group}/${ETCD_RESTORE.version}`,
              kind: ETCD_RESTORE.kind,
              name: restore.metadata?.name,
              namespace,
              uid: restore.metadata?.uid,
              resourceVersion: restore.metadata?.resourceVersion,
            },
            type: event.type,
            reason: event.reason,
            message: event.message.slice(0, 1024),
            source: { component: 'etcd-snapshot-driver' },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
          signal,
        });
      } catch (err) {
        options.logger.warn({ err, reason: event.reason }, 'cannot record an Event');
      }
    },
  };
}
