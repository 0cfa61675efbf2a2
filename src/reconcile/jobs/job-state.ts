// What a Job's status says, read the same way by every reconciler.
import type { Job } from '../../informers/resources.ts';

/** The Job's condition of this type when it is True. */
export function jobCondition(job: Job, type: string): { reason?: string; message?: string } | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Whether a Job has finished (either way). */
export function jobFinished(job: Job): boolean {
  return jobCondition(job, 'Complete') !== undefined || jobCondition(job, 'Failed') !== undefined;
}
