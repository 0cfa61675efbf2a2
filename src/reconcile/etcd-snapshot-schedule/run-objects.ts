// The objects a run creates — a VolumeSnapshot of one cluster's source claim, or one
// VolumeGroupSnapshot over the schedule's selector — and how a run's state is read back from
// them. They are ordinary upstream objects: snapshot-controller and csi-snapshotter take them
// the way they take a hand-made one, and Velero-style tooling sees them.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Wire } from '../../informers/wire.ts';
import type { EtcdSnapshotSchedule } from '../../records/etcd-snapshot-schedule.ts';
import type { RetentionCandidate, RunState } from './retention-select.ts';
import {
  ANNOTATION_SCHEDULED_TIME,
  LABEL_SCHEDULE,
  LABEL_SCHEDULE_CLUSTER,
  nameLabel,
  runMetadata,
} from './run-names.ts';

export const VOLUME_SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';
export const VOLUME_GROUP_SNAPSHOT_API = 'groupsnapshot.storage.k8s.io/v1';

/** What the reconciler reads of a VolumeSnapshot or VolumeGroupSnapshot. */
export interface RunObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
  spec?: Record<string, unknown>;
  status?: {
    readyToUse?: boolean;
    creationTime?: string;
    error?: { message?: string; time?: string };
  };
}

export function volumeSnapshotRun(
  schedule: EtcdSnapshotSchedule,
  cluster: string,
  claim: string,
  name: string,
  slot: Date,
): RunObject {
  const meta = runMetadata(schedule.metadata?.name ?? '', cluster, slot);
  return {
    apiVersion: VOLUME_SNAPSHOT_API,
    kind: 'VolumeSnapshot',
    metadata: { name, namespace: schedule.metadata?.namespace ?? '', ...meta },
    spec: {
      volumeSnapshotClassName: schedule.spec.snapshot.className,
      source: { persistentVolumeClaimName: claim },
    },
  };
}

export function groupSnapshotRun(schedule: EtcdSnapshotSchedule, name: string, slot: Date): RunObject {
  const meta = runMetadata(schedule.metadata?.name ?? '', undefined, slot);
  return {
    apiVersion: VOLUME_GROUP_SNAPSHOT_API,
    kind: 'VolumeGroupSnapshot',
    metadata: { name, namespace: schedule.metadata?.namespace ?? '', ...meta },
    spec: {
      volumeGroupSnapshotClassName: schedule.spec.snapshot.className,
      source: { selector: schedule.spec.target.selector ?? {} },
    },
  };
}

/** Ready: readyToUse. Failed: an error and not ready. Otherwise still in progress. */
export function runState(run: RunObject): RunState {
  if (run.status?.readyToUse === true) return 'ready';
  if (run.status?.error) return 'failed';
  return 'pending';
}

/** The run's slot (its annotation), or undefined when the object is not a run of a schedule. */
export function runSlot(run: RunObject): Date | undefined {
  const text = run.metadata?.annotations?.[ANNOTATION_SCHEDULED_TIME];
  const slot = text ? new Date(text) : undefined;
  return slot && !Number.isNaN(slot.getTime()) ? slot : undefined;
}

/**
 * The runs of one lane among cached objects: labelled with the schedule (and, for a cluster
 * lane, the cluster), in the schedule's namespace, not being deleted, with a slot annotation.
 * Objects without the labels — hand-made snapshots — are never part of a lane.
 */
export function laneRuns(
  objects: readonly RunObject[],
  schedule: EtcdSnapshotSchedule,
  cluster: string | undefined,
): RunObject[] {
  const namespace = schedule.metadata?.namespace;
  const scheduleLabel = nameLabel(schedule.metadata?.name ?? '');
  const clusterLabel = cluster === undefined ? undefined : nameLabel(cluster);
  return objects.filter((o) => {
    const labels = o.metadata?.labels ?? {};
    return (
      o.metadata?.namespace === namespace &&
      labels[LABEL_SCHEDULE] === scheduleLabel &&
      labels[LABEL_SCHEDULE_CLUSTER] === clusterLabel &&
      !o.metadata?.deletionTimestamp &&
      runSlot(o) !== undefined
    );
  });
}

export function retentionCandidates(runs: readonly RunObject[]): RetentionCandidate[] {
  return runs.map((r) => ({ name: r.metadata?.name ?? '', slot: runSlot(r) as Date, state: runState(r) }));
}

/** When a ready run's snapshot was taken: its creationTime, else its slot. */
export function successTime(run: RunObject): Date | undefined {
  const text = run.status?.creationTime;
  const t = text ? new Date(text) : undefined;
  return t && !Number.isNaN(t.getTime()) ? t : runSlot(run);
}
