// How one EtcdSnapshotSchedule maps to work keys and ownership buckets.
//
//   `<ns>/<schedule>`            the schedule itself: validates the spec (condition, Event), writes
//                                the summary status, and runs a VolumeGroupSnapshot schedule's
//                                groups. Sharded by the schedule's own key (a group spans clusters,
//                                so no cluster's bucket can be its owner).
//   `<ns>/<schedule>@<cluster>`  one cluster of a VolumeSnapshot schedule: its runs and retention.
//                                Sharded by the cluster key `<ns>/<cluster>`, like the snapshot
//                                pipeline's records, so the replica that saves a cluster also
//                                schedules it and a fleet schedule spreads over the replicas.
// `@` cannot appear in a Kubernetes name, so the two forms never collide.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { namespacedKey } from '../../informers/store-types.ts';
import type { Wire } from '../../informers/wire.ts';
import {
  ANNOTATION_SCHEDULE_CLUSTER_NAME,
  ANNOTATION_SCHEDULE_NAME,
  LABEL_SCHEDULE,
  LABEL_SCHEDULE_CLUSTER,
} from './run-names.ts';

export type WorkKey =
  | { kind: 'schedule'; namespace: string; schedule: string }
  | { kind: 'cluster'; namespace: string; schedule: string; cluster: string };

export function scheduleKey(namespace: string, schedule: string): string {
  return namespacedKey(namespace, schedule);
}

export function clusterLaneKey(namespace: string, schedule: string, cluster: string): string {
  return `${namespace}/${schedule}@${cluster}`;
}

export function parseWorkKey(key: string): WorkKey | undefined {
  const slash = key.indexOf('/');
  if (slash <= 0) return undefined;
  const namespace = key.slice(0, slash);
  const rest = key.slice(slash + 1);
  const at = rest.indexOf('@');
  if (at < 0) return rest ? { kind: 'schedule', namespace, schedule: rest } : undefined;
  const schedule = rest.slice(0, at);
  const cluster = rest.slice(at + 1);
  return schedule && cluster ? { kind: 'cluster', namespace, schedule, cluster } : undefined;
}

/** The ownership bucket key of a work key: the cluster's for a cluster lane, else the schedule's. */
export function shardKeyOf(key: string): string {
  const parsed = parseWorkKey(key);
  if (parsed?.kind === 'cluster') return namespacedKey(parsed.namespace, parsed.cluster);
  return key;
}

/**
 * The work key a run's change wakes: its cluster's lane, or a group's schedule. The names come
 * from the run's annotations (in full); the labels, which are cut and hashed when long, only for
 * runs made before the annotations existed.
 */
export function runWorkKeys(run: { metadata?: Wire<V1ObjectMeta> }): string[] {
  const labels = run.metadata?.labels ?? {};
  const annotations = run.metadata?.annotations ?? {};
  const schedule = annotations[ANNOTATION_SCHEDULE_NAME] ?? labels[LABEL_SCHEDULE];
  if (!schedule || !labels[LABEL_SCHEDULE]) return [];
  const ns = run.metadata?.namespace ?? '';
  const cluster = annotations[ANNOTATION_SCHEDULE_CLUSTER_NAME] ?? labels[LABEL_SCHEDULE_CLUSTER];
  return [cluster ? clusterLaneKey(ns, schedule, cluster) : scheduleKey(ns, schedule)];
}
