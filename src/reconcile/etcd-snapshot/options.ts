// The pipeline's options (flags of main.ts; docs/pipeline.md lists them) with their defaults and
// validation. Bad values fail at start with the option's name and value.
import type { JobTracingSettings } from '../../telemetry/agent-telemetry.ts';
import { TRACE_EXPORTERS } from '../../telemetry/tracing.ts';
import { JOB_CREATE_RETRY_WINDOW_MS } from './job-create-failure.ts';

export interface PipelineOptions {
  /** The driver image the agent Jobs run (its entrypoint is `etcd-snapshot-driver`). */
  agentImage: string;
  /**
   * The agent container's command, for an image whose entrypoint is not `etcd-snapshot-driver`
   * (the args stay `agent <operation> …`); unset: the image's entrypoint.
   */
  agentCommand?: string[];
  /** ServiceAccount of the Jobs' pods, in each etcd cluster's namespace; its token is not mounted. */
  executorServiceAccount: string;
  /** Pod retries of a Job before it fails (Job spec.backoffLimit). */
  jobBackoffLimit: number;
  /** Upper bound of a Job's run time; a record's snapshotTimeoutSeconds lowers it for its save. */
  jobActiveDeadlineSeconds: number;
  /** How long a finished Job stays for inspection before Kubernetes removes it. */
  jobTtlSecondsAfterFinished: number;
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
  /** Resources of the agent container. */
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  /**
   * Where the agents export their spans (the driver's --trace-exporter / --trace-endpoint): the
   * Jobs get it as OTEL_* env next to TRACEPARENT, so their spans reach the same collector.
   * Unset: Jobs get TRACEPARENT alone (the agent then falls back to OTLP's default endpoint).
   */
  agentTracing?: JobTracingSettings;
}

export const DEFAULT_PIPELINE_OPTIONS: Omit<
  PipelineOptions,
  'agentImage' | 'executorServiceAccount' | 'defaultStorageClass'
> = {
  jobBackoffLimit: 0,
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

const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;

export function resolvePipelineOptions(input: PipelineOptionsInput): PipelineOptions {
  const o: PipelineOptions = { ...DEFAULT_PIPELINE_OPTIONS, ...input };
  const bad = (name: string, value: unknown, why: string) =>
    new RangeError(`pipeline option ${name}=${JSON.stringify(value)}: ${why}`);
  if (!o.agentImage.trim()) throw bad('agentImage', o.agentImage, 'an image reference is required');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.executorServiceAccount))
    throw bad('executorServiceAccount', o.executorServiceAccount, 'must be a ServiceAccount name');
  if (!o.defaultStorageClass.trim())
    throw bad('defaultStorageClass', o.defaultStorageClass, 'a StorageClass name is required');
  for (const [name, value, min] of [
    ['jobBackoffLimit', o.jobBackoffLimit, 0],
    ['jobActiveDeadlineSeconds', o.jobActiveDeadlineSeconds, 1],
    ['jobTtlSecondsAfterFinished', o.jobTtlSecondsAfterFinished, 0],
    ['workers', o.workers, 1],
    ['healthTimeoutMs', o.healthTimeoutMs, 1],
    ['pollIntervalMs', o.pollIntervalMs, 1],
    ['jobCreateRetryWindowMs', o.jobCreateRetryWindowMs, 0],
  ] as const) {
    if (!Number.isInteger(value) || value < min) throw bad(name, value, `must be an integer ≥ ${min}`);
  }
  if (o.snapshotClaimSize !== undefined && !QUANTITY.test(o.snapshotClaimSize))
    throw bad('snapshotClaimSize', o.snapshotClaimSize, 'must be a quantity such as 10Gi');
  if (o.agentTracing !== undefined) {
    const { exporter, endpoint } = o.agentTracing;
    if (!(TRACE_EXPORTERS as readonly string[]).includes(exporter))
      throw bad('agentTracing.exporter', exporter, `must be one of ${TRACE_EXPORTERS.join(', ')}`);
    if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint))
      throw bad('agentTracing.endpoint', endpoint, 'must be an http(s) URL');
  }
  return o;
}
