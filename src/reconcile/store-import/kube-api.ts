// The store import's API calls over the shared KubeClient: the store Secret read by name (its
// content stays in memory for the sync), records created if absent and their status written
// through the status subresource, Events on the Secret through the one recorder of src/kube.
import { S3Client } from '@aws-sdk/client-s3';
import { isAlreadyExists } from '../../kube/api-errors.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import { EventRecorder } from '../../kube/event-recorder.ts';
import { s3ClientConfig } from '../../objectstore/s3-options.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { readSecret } from '../jobs/job-api.ts';
import { APP_NAME } from '../jobs/labels.ts';
import type { StoreClientFactory, StoreImportApi } from './ports.ts';

const enc = encodeURIComponent;

export function kubeStoreImportApi(client: JsonRequester, logger: Logger): StoreImportApi {
  const recordsPath = (namespace: string) =>
    `/apis/${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}/namespaces/${enc(namespace)}/${ETCD_SNAPSHOT.plural}`;
  const events = new EventRecorder(client, {
    component: APP_NAME,
    onError: (err, event) => logger.warn({ err, reason: event.reason }, 'cannot record an Event'),
  });
  return {
    getSecret: (namespace, name, signal) => readSecret(client, namespace, name, signal),
    async createRecord(body, signal) {
      const namespace = body.metadata?.namespace ?? '';
      try {
        const record = await client.request<EtcdSnapshot>('POST', recordsPath(namespace), { body, signal });
        return { record, created: true };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const record = await client.request<EtcdSnapshot>(
        'GET',
        `${recordsPath(namespace)}/${enc(body.metadata?.name ?? '')}`,
        { signal },
      );
      return { record, created: false };
    },
    async putStatus(record, signal) {
      const path = `${recordsPath(record.metadata?.namespace ?? '')}/${enc(record.metadata?.name ?? '')}/status`;
      return client.request<EtcdSnapshot>('PUT', path, { body: record, signal });
    },
    async secretEvent(namespace, name, event, signal) {
      await events.record({ apiVersion: 'v1', kind: 'Secret', namespace, name }, event, signal);
    },
  };
}

/** The SDK client for a store, as the agent builds it (s3-options.ts): only List and Get are sent. */
export const sdkStoreClients: StoreClientFactory = (config) => new S3Client(s3ClientConfig(config));
