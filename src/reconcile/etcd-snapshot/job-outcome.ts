// Reads how an agent Job ended from the Job and its pods: the AgentResult in the container's
// termination message, else the exit code's catalog reason (src/agent/contract.ts).
import { type AgentResult, parseAgentResult, REASON_BY_EXIT_CODE } from '../../agent/contract.ts';
import type { Job, Pod } from '../../informers/resources.ts';
import type { Reason } from '../../reasons/reasons.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { jobCondition } from '../jobs/job-state.ts';

export type JobOutcome =
  | { state: 'running' }
  | { state: 'succeeded'; result: AgentResult | undefined; pod: string | undefined }
  | {
      state: 'failed';
      reason: Reason;
      message: string;
      result: AgentResult | undefined;
      pod: string | undefined;
      /** The Job ran past activeDeadlineSeconds. */
      timedOut: boolean;
    };

// A pod stuck on these never starts; waiting for the Job's deadline would only delay the answer.
const IMAGE_PULL_FAILURES = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
]);

function terminatedState(pod: Pod) {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.map((s) => s.state?.terminated).find((t) => t !== undefined);
}

/** The pod whose ending tells the Job's: the newest one that terminated, else the newest. */
export function decisivePod(pods: readonly Pod[]): Pod | undefined {
  const sorted = [...pods].sort((a, b) =>
    (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''),
  );
  return sorted.find((p) => terminatedState(p) !== undefined) ?? sorted[0];
}

export function jobOutcome(job: Job, pods: readonly Pod[]): JobOutcome {
  const pod = decisivePod(pods);
  const podName = pod?.metadata?.name;
  const terminated = pod ? terminatedState(pod) : undefined;
  const result = parseAgentResult(terminated?.message);

  if (jobCondition(job, 'Complete')) return { state: 'succeeded', result, pod: podName };

  const failed = jobCondition(job, 'Failed');
  if (failed?.reason === 'DeadlineExceeded') {
    return {
      state: 'failed',
      reason: 'JOB_TIMEOUT',
      message: `Job ${job.metadata?.name} exceeded its deadline of ${job.spec?.activeDeadlineSeconds}s`,
      result,
      pod: podName,
      timedOut: true,
    };
  }
  if (!failed) {
    const waiting = (pod?.status?.containerStatuses ?? [])
      .map((s) => s.state?.waiting)
      .find((w) => w?.reason);
    if (waiting?.reason && IMAGE_PULL_FAILURES.has(waiting.reason)) {
      return {
        state: 'failed',
        reason: 'JOB_IMAGE_PULL_FAILED',
        message: `pod ${podName}: ${waiting.reason}: ${waiting.message ?? ''}`.trim(),
        result: undefined,
        pod: podName,
        timedOut: false,
      };
    }
    return { state: 'running' };
  }
  if (pod?.status?.reason === 'Evicted') {
    return {
      state: 'failed',
      reason: 'JOB_POD_EVICTED',
      message: `pod ${podName} was evicted: ${pod.status.message ?? ''}`.trim(),
      result,
      pod: podName,
      timedOut: false,
    };
  }
  const exitCode = terminated?.exitCode;
  const reason =
    result?.error?.reason ??
    (exitCode !== undefined ? REASON_BY_EXIT_CODE[exitCode] : undefined) ??
    'SNAPSHOT_FAILED';
  const message =
    result?.error?.message ??
    (terminated?.message?.trim() ||
      (exitCode !== undefined
        ? `agent exited with code ${exitCode}`
        : `Job ${job.metadata?.name} failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim()));
  return { state: 'failed', reason, message, result, pod: podName, timedOut: false };
}

/** Whether a pod may still be running its container (and so writing files). */
export function podActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** Whether the Job is the record's own (not one of an earlier record of the same name). */
export function ownedBy(job: Job, record: EtcdSnapshot): boolean {
  const uid = record.metadata?.uid;
  return (job.metadata?.ownerReferences ?? []).some(
    (o) => o.kind === 'EtcdSnapshot' && (!uid || o.uid === uid),
  );
}
