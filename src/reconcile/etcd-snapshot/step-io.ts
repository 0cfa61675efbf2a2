// What the reconciler lends the steps that live in files of their own (job-create-failure.ts,
// membership-drift.ts, version-skew.ts): its ports and its own status writes, so those steps
// write through the same read-your-writes overlay and fail a record the same way.
import type { EtcdCredentials } from '../../etcd/credentials.ts';
import type { Job } from '../../informers/resources.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus, EtcdSnapshotStep } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import type { PipelineMetrics } from './metrics.ts';
import type { PipelineOptions } from './options.ts';
import type { HealthChecker, PipelineApi } from './ports.ts';

export interface PipelineFailureReport {
  reason: string;
  step: EtcdSnapshotStep;
  message: string;
}

export interface StepIo {
  api: PipelineApi;
  options: PipelineOptions;
  metrics: PipelineMetrics;
  health: HealthChecker | undefined;
  now(): Date;
  /** Writes the record's status (resourceVersion-guarded); returns the record written. */
  putStatus(record: EtcdSnapshot, status: EtcdSnapshotStatus, ctx: ReconcileContext): Promise<EtcdSnapshot>;
  /** Makes the record Failed: status, Warning Event, metric, log line. */
  fail(record: EtcdSnapshot, ctx: ReconcileContext, failure: PipelineFailureReport): Promise<void>;
  resolveCredentials(record: EtcdSnapshot, ctx: ReconcileContext): Promise<EtcdCredentials>;
  /** The Job from the cache, else from the API. */
  currentJob(namespace: string, name: string, ctx: ReconcileContext): Promise<Job | undefined>;
}

/** The health check's chosen source first; the agent falls back to the others in order. */
export function sourceFirst(endpoints: string[], source: string | undefined): string[] {
  return source ? [source, ...endpoints.filter((e) => e !== source)] : endpoints;
}
