import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PipelineMetrics } from '../../../src/reconcile/etcd-snapshot/metrics.ts';
import { PromPipelineMetrics } from '../../../src/telemetry/driver-metrics.ts';

describe('etcd_cluster_member_versions', () => {
  it('is the number of distinct etcd versions per cluster at its last health check', async () => {
    const registry = new Registry();
    const metrics: PipelineMetrics = new PromPipelineMetrics(registry);
    metrics.memberVersions('db/etcd-a', 2);
    metrics.memberVersions('db/etcd-b', 1);
    metrics.memberVersions('db/etcd-b', 1);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE etcd_cluster_member_versions gauge');
    expect(text).toContain('etcd_cluster_member_versions{cluster="db/etcd-a"} 2');
    expect(text).toContain('etcd_cluster_member_versions{cluster="db/etcd-b"} 1');
    metrics.memberVersions('db/etcd-a', 1);
    expect(await registry.metrics()).toContain('etcd_cluster_member_versions{cluster="db/etcd-a"} 1');
  });
});
