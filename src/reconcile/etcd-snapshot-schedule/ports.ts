// The API calls of the schedule reconciler (kube-api.ts implements them over KubeClient); unit
// tests give in-memory fakes, the e2e the real API server.
import type { EtcdSnapshotSchedule } from '../../records/etcd-snapshot-schedule.ts';
import type { RunObject } from './run-objects.ts';

export type RunKind = 'VolumeSnapshot' | 'VolumeGroupSnapshot';

export interface ScheduleEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ScheduleApi {
  /** Creates the run; resolves `false` when one of that name exists already (the slot was run). */
  createRun(run: RunObject, signal: AbortSignal): Promise<boolean>;
  /** Deletes the run (the upstream path removes its content, record and file); gone → no-op. */
  deleteRun(kind: RunKind, namespace: string, name: string, signal: AbortSignal): Promise<void>;
  /** Whether the VolumeSnapshotClass / VolumeGroupSnapshotClass exists. */
  classExists(kind: RunKind, name: string, signal: AbortSignal): Promise<boolean>;
  /** JSON merge patch of the schedule's status; returns the schedule written. */
  patchStatus(
    schedule: EtcdSnapshotSchedule,
    status: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<EtcdSnapshotSchedule>;
  /** A core/v1 Event about the schedule; failures are logged, never thrown. */
  recordEvent(schedule: EtcdSnapshotSchedule, event: ScheduleEvent, signal: AbortSignal): Promise<void>;
}
