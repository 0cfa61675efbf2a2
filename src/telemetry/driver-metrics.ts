// The driver's own families (seed §15): snapshot operations, sizes, storage, etcd health. The
// snapshot pipeline reports through its PipelineMetrics (src/reconcile/etcd-snapshot/metrics.ts);
// telemetry imports nothing of src/ but the reason vocabulary, so this class meets that interface
// structurally (a superset). Error labels take their values from that vocabulary
// (docs/observability.md lists them).
//
// Cardinality: no family carries a snapshot ID. The seed's etcd_snapshot_size_bytes{snapshot_id}
// would add a series per snapshot forever; here it is the size of each cluster's latest snapshot.
// `cluster` is bounded by the number of etcd clusters the driver serves, and every free-form
// label also goes through a BoundedLabel, so an unexpected input ends in `other`, not in a new
// series per value.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Reason, StorageReason } from '../reasons/reasons.ts';
import { BoundedLabel } from './bounded-label.ts';
import { PromRemoteCopyMetrics, type RemoteCopyFigures, type RemoteCopyTime } from './remote-copy-metrics.ts';

export interface OperationOutcome {
  /** save (or the pipeline's `create`) | verify | delete | restore */
  operation: string;
  /** success, or failure / a catalogued failure reason (exported as `failure`) */
  status: string;
  cluster: string;
  durationSeconds: number;
}

/** Member counts of one etcd cluster as the health check saw them. */
export interface MemberCounts {
  up: number;
  down: number;
}

export interface SnapshotCount {
  cluster: string;
  /** ready | failed | deleting | pending */
  status: string;
  count: number;
}

/** The seed's buckets (0.1 … 300) with room above for large clusters and slow storage. */
export const OPERATION_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const ETCD_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Limits of the label sets that are not closed enumerations. */
export const LABEL_LIMITS = {
  clusters: 1000,
  pvcs: 1000,
  operations: 16,
  statuses: 16,
  reasons: 32,
} as const;

export class PromPipelineMetrics {
  readonly #operations: Counter<'operation' | 'status' | 'cluster'>;
  readonly #duration: Histogram<'operation'>;
  readonly #size: Gauge<'cluster'>;
  readonly #members: Gauge<'cluster' | 'state'>;
  readonly #quorum: Gauge<'cluster'>;
  readonly #versions: Gauge<'cluster'>;
  readonly #jobTimeouts: Counter<'cluster'>;
  readonly #remote: PromRemoteCopyMetrics;
  readonly #remoteVerifications: Counter<'cluster' | 'status'>;
  readonly #storageErrors: Counter<'cluster' | 'error_type'>;
  readonly #pvcUsage: Gauge<'namespace' | 'pvc_name'>;
  readonly #pvcAvailable: Gauge<'namespace' | 'pvc_name'>;
  readonly #etcdLatency: Histogram<'operation'>;
  readonly #etcdErrors: Counter<'cluster' | 'operation'>;
  #snapshotCounts: (() => Iterable<SnapshotCount>) | undefined;

  readonly #cluster = new BoundedLabel(LABEL_LIMITS.clusters);
  readonly #pvc = new BoundedLabel(LABEL_LIMITS.pvcs);
  readonly #operation = new BoundedLabel(LABEL_LIMITS.operations);
  readonly #status = new BoundedLabel(LABEL_LIMITS.statuses);
  readonly #reason = new BoundedLabel(LABEL_LIMITS.reasons);
  readonly #etcdOperation = new BoundedLabel(LABEL_LIMITS.operations);

