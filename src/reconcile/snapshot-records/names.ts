// Deterministic names and labels of what the pipeline makes for a snapshot record: the state of a
// save or a delete is found again from the record's name alone, by any replica, after any crash.
// Shared by the reconcilers that work on snapshot records (etcd-snapshot/, retention/).
import { SNAPSHOT_GROUP } from '../../records/etcd-snapshot.ts';
import { boundedName, labelValue, workloadLabels } from '../jobs/labels.ts';

/** The record a Job (and its pods, through the template) works for. */
export const LABEL_SNAPSHOT_ID = `${SNAPSHOT_GROUP}/snapshot-id`;

export type JobOperation = 'save' | 'upload' | 'delete' | 'verify';

/** `snapshot-<operation>-<record name>`, hash-shortened past 63 characters (Job names are labels on pods). */
export function jobName(operation: JobOperation, recordName: string): string {
  return boundedName(`snapshot-${operation}-`, recordName);
}

/** Labels of a pipeline Job and its pods. The cluster label lets one-save-per-cluster find them. */
export function jobLabels(
  operation: JobOperation,
  recordName: string,
  clusterName: string,
): Record<string, string> {
  return {
    ...workloadLabels(operation, clusterName),
    [LABEL_SNAPSHOT_ID]: labelValue(recordName) ?? jobName(operation, recordName),
  };
}

/** The snapshot directory of a record inside the claim: the directory of `spec.storage.path`. */
export function snapshotDir(storagePath: string): string {
  const slash = storagePath.lastIndexOf('/');
  return slash < 0 ? '' : storagePath.slice(0, slash);
}
