// One agent Job of a restore, driven from its deterministic name: created when absent (its name is
// already in status), judged when it ended. A Job of that name that is not this restore's own (a
// deleted restore's of the same name) is never judged: it is waited out.
import type { AgentResult } from '../../agent/contract.ts';
import type { Job } from '../../informers/resources.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import { jobOutcome } from '../jobs/job-outcome.ts';
import type { ReconcileContext } from '../result.ts';
import { ownedByRestore } from './jobs.ts';
import type { RestoreIo } from './restore-io.ts';

export type JobRun =
  | { state: 'running'; detail: string }
  | { state: 'succeeded'; result: AgentResult | undefined }
  | { state: 'failed'; reason: string; message: string };

const LOG_TAIL_LINES = 20;

export async function runJob(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
  build: () => Job,
): Promise<JobRun> {
  const wanted = build();
  const namespace = wanted.metadata?.namespace ?? '';
  const name = wanted.metadata?.name ?? '';
  const job = await io.currentJob(namespace, name, ctx);
  if (!job) {
    ctx.assertOwner();
    await io.api.createJob(wanted, ctx.signal);
    return { state: 'running', detail: `Job ${name} created` };
  }
  if (!ownedByRestore(job, restore)) {
    return { state: 'running', detail: `Job ${name} of an earlier restore of this name is still there` };
  }
  const pods = await io.api.listJobPods(namespace, name, ctx.signal);
  const outcome = jobOutcome(job, pods);
  if (outcome.state === 'running') return { state: 'running', detail: `Job ${name} running` };
  if (outcome.state === 'succeeded') return { state: 'succeeded', result: outcome.result };
  let message = outcome.message;
  // The agent's result carries etcdutl's stderr tail; without a result the pod log's tail tells.
  if (!outcome.result && outcome.pod) {
    const tail = await io.api.podLogTail(namespace, outcome.pod, LOG_TAIL_LINES, ctx.signal);
    if (tail) message = `${message}; log tail: ${tail.trim()}`;
  }
  return {
    state: 'failed',
    reason: outcome.reason === 'SNAPSHOT_FAILED' ? 'RESTORE_FAILED' : outcome.reason,
    message: `Job ${name}: ${message}`,
  };
}
