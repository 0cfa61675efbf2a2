// The driver's reconcilers, built from the configuration: the snapshot pipeline, the restore
// engine (sharing the pipeline's one-operation-per-cluster turns), and orphans and retention
// (docs/pipeline.md). runDriver starts them after the informers and stops them before the bucket
// Leases are handed over.

import { hostname } from 'node:os';
import { ClusterTurns } from '../reconcile/cluster-turns.ts';
import { createEtcdRestoreController } from '../reconcile/etcd-restore/controller-factory.ts';
import { createEtcdSnapshotController } from '../reconcile/etcd-snapshot/controller-factory.ts';
import { DEFAULT_PIPELINE_OPTIONS } from '../reconcile/etcd-snapshot/options.ts';
import { createScheduleController } from '../reconcile/etcd-snapshot-schedule/controller-factory.ts';
import { createRetentionController } from '../reconcile/retention/controller-factory.ts';
import { createStoreImportController } from '../reconcile/store-import/controller-factory.ts';
import { PromRetentionMetrics } from '../telemetry/retention-metrics.ts';
import type { DriverParts } from './run-driver.ts';
import type { RunnableController } from './start-controllers.ts';

/** The driver's reconcilers: the snapshot pipeline, orphans and retention, and schedules. */
export function defaultControllers(parts: DriverParts): RunnableController[] {
  const { config, informers } = parts;
  // One operation per etcd cluster between the pipeline's saves and the restores.
  const turns = new ClusterTurns();
  const agentJob = {
    agentImage: config.agentImage,
    executorServiceAccount: config.executorServiceAccount,
    jobBackoffLimit: config.jobBackoffLimit,
    jobActiveDeadlineSeconds: config.jobActiveDeadlineSeconds,
    jobTtlSecondsAfterFinished: config.jobTtlSecondsAfterFinished,
    resources: DEFAULT_PIPELINE_OPTIONS.resources,
    agentTracing: {
      exporter: config.traceExporter,
      ...(config.traceEndpoint ? { endpoint: config.traceEndpoint } : {}),
    },
  };
  return [
    createEtcdSnapshotController({
      turns,
      client: parts.client,
      logs: parts.client, // pod log tails of failed Jobs
      informers,
      ownership: parts.ownership,
      logger: parts.log,
      metrics: parts.metrics.pipeline,
      controllerMetrics: parts.metrics.controller,
      options: {
        agentImage: config.agentImage,
        executorServiceAccount: config.executorServiceAccount,
        defaultStorageClass: config.storageClass,
        jobBackoffLimit: config.jobBackoffLimit,
        jobActiveDeadlineSeconds: config.jobActiveDeadlineSeconds,
        jobTtlSecondsAfterFinished: config.jobTtlSecondsAfterFinished,
        workers: config.workers,
        remoteVerifyIntervalMs: config.remoteVerifyIntervalMs,
        discovery: { methods: config.discoveryMethods },
        ...(config.snapshotClaimSize ? { snapshotClaimSize: config.snapshotClaimSize } : {}),
        // The Jobs' agents export where the driver does, so their spans join the snapshot's trace.
        agentTracing: {
          exporter: config.traceExporter,
          ...(config.traceEndpoint ? { endpoint: config.traceEndpoint } : {}),
        },
      },
    }),
    // The restore engine (docs/restore.md), on the same cluster buckets as the pipeline.
    createEtcdRestoreController({
      client: parts.client,
      logs: parts.client,
      informers,
      ownership: parts.ownership,
      logger: parts.log,
      turns,
      metrics: parts.metrics.restore,
      controllerMetrics: parts.metrics.controller,
      options: {
        job: agentJob,
        discovery: { methods: config.discoveryMethods },
        // A remote copy fetched into a claim that is not there: made as the pipeline makes it.
        snapshotClaim: {
          defaultStorageClass: config.storageClass,
          ...(config.snapshotClaimSize ? { size: config.snapshotClaimSize } : {}),
        },
      },
    }),
    // Orphaned records, retention-days and the orphan file sweep (docs/pipeline.md).
    createRetentionController({
      client: parts.client,
      informers,
      ownership: parts.ownership,
      logger: parts.log,
      metrics: new PromRetentionMetrics(parts.metrics.registry),
      controllerMetrics: parts.metrics.controller,
      options: {
        driverName: config.driverName,
        deleteOrphanFiles: config.deleteOrphanFiles,
        deleteUnknownOrphanRecords: config.deleteOrphanRecords,
        sweepIntervalMs: config.orphanSweepIntervalMs,
        orphanFileMinAgeSeconds: Math.round(config.orphanFileMinAgeMs / 1000),
        job: {
          agentImage: config.agentImage,
          executorServiceAccount: config.executorServiceAccount,
          jobActiveDeadlineSeconds: config.jobActiveDeadlineSeconds,
          jobTtlSecondsAfterFinished: config.jobTtlSecondsAfterFinished,
          resources: DEFAULT_PIPELINE_OPTIONS.resources,
        },
      },
    }),
    ...scheduleControllers(parts),
    ...storeImportControllers(parts),
  ];
}

/** `--import-from-store` (docs/object-store.md, "Disaster recovery"): none unless a store is named. */
function storeImportControllers(parts: DriverParts): RunnableController[] {
  const { config } = parts;
  if (config.importFromStore.length === 0) return [];
  return [
    createStoreImportController({
      client: parts.client,
      secrets: config.importFromStore,
      etcdSnapshots: parts.informers.etcdSnapshots,
      ownership: parts.ownership,
      logger: parts.log,
      controllerMetrics: parts.metrics.controller,
      options: {
        driverName: config.driverName,
        intervalMs: config.importIntervalMs,
        storageClass: config.storageClass,
        createdBy: process.env.POD_NAME ?? hostname(),
      },
    }),
  ];
}

/** EtcdSnapshotSchedules (docs/schedules.md), when their CRD and the snapshot API are served. */
function scheduleControllers(parts: DriverParts): RunnableController[] {
  const { config, informers } = parts;
  const schedules = informers.schedules;
  if (!schedules) {
    parts.log.info('the EtcdSnapshotSchedule CRD or the VolumeSnapshot API is not served: no schedules');
    return [];
  }
  // The run informers hold VolumeSnapshots / VolumeGroupSnapshots, read as runs.
  const asRuns = <T>(informer: T) =>
    informer as unknown as Parameters<typeof createScheduleController>[0]['informers']['volumeSnapshots'];
  return [
    createScheduleController({
      client: parts.client,
      informers: {
        etcdSnapshotSchedules: schedules.etcdSnapshotSchedules,
        volumeSnapshots: asRuns(schedules.volumeSnapshots),
        ...(schedules.volumeGroupSnapshots
          ? { volumeGroupSnapshots: asRuns(schedules.volumeGroupSnapshots) }
          : {}),
        persistentVolumeClaims: informers.persistentVolumeClaims,
        persistentVolumes: informers.persistentVolumes,
      },
      ...(schedules.groupSnapshotVersion ? { groupSnapshotVersion: schedules.groupSnapshotVersion } : {}),
      ownership: parts.ownership,
      logger: parts.log,
      metrics: parts.metrics.schedule,
      controllerMetrics: parts.metrics.controller,
      options: {
        driverName: config.driverName,
        allowSeconds: config.scheduleSecondsForTests,
        retentionBatchSize: config.scheduleRetentionBatch,
      },
    }),
  ];
}
