import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RestoreMetrics } from '../../../src/reconcile/etcd-restore/metrics.ts';
import { PromPipelineMetrics } from '../../../src/telemetry/driver-metrics.ts';
import { PromRestoreMetrics } from '../../../src/telemetry/restore-metrics.ts';

describe('restore metrics', () => {
  it('count a finished restore as operation restore, with its duration, success or failure', async () => {
    const registry = new Registry();
    const metrics: RestoreMetrics = new PromRestoreMetrics(registry, new PromPipelineMetrics(registry));
    metrics.restoreFinished({ status: 'success', cluster: 'etcd/main', durationSeconds: 42 });
    metrics.restoreFinished({
      status: 'RESTORE_VERIFICATION_FAILED',
      cluster: 'etcd/main',
      durationSeconds: 80,
    });
    const text = await registry.metrics();
    expect(text).toContain(
      'etcd_snapshot_operations_total{operation="restore",status="success",cluster="etcd/main"} 1',
    );
    expect(text).toContain(
      'etcd_snapshot_operations_total{operation="restore",status="failure",cluster="etcd/main"} 1',
    );
    expect(text).toContain('etcd_snapshot_operation_duration_seconds_count{operation="restore"} 2');
  });

  it('the phase gauge is 1 for the phase the cluster’s restore is in and 0 for the others', async () => {
    const registry = new Registry();
    const metrics = new PromRestoreMetrics(registry, new PromPipelineMetrics(registry));
    metrics.restorePhase('r1', 'etcd/main', 'Quiescing');
    metrics.restorePhase('r1', 'etcd/main', 'Restoring');
    const text = await registry.metrics();
    expect(text).toContain('etcd_snapshot_restore_phase{cluster="etcd/main",phase="Restoring"} 1');
    expect(text).toContain('etcd_snapshot_restore_phase{cluster="etcd/main",phase="Quiescing"} 0');
  });
});
