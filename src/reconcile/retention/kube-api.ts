// The retention controller's API calls: the Job calls of src/reconcile/jobs, Events about records
// and claims through the one recorder of src/kube, and deleting records (the request to delete
// their files).
import type { PersistentVolumeClaim } from '../../informers/resources.ts';
import { isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import { EventRecorder, type KubeEvent } from '../../kube/event-recorder.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { type JobApi, kubeJobApi } from '../jobs/job-api.ts';
import { APP_NAME } from '../jobs/labels.ts';
import { recordReference } from '../snapshot-records/references.ts';

export interface RetentionApi extends Pick<JobApi, 'createJob' | 'getJob' | 'deleteJob' | 'listJobPods'> {
  /** Deletes the record, only the one read (uid precondition); gone already → no-op. */
  deleteRecord(record: EtcdSnapshot, signal: AbortSignal): Promise<void>;
  /** An Event on a record; failures are logged, never thrown. */
  recordEvent(record: EtcdSnapshot, event: KubeEvent, signal: AbortSignal): Promise<void>;
  /** An Event on a snapshot claim; failures are logged, never thrown. */
  claimEvent(claim: PersistentVolumeClaim, event: KubeEvent, signal: AbortSignal): Promise<void>;
}

const enc = encodeURIComponent;

export function kubeRetentionApi(client: JsonRequester, logger: Logger): RetentionApi {
  const events = new EventRecorder(client, {
    component: APP_NAME,
    onError: (err, event) => logger.warn({ err, reason: event.reason }, 'cannot record an Event'),
  });
  return {
    ...kubeJobApi(client, { logger }),
    async deleteRecord(record, signal) {
      const path = `/apis/${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}/namespaces/${enc(record.metadata?.namespace ?? '')}/${ETCD_SNAPSHOT.plural}/${enc(record.metadata?.name ?? '')}`;
      try {
        await client.request('DELETE', path, {
          // A record re-made under the same name since the decision is not the one judged.
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            preconditions: { uid: record.metadata?.uid, resourceVersion: record.metadata?.resourceVersion },
          },
          signal,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    recordEvent: (record, event, signal) => events.record(recordReference(record), event, signal),
    claimEvent: (claim, event, signal) =>
      events.record(
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          name: claim.metadata?.name ?? '',
          namespace: claim.metadata?.namespace ?? '',
          ...(claim.metadata?.uid ? { uid: claim.metadata.uid } : {}),
        },
        event,
        signal,
      ),
  };
}