  constructor(registry: Registry) {
    const registers = [registry];
    this.#operations = new Counter({
      name: 'etcd_snapshot_operations_total',
      help: 'Snapshot operations finished, by operation (save, verify, delete, restore), status (success, failure) and etcd cluster',
      labelNames: ['operation', 'status', 'cluster'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'etcd_snapshot_operation_duration_seconds',
      help: 'Duration of finished snapshot operations, from the request to the final state',
      labelNames: ['operation'],
      buckets: OPERATION_BUCKETS,
      registers,
    });
    this.#size = new Gauge({
      name: 'etcd_snapshot_size_bytes',
      help: "Size of the etcd cluster's latest snapshot file",
      labelNames: ['cluster'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'etcd_snapshots_total',
      help: 'Snapshot records that exist now, by etcd cluster and status (ready, failed, deleting, pending)',
      labelNames: ['cluster', 'status'],
      registers,
      // Read from the record cache at scrape time: a state, not an event stream.
      collect() {
        const source = self.#snapshotCounts;
        if (source === undefined) return;
        this.reset();
        for (const { cluster, status, count } of source()) {
          this.inc({ cluster: self.#cluster.map(cluster), status: self.#status.map(status) }, count);
        }
      },
    });
    this.#members = new Gauge({
      name: 'etcd_cluster_members',
      help: 'Members of the etcd cluster by state (up, down) at its last health check',
      labelNames: ['cluster', 'state'],
      registers,
    });
    this.#quorum = new Gauge({
      name: 'etcd_cluster_has_quorum',
      help: 'Whether the etcd cluster had quorum at its last health check (1) or not (0)',
      labelNames: ['cluster'],
      registers,
    });
    this.#versions = new Gauge({
      name: 'etcd_cluster_member_versions',
      help: 'Distinct etcd server versions among the members that answered the last health check (more than 1: a version skew)',
      labelNames: ['cluster'],
      registers,
    });
    this.#jobTimeouts = new Counter({
      name: 'etcd_snapshot_job_timeout_total',
      help: 'Snapshot Jobs that exceeded their deadline',
      labelNames: ['cluster'],
      registers,
    });
    this.#remote = new PromRemoteCopyMetrics(registry, (c) => this.#cluster.map(c));
    this.#remoteVerifications = new Counter({
      name: 'etcd_snapshot_remote_verifications_total',
      help: 'Scheduled verifications of remote copies that ended, by outcome: success, mismatch (the copy is damaged: CHECKSUM_MISMATCH, SNAPSHOT_INCOMPLETE) or failure (the store could not be read)',
      labelNames: ['cluster', 'status'],
      registers,
    });
    this.#storageErrors = new Counter({
      name: 'etcd_snapshot_storage_errors_total',
      help: 'Errors writing or reading snapshot storage, by error type',
      labelNames: ['cluster', 'error_type'],
      registers,
    });
    this.#pvcUsage = new Gauge({
      name: 'etcd_snapshot_pvc_usage_bytes',
      help: 'Bytes used on the snapshot PVC at the last save',
      labelNames: ['namespace', 'pvc_name'],
      registers,
    });
    this.#pvcAvailable = new Gauge({
      name: 'etcd_snapshot_pvc_available_bytes',
      help: 'Bytes available on the snapshot PVC at the last save',
      labelNames: ['namespace', 'pvc_name'],
      registers,
    });
    this.#etcdLatency = new Histogram({
      name: 'etcd_operation_latency_seconds',
      help: 'Latency of the driver requests to etcd clusters, by operation',
      labelNames: ['operation'],
      buckets: ETCD_BUCKETS,
      registers,
    });
    this.#etcdErrors = new Counter({
      name: 'etcd_operation_errors_total',
      help: 'Failed driver requests to etcd clusters, by cluster and operation',
      labelNames: ['cluster', 'operation'],
      registers,
    });
  }

  /** Where etcd_snapshots_total reads its counts at each scrape (the lead wires the record cache). */
  setSnapshotCountSource(source: () => Iterable<SnapshotCount>): void {
    this.#snapshotCounts = source;
  }

  operationFinished(outcome: OperationOutcome): void {
    // The pipeline names a save `create` and reports a failure by its catalogued reason; the
    // seed's series (and the alerts on them) speak of `save` and `failure`.
    const operation = this.#operation.map(outcome.operation === 'create' ? 'save' : outcome.operation);
    const status = outcome.status === 'success' ? 'success' : 'failure';
    this.#operations.inc({
      operation,
      status,
      cluster: this.#cluster.map(outcome.cluster),
    });
    if (Number.isFinite(outcome.durationSeconds) && outcome.durationSeconds >= 0) {
      this.#duration.observe({ operation }, outcome.durationSeconds);
    }
  }

  snapshotSize(cluster: string, bytes: number): void {
    this.#size.set({ cluster: this.#cluster.map(cluster) }, bytes);
  }

  clusterHealth(cluster: string, members: number | MemberCounts, hasQuorum: boolean): void {
    const c = this.#cluster.map(cluster);
    const counts = typeof members === 'number' ? { up: members, down: undefined } : members;
    this.#members.set({ cluster: c, state: 'up' }, counts.up);
    if (counts.down !== undefined) this.#members.set({ cluster: c, state: 'down' }, counts.down);
    this.#quorum.set({ cluster: c }, hasQuorum ? 1 : 0);
  }

  memberVersions(cluster: string, distinct: number): void {
    this.#versions.set({ cluster: this.#cluster.map(cluster) }, distinct);
  }

  jobTimeout(cluster: string): void {
    this.#jobTimeouts.inc({ cluster: this.#cluster.map(cluster) });
  }

  /** An upload ended (docs/observability.md, "Storage"): its outcome, reason or figures. */
  remoteCopy(cluster: string, status: 'success' | Reason, copy?: RemoteCopyFigures): void {
    this.#remote.copyEnded(this.#cluster.map(cluster), status, copy);
  }

  /** Where the last-success gauge of remote copies reads each cluster's freshest copy at a scrape. */
  setRemoteCopyTimeSource(source: () => Iterable<RemoteCopyTime>): void {
    this.#remote.setTimeSource(source);
  }

  remoteVerify(cluster: string, status: 'success' | Reason): void {
    const outcome =
      status === 'success'
        ? 'success'
        : status === 'CHECKSUM_MISMATCH' || status === 'SNAPSHOT_INCOMPLETE'
          ? 'mismatch'
          : 'failure';
    this.#remoteVerifications.inc({ cluster: this.#cluster.map(cluster), status: outcome });
  }

  storageError(cluster: string, reason: StorageReason): void {
    this.#storageErrors.inc({ cluster: this.#cluster.map(cluster), error_type: this.#reason.map(reason) });
  }

  storageUsage(namespace: string, pvcName: string, usedBytes: number, availableBytes: number): void {
    const labels = {
      namespace,
      pvc_name: this.#pvc.map(`${namespace}/${pvcName}`) === 'other' ? 'other' : pvcName,
    };
    this.#pvcUsage.set(labels, usedBytes);
    this.#pvcAvailable.set(labels, availableBytes);
  }

  etcdRequest(cluster: string, operation: string, seconds: number, ok: boolean): void {
    const op = this.#etcdOperation.map(operation);
    this.#etcdLatency.observe({ operation: op }, seconds);
    if (!ok) this.#etcdErrors.inc({ cluster: this.#cluster.map(cluster), operation: op });
  }
}
