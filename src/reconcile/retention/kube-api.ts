// The retention controller's API calls. Jobs and Events about records go through the pipeline's
// PipelineApi (kube-api.ts there); besides those it deletes records (the request to delete their
// files) and reports on claims.
import { randomBytes } from 'node:crypto';
import type { PersistentVolumeClaim } from '../../informers/resources.ts';
import { isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { KubeEvent, PipelineApi } from '../etcd-snapshot/ports.ts';

export interface RetentionApi
  extends Pick<PipelineApi, 'createJob' | 'getJob' | 'deleteJob' | 'listJobPods' | 'recordEvent'> {
  /** Deletes the record, only the one read (uid precondition); gone already → no-op. */
  deleteRecord(record: EtcdSnapshot, signal: AbortSignal): Promise<void>;
  /** An Event on a snapshot claim; failures are logged, never thrown. */
  claimEvent(claim: PersistentVolumeClaim, event: KubeEvent, signal: AbortSignal): Promise<void>;
}

const enc = encodeURIComponent;

export function kubeRetentionApi(client: JsonRequester, pipeline: PipelineApi, logger: Logger): RetentionApi {
  return {
    createJob: (job, signal) => pipeline.createJob(job, signal),
    getJob: (ns, name, signal) => pipeline.getJob(ns, name, signal),
    deleteJob: (ns, name, signal) => pipeline.deleteJob(ns, name, signal),
    listJobPods: (ns, name, signal) => pipeline.listJobPods(ns, name, signal),
    recordEvent: (record, event, signal) => pipeline.recordEvent(record, event, signal),
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
    async claimEvent(claim, event, signal) {
      const namespace = claim.metadata?.namespace ?? '';
      const now = new Date().toISOString();
      try {
        await client.request('POST', `/api/v1/namespaces/${enc(namespace)}/events`, {
          body: {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name: `${claim.metadata?.name}.${randomBytes(6).toString('hex')}`, namespace },
            involvedObject: {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              name: claim.metadata?.name,
              namespace,
              uid: claim.metadata?.uid,
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
        logger.warn({ err, reason: event.reason }, 'cannot record an Event');
      }
    },
  };
}
