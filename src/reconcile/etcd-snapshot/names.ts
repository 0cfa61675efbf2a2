// Deterministic names and labels of what the pipeline makes for a record: the state of a save or a
// delete is found again from the record's name alone, by any replica, after any crash.
import { createHash } from 'node:crypto';
import { LABEL_CLUSTER, SNAPSHOT_GROUP } from '../../records/etcd-snapshot.ts';

export const LABEL_APP = 'app';
export const APP_NAME = 'etcd-snapshot-driver';
/** The record a Job (and its pods, through the template) works for. */
export const LABEL_SNAPSHOT_ID = `${SNAPSHOT_GROUP}/snapshot-id`;
export const LABEL_OPERATION = `${SNAPSHOT_GROUP}/operation`;
export { LABEL_CLUSTER };

export type JobOperation = 'save' | 'delete';

const MAX_NAME = 63;

/** `snapshot-<operation>-<record name>`, hash-shortened past 63 characters (Job names are labels on pods). */
export function jobName(operation: JobOperation, recordName: string): string {
  const plain = `snapshot-${operation}-${recordName}`;
  if (plain.length <= MAX_NAME) return plain;
  const hash = createHash('sha256').update(recordName).digest('hex').slice(0, 10);
  const room = MAX_NAME - `snapshot-${operation}-`.length - hash.length - 1;
  return `snapshot-${operation}-${recordName.slice(0, room).replace(/-+$/, '')}-${hash}`;
}

/** A label value (≤ 63, alphanumeric ends) or undefined when the text cannot be one. */
export function labelValue(value: string): string | undefined {
  return value.length <= MAX_NAME && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value)
    ? value
    : undefined;
}

/** Labels of a pipeline Job and its pods. The cluster label lets one-save-per-cluster find them. */
export function jobLabels(
  operation: JobOperation,
  recordName: string,
  clusterName: string,
): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL_APP]: APP_NAME,
    [LABEL_SNAPSHOT_ID]: labelValue(recordName) ?? jobName(operation, recordName),
    [LABEL_OPERATION]: operation,
  };
  const cluster = labelValue(clusterName);
  if (cluster) labels[LABEL_CLUSTER] = cluster;
  return labels;
}

/** The snapshot directory of a record inside the claim: the directory of `spec.storage.path`. */
export function snapshotDir(storagePath: string): string {
  const slash = storagePath.lastIndexOf('/');
  return slash < 0 ? '' : storagePath.slice(0, slash);
}
