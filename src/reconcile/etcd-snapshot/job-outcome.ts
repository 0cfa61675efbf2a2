// Whether a Job is a record's own; how a Job ended is read in ../jobs/job-outcome.ts (shared with
// the restore engine), re-exported here for the pipeline's files.
import type { Job } from '../../informers/resources.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';

export { decisivePod, type JobOutcome, jobOutcome, podActive } from '../jobs/job-outcome.ts';

/** Whether the Job is the record's own (not one of an earlier record of the same name). */
export function ownedBy(job: Job, record: EtcdSnapshot): boolean {
  const uid = record.metadata?.uid;
  return (job.metadata?.ownerReferences ?? []).some(
    (o) => o.kind === 'EtcdSnapshot' && (!uid || o.uid === uid),
  );
}
