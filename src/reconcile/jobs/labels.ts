// Labels and names every workload of the driver carries (Jobs, their pods, snapshot claims): the
// app label the Job informer selects on, the operation, the etcd cluster, and object names that
// stay deterministic (found again after a crash) yet within Kubernetes' 63-character limit.
import { createHash } from 'node:crypto';
import { LABEL_CLUSTER, SNAPSHOT_GROUP } from '../../records/etcd-snapshot.ts';

export const LABEL_APP = 'app';
export const APP_NAME = 'etcd-snapshot-driver';
export const LABEL_OPERATION = `${SNAPSHOT_GROUP}/operation`;
export { LABEL_CLUSTER };

/** The driver's own Jobs, for the Job informer: the cluster's other Jobs are none of its business. */
export const AGENT_JOB_SELECTOR = `${LABEL_APP}=${APP_NAME}`;

const MAX_NAME = 63;
const HASH_LENGTH = 10;

/** `<prefix><name>`, its end replaced by a hash of `name` past 63 characters (Job names are labels on pods). */
export function boundedName(prefix: string, name: string): string {
  const plain = `${prefix}${name}`;
  if (plain.length <= MAX_NAME) return plain;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_NAME - prefix.length - HASH_LENGTH - 1;
  return `${prefix}${name.slice(0, room).replace(/-+$/, '')}-${hash}`;
}

/** A label value (≤ 63, alphanumeric ends) or undefined when the text cannot be one. */
export function labelValue(value: string): string | undefined {
  return value.length <= MAX_NAME && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value)
    ? value
    : undefined;
}

/** The app and operation labels, and the cluster label when the name can be one. */
export function workloadLabels(operation: string, clusterName: string): Record<string, string> {
  const labels: Record<string, string> = { [LABEL_APP]: APP_NAME, [LABEL_OPERATION]: operation };
  const cluster = labelValue(clusterName);
  if (cluster) labels[LABEL_CLUSTER] = cluster;
  return labels;
}
