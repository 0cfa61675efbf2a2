// The restore reconciler's metrics in the driver's registry. A finished restore counts in the
// snapshot operations families (etcd_snapshot_operations_total{operation="restore"} and its
// duration, through the pipeline's metrics); the phase gauge says, per etcd cluster, which phase
// its restore is in (1) — one restore per cluster at a time, so the cluster bounds the series.
// It fits src/reconcile/etcd-restore/metrics.ts structurally: telemetry imports nothing of src/.
import { Gauge, type Registry } from 'prom-client';
import { BoundedLabel } from './bounded-label.ts';
import { LABEL_LIMITS, type OperationOutcome } from './driver-metrics.ts';

export const RESTORE_PHASES = [
  'Pending',
  'Validating',
  'FetchingRemote',
  'VerifyingFile',
  'Quiescing',
  'Restoring',
  'Starting',
  'VerifyingResult',
  'Completed',
  'RollingBack',
  'RolledBack',
  'Failed',
] as const;

export class PromRestoreMetrics {
  readonly #phase: Gauge<'cluster' | 'phase'>;
  readonly #cluster = new BoundedLabel(LABEL_LIMITS.clusters);
  readonly #operations: { operationFinished(o: OperationOutcome): void };

  constructor(registry: Registry, operations: { operationFinished(o: OperationOutcome): void }) {
    this.#operations = operations;
    this.#phase = new Gauge({
      name: 'etcd_snapshot_restore_phase',
      help: "The phase of the etcd cluster's latest restore: 1 for the phase it is in, 0 for the others",
      labelNames: ['cluster', 'phase'],
      registers: [registry],
    });
  }

  restoreFinished(o: { status: string; cluster: string; durationSeconds: number }): void {
    this.#operations.operationFinished({ operation: 'restore', ...o });
  }

  restorePhase(_restore: string, cluster: string, phase: string): void {
    const c = this.#cluster.map(cluster);
    for (const p of RESTORE_PHASES) this.#phase.set({ cluster: c, phase: p }, p === phase ? 1 : 0);
  }
}
