// The retention controller's metrics in the driver's registry: unowned snapshot directories per
// cluster, records kept but reported, records deleted. It fits the RetentionMetrics hooks of
// src/reconcile/retention/metrics.ts structurally — telemetry imports nothing of src/ — so reasons
// are plain label strings here.
import { Counter, Gauge, type Registry } from 'prom-client';
import { BoundedLabel } from './bounded-label.ts';

/** Distinct clusters exported before the rest share one overflow series. */
const CLUSTER_LIMIT = 200;

export class PromRetentionMetrics {
  readonly #orphanFiles: Gauge<'cluster'>;
  readonly #remoteOrphans: Gauge<'cluster'>;
  readonly #reported: Gauge<'cluster' | 'reason'>;
  readonly #deleted: Counter<'cluster' | 'reason'>;
  readonly #cluster = new BoundedLabel(CLUSTER_LIMIT);

  constructor(registry: Registry) {
    const registers = [registry];
    this.#orphanFiles = new Gauge({
      name: 'etcd_snapshot_orphan_files',
      help: "Snapshot directories in an etcd cluster's snapshot claim that no record owns, as the last sweep found",
      labelNames: ['cluster'],
      registers,
    });
    this.#remoteOrphans = new Gauge({
      name: 'etcd_snapshot_remote_orphans',
      help: "Remote snapshots under an etcd cluster's prefix in its object store that no record owns, as the last sweep found",
      labelNames: ['cluster'],
      registers,
    });
    this.#reported = new Gauge({
      name: 'etcd_snapshot_records_reported',
      help: 'Snapshot records kept but reported: orphans (content gone, policy Retain or unknown) and expired ones a content still references',
      labelNames: ['cluster', 'reason'],
      registers,
    });
    this.#deleted = new Counter({
      name: 'etcd_snapshot_records_deleted_total',
      help: 'Snapshot records deleted by the retention controller, by reason (orphan with policy Delete, unknown policy with the flag, retention expired)',
      labelNames: ['cluster', 'reason'],
      registers,
    });
  }

  orphanFiles(cluster: string, count: number): void {
    this.#orphanFiles.set({ cluster: this.#cluster.map(cluster) }, count);
  }

  remoteOrphans(cluster: string, count: number): void {
    this.#remoteOrphans.set({ cluster: this.#cluster.map(cluster) }, count);
  }

  reportedRecords(cluster: string, counts: Readonly<Record<string, number>>): void {
    const c = this.#cluster.map(cluster);
    for (const [reason, n] of Object.entries(counts)) this.#reported.set({ cluster: c, reason }, n);
  }

  recordDeleted(cluster: string, reason: string): void {
    this.#deleted.inc({ cluster: this.#cluster.map(cluster), reason });
  }
}
