// The EtcdSnapshotSchedule resource (deploy/crds/etcdsnapshotschedules.yaml): users write its
// spec, the schedule reconciler (src/reconcile/etcd-snapshot-schedule) its status. Per-cluster
// state lives in status.clusters, a map by cluster name that the replica owning each cluster
// writes with a JSON merge patch of its own entry only, so replicas never overwrite each other.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ResourceDefinition } from '../informers/resources.ts';
import type { Wire } from '../informers/wire.ts';
import type { CustomResourceType } from '../kube/custom-objects.ts';
import { SNAPSHOT_GROUP, SNAPSHOT_VERSION } from './etcd-snapshot.ts';

export const ETCD_SNAPSHOT_SCHEDULE: CustomResourceType = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  plural: 'etcdsnapshotschedules',
  kind: 'EtcdSnapshotSchedule',
};

export const etcdSnapshotScheduleResource: ResourceDefinition<EtcdSnapshotSchedule> = {
  ...ETCD_SNAPSHOT_SCHEDULE,
  namespaced: true,
};

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ScheduleRetentionSpec {
  keepLast?: number;
  maxAge?: string;
  failedLimit?: number;
  exponential?: { buckets?: { within: string; every?: string }[] };
}

export type ScheduleRunKind = 'VolumeSnapshot' | 'VolumeGroupSnapshot';

export interface EtcdSnapshotScheduleSpec {
  schedule: string;
  timeZone?: string;
  suspend?: boolean;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: 'Forbid';
  target: { cluster?: string; selector?: LabelSelectorSpec };
  snapshot: { kind?: ScheduleRunKind; className: string };
  retention?: ScheduleRetentionSpec;
}

export interface ScheduleFailure {
  reason: string;
  message: string;
  time: string;
}

/** One lane's state: a cluster's runs (status.clusters[name]) or a group schedule's (status.group). */
export interface ScheduleLaneStatus {
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  /** The newest slot run, skipped, missed or passed while suspended: each slot is decided once. */
  lastDecidedSlot?: string;
  /**
   * When the schedule first had this cluster as a target (status.clusters only): no slot before
   * it is owed, and the freshness metric counts from it until the first success.
   */
  firstSeenTime?: string;
  /** The run not yet finished (Forbid looks at it). */
  active?: string;
  missedRuns?: number;
  skippedRuns?: number;
  lastFailure?: ScheduleFailure;
}

export interface ScheduleCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface EtcdSnapshotScheduleStatus {
  observedGeneration?: number;
  clusterCount?: number;
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  nextScheduleTime?: string;
  activeRuns?: number;
  lastFailure?: ScheduleFailure;
  group?: ScheduleLaneStatus;
  clusters?: Record<string, ScheduleLaneStatus>;
  conditions?: ScheduleCondition[];
}

export interface EtcdSnapshotSchedule {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
  spec: EtcdSnapshotScheduleSpec;
  status?: EtcdSnapshotScheduleStatus;
}

/** The condition the schedule-level reconcile writes: the spec is valid at this generation. */
export const CONDITION_VALID = 'Valid';
