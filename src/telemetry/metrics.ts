// The driver's one Prometheus registry and everything that reports into it. main.ts creates it
// once and hands the parts to the modules that define the hook interfaces:
//   controller → src/reconcile (ControllerMetrics)   leader → src/leader (LeaderMetrics)
//   pipeline   → src/reconcile/etcd-snapshot (PipelineMetrics)
//   restore    → src/reconcile/etcd-restore (RestoreMetrics)
//   csi        → src/csi (CsiCallHooks: csi.onCall)
import { collectDefaultMetrics, Registry } from 'prom-client';
import { PromControllerMetrics, PromLeaderMetrics } from './controller-metrics.ts';
import { CsiCallTelemetry } from './csi-call-hooks.ts';
import { PromPipelineMetrics } from './driver-metrics.ts';
import { PromRestoreMetrics } from './restore-metrics.ts';
import { PromScheduleMetrics } from './schedule-metrics.ts';

export interface DriverMetrics {
  readonly registry: Registry;
  readonly controller: PromControllerMetrics;
  readonly leader: PromLeaderMetrics;
  readonly pipeline: PromPipelineMetrics;
  readonly restore: PromRestoreMetrics;
  readonly csi: CsiCallTelemetry;
  /** EtcdSnapshotSchedules (etcd_snapshot_schedule_*): registered even when no schedule runs, so alerts find the families. */
  readonly schedule: PromScheduleMetrics;
}

export interface DriverMetricsOptions {
  /** Node process metrics (process_*, nodejs_*): on unless a test turns them off. */
  processMetrics?: boolean;
}

export function createDriverMetrics(options: DriverMetricsOptions = {}): DriverMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const pipeline = new PromPipelineMetrics(registry);
  return {
    registry,
    controller: new PromControllerMetrics(registry),
    leader: new PromLeaderMetrics(registry),
    pipeline,
    // A finished restore counts in the pipeline's operation families (operation="restore").
    restore: new PromRestoreMetrics(registry, pipeline),
    csi: new CsiCallTelemetry(registry),
    schedule: new PromScheduleMetrics(registry),
  };
}
