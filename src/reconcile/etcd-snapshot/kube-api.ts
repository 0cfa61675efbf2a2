// The pipeline's API calls (PipelineApi) over the shared KubeClient. Creates treat
// AlreadyExists as success (names are deterministic: it is the same object); deletes treat
// NotFound as success; the record's status is written through its status subresource with the
// resourceVersion read, so a stale writer gets 409.
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import type { SecretLike } from '../../etcd/credentials.ts';
import type { Job, Pod } from '../../informers/resources.ts';
import { isAlreadyExists, isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { KubeEvent, PipelineApi } from './ports.ts';

const enc = encodeURIComponent;
const nsPath = (group: string, namespace: string, plural: string) =>
  `${group === '' ? '/api/v1' : `/apis/${group}`}/namespaces/${enc(namespace)}/${plural}`;

export interface KubePipelineApiOptions {
  /** Reads pod logs (text, which the JSON client cannot); without it failures carry no log tail. */
  kubeConfig?: KubeConfig;
  logger: Logger;
  /** The reporting component of Events. */
  component?: string;
}

export function kubePipelineApi(client: JsonRequester, options: KubePipelineApiOptions): PipelineApi {
  const core = options.kubeConfig?.makeApiClient(CoreV1Api);
  const recordPath = (r: EtcdSnapshot) =>
    `${nsPath(`${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`, r.metadata?.namespace ?? '', ETCD_SNAPSHOT.plural)}/${enc(r.metadata?.name ?? '')}`;
  const jobsPath = (namespace: string) => nsPath('batch/v1', namespace, 'jobs');
  const ignoreExists = (err: unknown) => {
    if (!isAlreadyExists(err)) throw err;
  };
  return {
    async getSecret(namespace, name, signal) {
      try {
        return await client.request<SecretLike>('GET', `${nsPath('', namespace, 'secrets')}/${enc(name)}`, {
          signal,
        });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async createClaim(claim, signal) {
      await client
        .request('POST', nsPath('', claim.metadata?.namespace ?? '', 'persistentvolumeclaims'), {
          body: claim,
          signal,
        })
        .catch(ignoreExists);
    },
    async createJob(job, signal) {
      await client
        .request('POST', jobsPath(job.metadata?.namespace ?? ''), { body: job, signal })
        .catch(ignoreExists);
    },
    async getJob(namespace, name, signal) {
      try {
        return await client.request<Job>('GET', `${jobsPath(namespace)}/${enc(name)}`, { signal });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async deleteJob(namespace, name, signal) {
      try {
        await client.request('DELETE', `${jobsPath(namespace)}/${enc(name)}`, {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' },
          signal,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async listJobPods(namespace, jobName, signal) {
      const list = await client.request<{ items?: Pod[] }>(
        'GET',
        `${nsPath('', namespace, 'pods')}?labelSelector=${enc(`job-name=${jobName}`)}`,
        { signal },
      );
      return list.items ?? [];
    },
    async podLogTail(namespace, pod, lines, signal) {
      if (!core) return '';
      try {
        signal.throwIfAborted();
        const text = await core.readNamespacedPodLog({ namespace, name: pod, tailLines: lines });
        return typeof text === 'string' ? text : '';
      } catch (err) {
        options.logger.debug({ err, pod }, 'cannot read the pod log tail');
        return '';
      }
    },
    async putStatus(record, signal) {
      return client.request<EtcdSnapshot>('PUT', `${recordPath(record)}/status`, { body: record, signal });
    },
    async removeFinalizer(record, finalizer, signal) {
      const finalizers = (record.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
      // Gone already: a reconcile from a cache that had not yet seen the last removal.
      await client
        .request('PATCH', recordPath(record), {
          // The resourceVersion makes it conditional: another writer's change → 409.
          body: [
            {
              op: 'replace',
              path: '/metadata/resourceVersion',
              value: record.metadata?.resourceVersion ?? '',
            },
            { op: 'replace', path: '/metadata/finalizers', value: finalizers },
          ],
          contentType: 'application/json-patch+json',
          signal,
        })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    },
    async recordEvent(record, event: KubeEvent, signal) {
      const namespace = record.metadata?.namespace ?? '';
      const now = new Date().toISOString();
      try {
        await client.request('POST', nsPath('', namespace, 'events'), {
          body: {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name: `${record.metadata?.name}.${randomBytes(6).toString('hex')}`, namespace },
            involvedObject: {
              apiVersion: `${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`,
              kind: ETCD_SNAPSHOT.kind,
              name: record.metadata?.name,
              namespace,
              uid: record.metadata?.uid,
              resourceVersion: record.metadata?.resourceVersion,
            },
            type: event.type,
            reason: event.reason,
            message: event.message.slice(0, 1024),
            source: { component: options.component ?? 'etcd-snapshot-driver' },
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
