// The families of off-cluster copies (docs/object-store.md, docs/observability.md): uploads that
// ended by outcome, their duration and stored bytes (the upload Job's result), failures by reason,
// and each cluster's last successful copy. PromPipelineMetrics owns an instance and hands it the
// cluster label already bounded; the reason label is bounded here (the vocabulary is closed, the
// guard is for the unexpected).
//
// The last-success gauge is read from the record cache at each scrape, not set when an upload
// ends: a restarted or newly elected replica then exports the same value as the one that ran the
// upload, and the stale-copy alert does not go quiet after a restart.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BoundedLabel } from './bounded-label.ts';

/** What a successful upload's result says of the copy. */
export interface RemoteCopyFigures {
  /** The agent's own upload time (its result's durationSeconds); absent from older agents. */
  seconds?: number;
  /** Stored bytes: after compression and encryption. */
  storedBytes: number;
  compression: 'none' | 'zstd' | 'gzip';
}

/** One cluster's freshest remote copy, as the record cache has it. */
export interface RemoteCopyTime {
  cluster: string;
  /** Unix seconds. */
  timestampSeconds: number;
}

/** Uploads of a 1 GiB db at a few MiB/s take minutes: the buckets reach an hour. */
const UPLOAD_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const COMPRESSIONS = new Set(['none', 'zstd', 'gzip']);
const REASON_LIMIT = 32;

export class PromRemoteCopyMetrics {
  readonly #copies: Counter<'cluster' | 'status'>;
  readonly #errors: Counter<'cluster' | 'reason'>;
  readonly #duration: Histogram<'compression'>;
  readonly #bytes: Counter<'cluster'>;
  readonly #size: Gauge<'cluster'>;
  readonly #reason = new BoundedLabel(REASON_LIMIT);
  #times: (() => Iterable<RemoteCopyTime>) | undefined;

  constructor(registry: Registry, mapCluster: (cluster: string) => string) {
    const registers = [registry];
    this.#copies = new Counter({
      name: 'etcd_snapshot_remote_copies_total',
      help: 'Uploads of snapshots to the object store that ended, by outcome',
      labelNames: ['cluster', 'status'],
      registers,
    });
    this.#errors = new Counter({
      name: 'etcd_snapshot_remote_copy_errors_total',
      help: 'Uploads to the object store that failed, by the reason of the vocabulary',
      labelNames: ['cluster', 'reason'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'etcd_snapshot_remote_copy_duration_seconds',
      help: "Duration of successful uploads to the object store (the agent's own time), by compression",
      labelNames: ['compression'],
      buckets: UPLOAD_BUCKETS,
      registers,
    });
    this.#bytes = new Counter({
      name: 'etcd_snapshot_remote_copy_bytes_total',
      help: 'Bytes stored in the object store by successful uploads (after compression and encryption)',
      labelNames: ['cluster'],
      registers,
    });
    this.#size = new Gauge({
      name: 'etcd_snapshot_remote_size_bytes',
      help: "Stored size of the etcd cluster's latest remote copy (after compression and encryption)",
      labelNames: ['cluster'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'etcd_snapshot_remote_last_success_timestamp_seconds',
      help: "When the etcd cluster's freshest remote copy was completed (Unix seconds); the first record naming a store until one is",
      labelNames: ['cluster'],
      registers,
      collect() {
        const source = self.#times;
        if (source === undefined) return;
        this.reset();
        // Clusters past the label limit share `other`: the freshest of them stands for it.
        const freshest = new Map<string, number>();
        for (const { cluster, timestampSeconds } of source()) {
          const c = mapCluster(cluster);
          freshest.set(c, Math.max(timestampSeconds, freshest.get(c) ?? Number.NEGATIVE_INFINITY));
        }
        for (const [cluster, seconds] of freshest) this.set({ cluster }, seconds);
      },
    });
  }

  /** Where the last-success gauge reads its times at each scrape (the lead wires the record cache). */
  setTimeSource(source: () => Iterable<RemoteCopyTime>): void {
    this.#times = source;
  }

  /** `cluster` already bounded by the caller. */
  copyEnded(cluster: string, status: string, copy?: RemoteCopyFigures): void {
    const ok = status === 'success';
    this.#copies.inc({ cluster, status: ok ? 'success' : 'failure' });
    if (!ok) {
      this.#errors.inc({ cluster, reason: this.#reason.map(status) });
      return;
    }
    if (copy === undefined) return;
    const compression = COMPRESSIONS.has(copy.compression) ? copy.compression : 'other';
    if (copy.seconds !== undefined && Number.isFinite(copy.seconds) && copy.seconds >= 0)
      this.#duration.observe({ compression }, copy.seconds);
    if (Number.isSafeInteger(copy.storedBytes) && copy.storedBytes >= 0) {
      this.#bytes.inc({ cluster }, copy.storedBytes);
      this.#size.set({ cluster }, copy.storedBytes);
    }
  }
}
