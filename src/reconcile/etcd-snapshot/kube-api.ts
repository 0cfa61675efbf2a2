// The pipeline's API calls (PipelineApi) over the shared KubeClient: the Job calls of
// src/reconcile/jobs, Events through the one recorder of src/kube, and the rest here. Creates
// treat AlreadyExists as success (names are deterministic: it is the same object); the record's
// status is written through its status subresource with the resourceVersion read, so a stale
// writer gets 409.
import { isAlreadyExists, isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester, TextRequester } from '../../kube/custom-objects.ts';
import { EventRecorder } from '../../kube/event-recorder.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { corePath, kubeJobApi, readSecret } from '../jobs/job-api.ts';
import { APP_NAME } from '../jobs/labels.ts';
import { recordReference } from '../snapshot-records/references.ts';
import type { PipelineApi } from './ports.ts';

const enc = encodeURIComponent;

export interface KubePipelineApiOptions {
  /** Reads pod logs (text, which the JSON client cannot); without it failures carry no log tail. */
  logs?: TextRequester;
  logger: Logger;
  /** The reporting component of Events. */
  component?: string;
}

export function kubePipelineApi(client: JsonRequester, options: KubePipelineApiOptions): PipelineApi {
  const recordPath = (r: EtcdSnapshot) =>
    `/apis/${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}/namespaces/${enc(r.metadata?.namespace ?? '')}/${ETCD_SNAPSHOT.plural}/${enc(r.metadata?.name ?? '')}`;
  const events = new EventRecorder(client, {
    component: options.component ?? APP_NAME,
    onError: (err, event) => options.logger.warn({ err, reason: event.reason }, 'cannot record an Event'),
  });
  return {
    ...kubeJobApi(client, options),
    getSecret: (namespace, name, signal) => readSecret(client, namespace, name, signal),
    async createClaim(claim, signal) {
      await client
        .request('POST', corePath(claim.metadata?.namespace ?? '', 'persistentvolumeclaims'), {
          body: claim,
          signal,
        })
        .catch((err: unknown) => {
          if (!isAlreadyExists(err)) throw err;
        });
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
    recordEvent: (record, event, signal) => events.record(recordReference(record), event, signal),
  };
}
