import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LeaderMetrics } from '../../../src/leader/metrics.ts';
import type { StorageReason } from '../../../src/reasons/reasons.ts';
import type { PipelineMetrics } from '../../../src/reconcile/etcd-snapshot/metrics.ts';
import type { ControllerMetrics } from '../../../src/reconcile/metrics.ts';
import { BoundedLabel } from '../../../src/telemetry/bounded-label.ts';
import { PromControllerMetrics, PromLeaderMetrics } from '../../../src/telemetry/controller-metrics.ts';
import { LABEL_LIMITS, PromPipelineMetrics } from '../../../src/telemetry/driver-metrics.ts';
import { createDriverMetrics } from '../../../src/telemetry/metrics.ts';
import { renderOpenMetrics } from '../../../src/telemetry/openmetrics.ts';

/** The value of one sample line `name{labels} value` of the text format. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === series) return Number(line.slice(at + 1));
  }
  return undefined;
}

describe('controller-runtime families', () => {
  it('implements ControllerMetrics and LeaderMetrics with upstream names and labels', async () => {
    const registry = new Registry();
    const controller: ControllerMetrics = new PromControllerMetrics(registry);
    const leader: LeaderMetrics = new PromLeaderMetrics(registry);
    controller.setDepth('etcdsnapshot', 3);
    controller.incAdds('etcdsnapshot');
    controller.incAdds('etcdsnapshot');
    controller.observeQueueDuration('etcdsnapshot', 0.002);
    controller.observeWorkDuration('etcdsnapshot', 0.5);
    controller.incRetries('etcdsnapshot');
    controller.setUnfinishedWork('etcdsnapshot', 1.5);
    controller.setLongestRunningProcessor('etcdsnapshot', 1.2);
    controller.incReconcile('etcdsnapshot', 'requeue_after');
    controller.incReconcileErrors('etcdsnapshot');
    controller.incTerminalErrors('etcdsnapshot');
    controller.observeReconcileTime('etcdsnapshot', 0.3);
    controller.setActiveWorkers('etcdsnapshot', 2);
    controller.incHandlerErrors('etcdsnapshot');
    leader.setMasterStatus('esd-bucket-00', true);
    leader.setMasterStatus('esd-bucket-01', false);
    leader.setBucketsHeld('esd', 1);
    leader.setLiveReplicas('esd', 2);
    const text = await registry.metrics();
    expect(sample(text, 'workqueue_depth{name="etcdsnapshot"}')).toBe(3);
    expect(sample(text, 'workqueue_adds_total{name="etcdsnapshot"}')).toBe(2);
    expect(sample(text, 'workqueue_queue_duration_seconds_count{name="etcdsnapshot"}')).toBe(1);
    expect(sample(text, 'workqueue_work_duration_seconds_sum{name="etcdsnapshot"}')).toBe(0.5);
    expect(sample(text, 'workqueue_retries_total{name="etcdsnapshot"}')).toBe(1);
    expect(sample(text, 'workqueue_unfinished_work_seconds{name="etcdsnapshot"}')).toBe(1.5);
    expect(sample(text, 'workqueue_longest_running_processor_seconds{name="etcdsnapshot"}')).toBe(1.2);
    expect(
      sample(text, 'controller_runtime_reconcile_total{controller="etcdsnapshot",result="requeue_after"}'),
    ).toBe(1);
    expect(sample(text, 'controller_runtime_reconcile_errors_total{controller="etcdsnapshot"}')).toBe(1);
    expect(
      sample(text, 'controller_runtime_terminal_reconcile_errors_total{controller="etcdsnapshot"}'),
    ).toBe(1);
    expect(
      sample(text, 'controller_runtime_reconcile_time_seconds_bucket{le="0.35",controller="etcdsnapshot"}'),
    ).toBe(1);
    expect(sample(text, 'controller_runtime_active_workers{controller="etcdsnapshot"}')).toBe(2);
    expect(sample(text, 'controller_runtime_event_handler_errors_total{controller="etcdsnapshot"}')).toBe(1);
    expect(sample(text, 'leader_election_master_status{name="esd-bucket-00"}')).toBe(1);
    expect(sample(text, 'leader_election_master_status{name="esd-bucket-01"}')).toBe(0);
    expect(sample(text, 'leader_election_buckets_held{name="esd"}')).toBe(1);
    expect(sample(text, 'leader_election_live_replicas{name="esd"}')).toBe(2);
  });
});

describe('pipeline families (seed §15)', () => {
  it('exports every seed series with its labels and no snapshot ID', async () => {
    const registry = new Registry();
    const m = new PromPipelineMetrics(registry);
    m.operationFinished({ operation: 'save', status: 'success', cluster: 'db/etcd-a', durationSeconds: 42 });
    m.operationFinished({ operation: 'save', status: 'failure', cluster: 'db/etcd-a', durationSeconds: 3 });
    m.snapshotSize('db/etcd-a', 1_048_576);
    m.clusterHealth('db/etcd-a', { up: 2, down: 1 }, true);
    m.clusterHealth('db/etcd-b', 1, false);
    m.jobTimeout('db/etcd-a');
    m.storageError('db/etcd-a', 'STORAGE_QUOTA_EXCEEDED');
    m.storageUsage('db', 'etcd-snapshots', 100, 900);
    m.etcdRequest('db/etcd-a', 'status', 0.02, false);
    m.setSnapshotCountSource(() => [
      { cluster: 'db/etcd-a', status: 'ready', count: 4 },
      { cluster: 'db/etcd-a', status: 'failed', count: 1 },
    ]);
    const text = await registry.metrics();
    expect(
      sample(text, 'etcd_snapshot_operations_total{operation="save",status="success",cluster="db/etcd-a"}'),
    ).toBe(1);
    expect(
      sample(text, 'etcd_snapshot_operations_total{operation="save",status="failure",cluster="db/etcd-a"}'),
    ).toBe(1);
    expect(sample(text, 'etcd_snapshot_operation_duration_seconds_bucket{le="60",operation="save"}')).toBe(2);
    expect(sample(text, 'etcd_snapshot_operation_duration_seconds_bucket{le="30",operation="save"}')).toBe(1);
    expect(sample(text, 'etcd_snapshot_size_bytes{cluster="db/etcd-a"}')).toBe(1_048_576);
    expect(sample(text, 'etcd_snapshots_total{cluster="db/etcd-a",status="ready"}')).toBe(4);
    expect(sample(text, 'etcd_snapshots_total{cluster="db/etcd-a",status="failed"}')).toBe(1);
    expect(sample(text, 'etcd_cluster_members{cluster="db/etcd-a",state="up"}')).toBe(2);
    expect(sample(text, 'etcd_cluster_members{cluster="db/etcd-a",state="down"}')).toBe(1);
    expect(sample(text, 'etcd_cluster_members{cluster="db/etcd-b",state="up"}')).toBe(1);
    expect(sample(text, 'etcd_cluster_has_quorum{cluster="db/etcd-a"}')).toBe(1);
    expect(sample(text, 'etcd_cluster_has_quorum{cluster="db/etcd-b"}')).toBe(0);
    expect(sample(text, 'etcd_snapshot_job_timeout_total{cluster="db/etcd-a"}')).toBe(1);
    expect(
      sample(
        text,
        'etcd_snapshot_storage_errors_total{cluster="db/etcd-a",error_type="STORAGE_QUOTA_EXCEEDED"}',
      ),
    ).toBe(1);
    expect(sample(text, 'etcd_snapshot_pvc_usage_bytes{namespace="db",pvc_name="etcd-snapshots"}')).toBe(100);
    expect(sample(text, 'etcd_snapshot_pvc_available_bytes{namespace="db",pvc_name="etcd-snapshots"}')).toBe(
      900,
    );
    expect(sample(text, 'etcd_operation_latency_seconds_count{operation="status"}')).toBe(1);
    expect(sample(text, 'etcd_operation_errors_total{cluster="db/etcd-a",operation="status"}')).toBe(1);
    expect(text).not.toContain('snapshot_id');
  });

  it("meets the pipeline's interface: create counts as save, a failure reason as failure", async () => {
    const registry = new Registry();
    const m: PipelineMetrics = new PromPipelineMetrics(registry);
    m.operationFinished({ operation: 'create', status: 'success', cluster: 'c', durationSeconds: 1 });
    m.operationFinished({
      operation: 'create',
      status: 'ETCD_QUORUM_LOST',
      cluster: 'c',
      durationSeconds: 1,
    });
    m.clusterHealth('c', { up: 3, down: 0 }, true);
    const text = await registry.metrics();
    expect(
      sample(text, 'etcd_snapshot_operations_total{operation="save",status="success",cluster="c"}'),
    ).toBe(1);
    expect(
      sample(text, 'etcd_snapshot_operations_total{operation="save",status="failure",cluster="c"}'),
    ).toBe(1);
    expect(sample(text, 'etcd_cluster_members{cluster="c",state="up"}')).toBe(3);
    expect(sample(text, 'etcd_cluster_members{cluster="c",state="down"}')).toBe(0);
  });

  it('reads snapshot counts afresh at every scrape (a state, not an event count)', async () => {
    const registry = new Registry();
    const m = new PromPipelineMetrics(registry);
    let counts = [{ cluster: 'c', status: 'deleting', count: 2 }];
    m.setSnapshotCountSource(() => counts);
    expect(sample(await registry.metrics(), 'etcd_snapshots_total{cluster="c",status="deleting"}')).toBe(2);
    counts = [{ cluster: 'c', status: 'ready', count: 1 }];
    const text = await registry.metrics();
    expect(sample(text, 'etcd_snapshots_total{cluster="c",status="deleting"}')).toBeUndefined();
    expect(sample(text, 'etcd_snapshots_total{cluster="c",status="ready"}')).toBe(1);
  });

  it('bounds cardinality: past the limit a label value reads "other"', async () => {
    const registry = new Registry();
    const m = new PromPipelineMetrics(registry);
    // Values outside the type, as an untyped caller could send them: the guard still holds.
    for (let i = 0; i < LABEL_LIMITS.reasons + 10; i++) m.storageError('c', `reason_${i}` as StorageReason);
    const text = await registry.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('etcd_snapshot_storage_errors_total{'));
    expect(series).toHaveLength(LABEL_LIMITS.reasons + 1);
    expect(sample(text, 'etcd_snapshot_storage_errors_total{cluster="c",error_type="other"}')).toBe(10);
  });

  it('BoundedLabel refuses a non-positive limit', () => {
    expect(() => new BoundedLabel(0)).toThrow(/label limit must be a positive integer, got 0/);
  });
});

describe('one registry, two formats', () => {
  it('renders OpenMetrics without disturbing the Prometheus text format', async () => {
    const metrics = createDriverMetrics({ processMetrics: true });
    metrics.pipeline.jobTimeout('c');
    metrics.controller.observeReconcileTime('x', 0.1);
    const om = await renderOpenMetrics(metrics.registry);
    expect(om.endsWith('# EOF\n')).toBe(true);
    expect(om).toContain('# TYPE etcd_snapshot_job_timeout counter');
    expect(om).toContain('etcd_snapshot_job_timeout_total{cluster="c"} 1');
    expect(om).toContain('controller_runtime_reconcile_time_seconds_bucket{le="+Inf",controller="x"} 1');
    expect(om).toContain('# TYPE process_cpu_user_seconds counter');
    const text = await metrics.registry.metrics();
    expect(sample(text, 'etcd_snapshot_job_timeout_total{cluster="c"}')).toBe(1);
    expect(text).toContain('# TYPE etcd_snapshot_job_timeout_total counter');
  });
});
