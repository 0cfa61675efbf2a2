// The pipeline's options (flags of main.ts; docs/pipeline.md lists them) with their defaults.
// Their ranges are checked once, where they are read (src/config): a bad flag stops the driver
// with the usage before anything starts, so nothing here checks them again.
import type { DiscoveryOptions } from '../../etcd/discovery.ts';
import type { AgentJobOptions } from '../jobs/agent-job.ts';
import { JOB_CREATE_RETRY_WINDOW_MS } from './job-create-failure.ts';

/** The agent Jobs' options (src/reconcile/jobs/agent-job.ts) and the pipeline's own. */
export interface PipelineOptions extends AgentJobOptions {
  /** Pod retries of a Job before it fails (Job spec.backoffLimit). */
  jobBackoffLimit: number;
  /** Size of a new snapshot claim (a quantity, e.g. "10Gi"); derived from etcd's db size when unset. */
  snapshotClaimSize?: string;
  /** Storage class of snapshot claims when the record names none. */
  defaultStorageClass: string;
  /** Concurrent reconciles (distinct records). */
  workers: number;
  /** Timeout of CheckHealth's calls to etcd. */
  healthTimeoutMs: number;
  /** How often a waiting record looks again when no event is expected to wake it. */
  pollIntervalMs: number;
  /** How long a save Job the API refuses is tried again before the record fails (job-create-failure.ts). */
  jobCreateRetryWindowMs: number;
  /** How often a Ready record's remote copy is verified in its store (remote-verify.ts); 0: never. */
  remoteVerifyIntervalMs: number;
  /** Which discovery methods rediscovery may use (ETCD_DISCOVERY_METHOD); all when unset. */
  discovery?: DiscoveryOptions;
}

export const DEFAULT_PIPELINE_OPTIONS: Omit<
  PipelineOptions,
  'agentImage' | 'executorServiceAccount' | 'defaultStorageClass'
> = {
  jobBackoffLimit: 0,
  remoteVerifyIntervalMs: 0,
  jobActiveDeadlineSeconds: 600,
  jobTtlSecondsAfterFinished: 3600,
  workers: 4,
  healthTimeoutMs: 5_000,
  pollIntervalMs: 10_000,
  jobCreateRetryWindowMs: JOB_CREATE_RETRY_WINDOW_MS,
  resources: {
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '1', memory: '512Mi' },
  },
};

export type PipelineOptionsInput = Pick<
  PipelineOptions,
  'agentImage' | 'executorServiceAccount' | 'defaultStorageClass'
> &
  Partial<PipelineOptions>;

/** The defaults under the given options. Values are not checked again: src/config did that. */
export function resolvePipelineOptions(input: PipelineOptionsInput): PipelineOptions {
  return { ...DEFAULT_PIPELINE_OPTIONS, ...input };
}
