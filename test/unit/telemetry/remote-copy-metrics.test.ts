// The remote-copy families: outcome, failures by reason, duration and stored bytes of the
// successful uploads, and the last-success gauge read from its source at each scrape.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PipelineMetrics } from '../../../src/reconcile/etcd-snapshot/metrics.ts';
import { PromPipelineMetrics } from '../../../src/telemetry/driver-metrics.ts';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => !l.startsWith('#') && l.slice(0, l.lastIndexOf(' ')) === series);
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('remote copy families', () => {
  it('count outcomes, failures by reason, and the figures of successful uploads', async () => {
    const registry = new Registry();
    const m: PipelineMetrics = new PromPipelineMetrics(registry);
    m.remoteCopy('db/etcd-a', 'success', { seconds: 12.5, storedBytes: 4096, compression: 'zstd' });
    m.remoteCopy('db/etcd-a', 'success', { seconds: 2, storedBytes: 1024, compression: 'zstd' });
    m.remoteCopy('db/etcd-a', 'OBJECT_STORE_UNREACHABLE');
    m.remoteCopy('db/etcd-a', 'OBJECT_STORE_UNREACHABLE');
    m.remoteCopy('db/etcd-b', 'OBJECT_STORE_AUTH_FAILED');
    const text = await registry.metrics();
    expect(sample(text, 'etcd_snapshot_remote_copies_total{cluster="db/etcd-a",status="success"}')).toBe(2);
    expect(sample(text, 'etcd_snapshot_remote_copies_total{cluster="db/etcd-a",status="failure"}')).toBe(2);
    expect(
      sample(
        text,
        'etcd_snapshot_remote_copy_errors_total{cluster="db/etcd-a",reason="OBJECT_STORE_UNREACHABLE"}',
      ),
    ).toBe(2);
    expect(
      sample(
        text,
        'etcd_snapshot_remote_copy_errors_total{cluster="db/etcd-b",reason="OBJECT_STORE_AUTH_FAILED"}',
      ),
    ).toBe(1);
    expect(sample(text, 'etcd_snapshot_remote_copy_duration_seconds_count{compression="zstd"}')).toBe(2);
    expect(sample(text, 'etcd_snapshot_remote_copy_duration_seconds_sum{compression="zstd"}')).toBe(14.5);
    expect(sample(text, 'etcd_snapshot_remote_copy_duration_seconds_bucket{le="5",compression="zstd"}')).toBe(
      1,
    );
    expect(sample(text, 'etcd_snapshot_remote_copy_bytes_total{cluster="db/etcd-a"}')).toBe(5120);
    // The latest copy's stored size, not a sum.
    expect(sample(text, 'etcd_snapshot_remote_size_bytes{cluster="db/etcd-a"}')).toBe(1024);
    expect(text).not.toContain('etcd_snapshot_remote_size_bytes{cluster="db/etcd-b"}');
  });

  it('skip figures a result did not give or gave wrong, and still count the copy', async () => {
    const registry = new Registry();
    const m = new PromPipelineMetrics(registry);
    m.remoteCopy('db/etcd-a', 'success');
    m.remoteCopy('db/etcd-a', 'success', { storedBytes: -1, compression: 'none' });
    m.remoteCopy('db/etcd-a', 'success', { seconds: Number.NaN, storedBytes: 7, compression: 'none' });
    const text = await registry.metrics();
    expect(sample(text, 'etcd_snapshot_remote_copies_total{cluster="db/etcd-a",status="success"}')).toBe(3);
    expect(
      sample(text, 'etcd_snapshot_remote_copy_duration_seconds_count{compression="none"}'),
    ).toBeUndefined();
    expect(sample(text, 'etcd_snapshot_remote_copy_bytes_total{cluster="db/etcd-a"}')).toBe(7);
  });

  it('bound the reason label: past 32 distinct reasons a new one is `other`', async () => {
    const registry = new Registry();
    const m = new PromPipelineMetrics(registry);
    for (let i = 0; i < 40; i++) m.remoteCopy('c', `R${i}` as never);
    const text = await registry.metrics();
    const reasons = new Set(
      [...text.matchAll(/etcd_snapshot_remote_copy_errors_total\{cluster="c",reason="([^"]+)"\}/g)].map(
        (r) => r[1],
      ),
    );
    expect(reasons.size).toBe(33);
    expect(sample(text, 'etcd_snapshot_remote_copy_errors_total{cluster="c",reason="other"}')).toBe(8);
  });

  it('read the last-success times from the source at each scrape', async () => {
    const registry = new Registry();
    const m = new PromPipelineMetrics(registry);
    const family = 'etcd_snapshot_remote_last_success_timestamp_seconds';
    expect(await registry.metrics()).toContain(`# TYPE ${family} gauge`);
    let times = [
      { cluster: 'db/etcd-a', timestampSeconds: 1000 },
      { cluster: 'db/etcd-b', timestampSeconds: 2000 },
    ];
    m.setRemoteCopyTimeSource(() => times);
    let text = await registry.metrics();
    expect(sample(text, `${family}{cluster="db/etcd-a"}`)).toBe(1000);
    expect(sample(text, `${family}{cluster="db/etcd-b"}`)).toBe(2000);
    times = [{ cluster: 'db/etcd-a', timestampSeconds: 3000 }];
    text = await registry.metrics();
    expect(sample(text, `${family}{cluster="db/etcd-a"}`)).toBe(3000);
    // A cluster whose records are gone has no series any more.
    expect(sample(text, `${family}{cluster="db/etcd-b"}`)).toBeUndefined();
  });
});
