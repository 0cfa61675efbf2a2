// Composition of the schedule reconciler: a Controller woken by the schedules (their own key and
// a key per cluster of a VolumeSnapshot schedule), by the schedules' runs (their lane), and by
// source claims (a claim appearing or going changes a schedule's targets). Ownership: a cluster
// lane goes with the cluster's bucket (as its records do), the schedule key with its own
// (work-keys.ts). The run informers list only objects labelled with a schedule.
import type { PersistentVolume, PersistentVolumeClaim } from '../../informers/resources.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import type { Ownership } from '../../leader/ownership.ts';
import type { EtcdSnapshotSchedule } from '../../records/etcd-snapshot-schedule.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { Controller, type Source } from '../controller.ts';
import { enqueueMapped } from '../handlers.ts';
import type { IndexableSource } from '../indexable-source.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { kubeScheduleApi } from './kube-api.ts';
import { INDEX_SCHEDULE_LANE, scheduleLaneIndexer } from './lanes.ts';
import { noopScheduleMetrics, type ScheduleMetrics } from './metrics.ts';
import { resolveScheduleOptions, type ScheduleOptionsInput } from './options.ts';
import type { ScheduleApi } from './ports.ts';
import { EtcdSnapshotScheduleReconciler } from './reconciler.ts';
import { LABEL_SCHEDULE } from './run-names.ts';
import type { RunObject } from './run-objects.ts';
import { scheduleTargets } from './targets.ts';
import { clusterLaneKey, runWorkKeys, scheduleKey, shardKeyOf } from './work-keys.ts';

/** The label selector of the run informers: only objects a schedule made. */
export const SCHEDULE_RUN_SELECTOR = LABEL_SCHEDULE;

export interface ScheduleInformers {
  etcdSnapshotSchedules: Source<EtcdSnapshotSchedule>;
  /** With the label selector SCHEDULE_RUN_SELECTOR. */
  volumeSnapshots: IndexableSource<RunObject>;
  volumeGroupSnapshots?: IndexableSource<RunObject>;
  persistentVolumeClaims: Source<PersistentVolumeClaim>;
  persistentVolumes: Source<PersistentVolume>;
}

export interface ScheduleControllerDeps {
  client: JsonRequester;
  informers: ScheduleInformers;
  ownership: Ownership;
  logger: Logger;
  options: ScheduleOptionsInput;
  /** The groupsnapshot.storage.k8s.io version served (for the runs' apiVersion). */
  groupSnapshotVersion?: string;
  metrics?: ScheduleMetrics;
  controllerMetrics?: ControllerMetrics;
  api?: ScheduleApi;
  now?: () => Date;
  name?: string;
}

export function createScheduleController(deps: ScheduleControllerDeps): Controller {
  const options = resolveScheduleOptions(deps.options);
  const { informers } = deps;
  informers.volumeSnapshots.addIndexer?.(INDEX_SCHEDULE_LANE, scheduleLaneIndexer);
  informers.volumeGroupSnapshots?.addIndexer?.(INDEX_SCHEDULE_LANE, scheduleLaneIndexer);
  const logger = deps.logger.child({ component: 'etcd-snapshot-schedule' });
  const stores = {
    schedules: informers.etcdSnapshotSchedules.store,
    volumeSnapshots: informers.volumeSnapshots.store,
    ...(informers.volumeGroupSnapshots ? { volumeGroupSnapshots: informers.volumeGroupSnapshots.store } : {}),
    persistentVolumeClaims: informers.persistentVolumeClaims.store,
    persistentVolumes: informers.persistentVolumes.store,
  };
  const reconciler = new EtcdSnapshotScheduleReconciler({
    stores,
    api:
      deps.api ??
      kubeScheduleApi(deps.client, {
        logger,
        ...(deps.groupSnapshotVersion ? { groupSnapshotVersion: deps.groupSnapshotVersion } : {}),
      }),
    options,
    metrics: deps.metrics ?? noopScheduleMetrics,
    logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const controller = new Controller({
    name: deps.name ?? 'etcdsnapshotschedule',
    reconciler,
    logger,
    workers: options.workers,
    ownership: deps.ownership,
    shardKey: shardKeyOf,
    // Targets read the PVs without being woken by them: a half-listed cache is no evidence.
    alsoSynced: [informers.persistentVolumes],
    ...(deps.controllerMetrics ? { metrics: deps.controllerMetrics } : {}),
  });

  // A schedule wakes itself and, for VolumeSnapshot runs, one key per cluster it targets now or has an entry of.
  const scheduleKeys = (s: EtcdSnapshotSchedule): string[] => {
    const ns = s.metadata?.namespace ?? '';
    const name = s.metadata?.name ?? '';
    const keys = [scheduleKey(ns, name)];
    if ((s.spec?.snapshot?.kind ?? 'VolumeSnapshot') === 'VolumeSnapshot' && s.spec?.target)
      // Its targets, and the clusters it has entries of (a cluster no longer a target: its
      // owner removes the entry).
      for (const cluster of new Set([
        ...scheduleTargets(s, stores, options.driverName).map((t) => t.cluster),
        ...Object.keys(s.status?.clusters ?? {}),
      ]))
        keys.push(clusterLaneKey(ns, name, cluster));
    return keys;
  };
  const claimKeys = (claim: PersistentVolumeClaim): string[] =>
    stores.schedules
      .list()
      .filter((s) => s.metadata?.namespace === claim.metadata?.namespace)
      .flatMap(scheduleKeys);

  controller
    .watch(informers.etcdSnapshotSchedules, enqueueMapped(scheduleKeys))
    .watch(informers.volumeSnapshots, enqueueMapped(runWorkKeys))
    .watch(informers.persistentVolumeClaims, enqueueMapped(claimKeys));
  if (informers.volumeGroupSnapshots)
    controller.watch(informers.volumeGroupSnapshots, enqueueMapped(runWorkKeys));
  return controller;
}
