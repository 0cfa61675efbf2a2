// Metric hooks of the restore reconciler; src/telemetry implements them on the driver's registry
// (etcd_snapshot_operations_total{operation="restore"}, its duration, etcd_snapshot_restore_phase).
import type { EtcdRestorePhase } from '../../records/etcd-restore.ts';

export interface RestoreMetrics {
  /** A restore ended: status `success`, or the catalog reason it failed or rolled back with. */
  restoreFinished(o: { status: string; cluster: string; durationSeconds: number }): void;
  /** The restore's current phase (a gauge per restore: 1 for this phase, 0 for the others). */
  restorePhase(restore: string, cluster: string, phase: EtcdRestorePhase): void;
}

export const noopRestoreMetrics: RestoreMetrics = {
  restoreFinished() {},
  restorePhase() {},
};

/** Records every call in memory, for tests. */
export class RecordingRestoreMetrics implements RestoreMetrics {
  readonly finished: Parameters<RestoreMetrics['restoreFinished']>[0][] = [];
  readonly phases: { restore: string; cluster: string; phase: EtcdRestorePhase }[] = [];
  restoreFinished(o: Parameters<RestoreMetrics['restoreFinished']>[0]): void {
    this.finished.push(o);
  }
  restorePhase(restore: string, cluster: string, phase: EtcdRestorePhase): void {
    this.phases.push({ restore, cluster, phase });
  }
}
