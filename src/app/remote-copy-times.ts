// Each etcd cluster's freshest remote copy, read from the record cache for the gauge
// etcd_snapshot_remote_last_success_timestamp_seconds (docs/observability.md). A record holds a
// complete copy when it is Ready with status.remote; its time is when it became Ready. A cluster
// whose records name a store but hold no copy yet reports its oldest such record's creation, so a
// store that never worked goes stale too (as a schedule's first-seen time does for its alert).
// Records being deleted are left out: their copy is going.
import type { EtcdSnapshot } from '../records/etcd-snapshot.ts';
import type { RemoteCopyTime } from '../telemetry/remote-copy-metrics.ts';

const seconds = (time: string | undefined): number | undefined => {
  const ms = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
};

export function remoteCopyTimes(records: Iterable<EtcdSnapshot>): RemoteCopyTime[] {
  const copied = new Map<string, number>();
  const waiting = new Map<string, number>();
  for (const record of records) {
    if (record.metadata?.deletionTimestamp) continue;
    const cluster = record.spec?.cluster?.key;
    if (!cluster) continue;
    const status = record.status;
    const done = status?.phase === 'Ready' && status.remote ? seconds(status.finishedAt) : undefined;
    if (done !== undefined) {
      copied.set(cluster, Math.max(done, copied.get(cluster) ?? done));
      continue;
    }
    const created = record.spec.objectStore ? seconds(record.metadata?.creationTimestamp) : undefined;
    if (created !== undefined) waiting.set(cluster, Math.min(created, waiting.get(cluster) ?? created));
  }
  for (const [cluster, created] of waiting) if (!copied.has(cluster)) copied.set(cluster, created);
  return [...copied].map(([cluster, timestampSeconds]) => ({ cluster, timestampSeconds }));
}
