// Informer indexes of snapshot records and their Jobs, registered on the shared informers by the
// controller factories and read by etcd-snapshot/ and retention/: records by etcd cluster (one
// save per cluster), and the pipeline's Jobs and pods by record and by cluster (what a record's
// save is doing, whether any save of a cluster runs).
import type { Job, Pod } from '../../informers/resources.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { APP_NAME, LABEL_APP, LABEL_CLUSTER, LABEL_OPERATION } from '../jobs/labels.ts';
import { LABEL_SNAPSHOT_ID } from './names.ts';

/** Records by `spec.cluster.key`. */
export const INDEX_RECORD_CLUSTER = 'pipeline-cluster-key';
export const recordClusterIndexer = (r: EtcdSnapshot): string[] =>
  r.spec?.cluster?.key ? [r.spec.cluster.key] : [];

/** Pipeline Jobs and pods by `<ns>/cluster/<cluster label>/<operation>` and `<ns>/snapshot/<id>/<operation>`. */
export const INDEX_PIPELINE_WORKLOAD = 'pipeline-workload';
export function pipelineWorkloadIndexer(obj: Job | Pod): string[] {
  const labels = obj.metadata?.labels;
  if (labels?.[LABEL_APP] !== APP_NAME) return [];
  const ns = obj.metadata?.namespace ?? '';
  const op = labels[LABEL_OPERATION];
  if (!op) return [];
  const out: string[] = [];
  const cluster = labels[LABEL_CLUSTER];
  if (cluster) out.push(clusterWorkloadKey(ns, cluster, op));
  const id = labels[LABEL_SNAPSHOT_ID];
  if (id) out.push(snapshotWorkloadKey(ns, id, op));
  return out;
}

export const clusterWorkloadKey = (namespace: string, cluster: string, operation: string) =>
  `${namespace}/cluster/${cluster}/${operation}`;
export const snapshotWorkloadKey = (namespace: string, snapshotId: string, operation: string) =>
  `${namespace}/snapshot/${snapshotId}/${operation}`;
