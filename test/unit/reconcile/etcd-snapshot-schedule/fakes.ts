// An in-memory world for the schedule reconciler: indexed stores standing in for the informer
// caches (no lag), a fake API that applies JSON merge patches to a schedule's status, creates
// (AlreadyExists → false) and deletes runs, and counts every write; and a settable clock.
import { IndexedStore } from '../../../../src/informers/indexed-store.ts';
import type { PersistentVolume, PersistentVolumeClaim } from '../../../../src/informers/resources.ts';
import {
  INDEX_SCHEDULE_LANE,
  scheduleLaneIndexer,
} from '../../../../src/reconcile/etcd-snapshot-schedule/lanes.ts';
import type { ScheduleMetrics } from '../../../../src/reconcile/etcd-snapshot-schedule/metrics.ts';
import { resolveScheduleOptions } from '../../../../src/reconcile/etcd-snapshot-schedule/options.ts';
import type {
  RunKind,
  ScheduleApi,
  ScheduleEvent,
} from '../../../../src/reconcile/etcd-snapshot-schedule/ports.ts';
import { EtcdSnapshotScheduleReconciler } from '../../../../src/reconcile/etcd-snapshot-schedule/reconciler.ts';
import type { RunObject } from '../../../../src/reconcile/etcd-snapshot-schedule/run-objects.ts';
import { clusterLaneKey, scheduleKey } from '../../../../src/reconcile/etcd-snapshot-schedule/work-keys.ts';
import type { ReconcileContext, ReconcileResult } from '../../../../src/reconcile/result.ts';
import type {
  EtcdSnapshotSchedule,
  EtcdSnapshotScheduleSpec,
} from '../../../../src/records/etcd-snapshot-schedule.ts';
import { createLogger } from '../../../../src/telemetry/logger.ts';

export const NS = 'etcd';
export const DRIVER = 'etcd-snapshot-driver';

function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v))
      out[k] = mergePatch((out[k] as Record<string, unknown>) ?? {}, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

export class RecordingScheduleMetrics implements ScheduleMetrics {
  readonly counts = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  #add(name: string, key: string, n = 1) {
    this.counts.set(`${name} ${key}`, (this.counts.get(`${name} ${key}`) ?? 0) + n);
  }
  count(name: string, schedule: string, cluster: string): number {
    return this.counts.get(`${name} ${schedule}|${cluster}`) ?? 0;
  }
  lastSuccess(s: string, c: string, v: number) {
    this.gauges.set(`lastSuccess ${s}|${c}`, v);
  }
  interval(s: string, c: string, v: number) {
    this.gauges.set(`interval ${s}|${c}`, v);
  }
  runCreated(s: string, c: string) {
    this.#add('created', `${s}|${c}`);
  }
  runsMissed(s: string, c: string, n: number) {
    this.#add('missed', `${s}|${c}`, n);
  }
  runSkipped(s: string, c: string) {
    this.#add('skipped', `${s}|${c}`);
  }
  retentionDeleted(s: string, c: string, state: string) {
    this.#add(`deleted-${state}`, `${s}|${c}`);
  }
  forget() {}
}

export class ScheduleWorld implements ScheduleApi {
  rv = 100;
  now = new Date('2026-03-02T10:00:30Z');
  readonly schedules = new IndexedStore<EtcdSnapshotSchedule>();
  readonly volumeSnapshots = new IndexedStore<RunObject>();
  readonly volumeGroupSnapshots = new IndexedStore<RunObject>();
  readonly claims = new IndexedStore<PersistentVolumeClaim>();
  readonly volumes = new IndexedStore<PersistentVolume>();
  readonly classes = new Set<string>([
    'VolumeSnapshot/etcd-snapshot',
    'VolumeGroupSnapshot/etcd-group-snapshot',
  ]);
  readonly events: ScheduleEvent[] = [];
  /** Every API write: "create <name>", "delete <name>", "patch", "event <reason>". */
  readonly writes: string[] = [];
  readonly metrics = new RecordingScheduleMetrics();
  /** How many status patches from now on fail (an API error) before they work again. */
  failPatches = 0;
  readonly reconciler: EtcdSnapshotScheduleReconciler;

  constructor(options: { retentionBatchSize?: number } = {}) {
    this.volumeSnapshots.addIndexer(INDEX_SCHEDULE_LANE, scheduleLaneIndexer);
    this.volumeGroupSnapshots.addIndexer(INDEX_SCHEDULE_LANE, scheduleLaneIndexer);
    this.reconciler = new EtcdSnapshotScheduleReconciler({
      stores: {
        schedules: this.schedules,
        volumeSnapshots: this.volumeSnapshots,
        volumeGroupSnapshots: this.volumeGroupSnapshots,
        persistentVolumeClaims: this.claims,
        persistentVolumes: this.volumes,
      },
      api: this,
      options: resolveScheduleOptions({ driverName: DRIVER, allowSeconds: true, ...options }),
      metrics: this.metrics,
      logger: createLogger({ level: 'error', format: 'json' }),
      now: () => this.now,
    });
  }

  #rv(): string {
    return String(++this.rv);
  }

  /** A Bound source claim of the driver naming `cluster`, with labels. */
  addSource(claim: string, cluster: string, labels: Record<string, string> = {}): void {
    const pv = `pv-${NS}-${claim}`;
    this.volumes.upsert({
      metadata: { name: pv },
      spec: { csi: { driver: DRIVER, volumeHandle: `${NS}/${claim}` } },
    });
    this.claims.upsert({
      metadata: { name: claim, namespace: NS, labels, annotations: { 'etcd.io/cluster': cluster } },
      spec: { volumeName: pv },
      status: { phase: 'Bound' },
    });
  }

  addSchedule(
    name: string,
    spec: Partial<EtcdSnapshotScheduleSpec>,
    createdAt = '2026-03-02T10:00:00Z',
  ): void {
    this.schedules.upsert({
      metadata: {
        name,
        namespace: NS,
        generation: 1,
        uid: `uid-${name}`,
        creationTimestamp: createdAt,
        resourceVersion: this.#rv(),
      },
      spec: {
        schedule: '0 * * * *',
        target: { cluster: 'main' },
        snapshot: { className: 'etcd-snapshot' },
        ...spec,
      } as EtcdSnapshotScheduleSpec,
    });
  }

  schedule(name: string): EtcdSnapshotSchedule {
    return this.schedules.get(`${NS}/${name}`) as EtcdSnapshotSchedule;
  }

  /** Marks a run ready (as snapshot-controller would), taken at its slot + 5 s. */
  ready(name: string, kind: RunKind = 'VolumeSnapshot'): void {
    const store = kind === 'VolumeSnapshot' ? this.volumeSnapshots : this.volumeGroupSnapshots;
    const run = store.get(`${NS}/${name}`) as RunObject;
    const slot = new Date(
      run.metadata?.annotations?.['snapshot.etcd-snapshot-driver.io/scheduled-time'] ?? 0,
    );
    store.upsert({
      ...run,
      status: { readyToUse: true, creationTime: new Date(slot.getTime() + 5000).toISOString() },
    });
  }

  failRun(name: string, message: string): void {
    const run = this.volumeSnapshots.get(`${NS}/${name}`) as RunObject;
    run.status = { readyToUse: false, error: { message, time: this.now.toISOString() } };
  }

  runNames(kind: RunKind = 'VolumeSnapshot'): string[] {
    const store = kind === 'VolumeSnapshot' ? this.volumeSnapshots : this.volumeGroupSnapshots;
    return store
      .list()
      .map((r) => r.metadata?.name ?? '')
      .sort();
  }

  ctx(): ReconcileContext {
    return {
      signal: new AbortController().signal,
      assertOwner() {},
      log: createLogger({ level: 'error', format: 'json' }),
    };
  }

  reconcileSchedule(name: string): Promise<ReconcileResult> {
    return this.reconciler.reconcile(scheduleKey(NS, name), this.ctx());
  }

  reconcileLane(name: string, cluster = 'main'): Promise<ReconcileResult> {
    return this.reconciler.reconcile(clusterLaneKey(NS, name, cluster), this.ctx());
  }

  /** Schedule key, then every lane key (as the controller would queue them). */
  async reconcileAll(name: string, clusters: string[] = ['main']): Promise<void> {
    await this.reconcileSchedule(name);
    for (const c of clusters) await this.reconcileLane(name, c);
  }

  // --- ScheduleApi ---
  async createRun(run: RunObject): Promise<boolean> {
    const store = run.kind === 'VolumeSnapshot' ? this.volumeSnapshots : this.volumeGroupSnapshots;
    const key = `${run.metadata?.namespace}/${run.metadata?.name}`;
    this.writes.push(`create ${run.metadata?.name}`);
    if (store.get(key)) return false;
    store.upsert({ ...run, metadata: { ...run.metadata, resourceVersion: this.#rv() } });
    return true;
  }
  async deleteRun(kind: RunKind, namespace: string, name: string): Promise<void> {
    this.writes.push(`delete ${name}`);
    (kind === 'VolumeSnapshot' ? this.volumeSnapshots : this.volumeGroupSnapshots).remove(
      `${namespace}/${name}`,
    );
  }
  async classExists(kind: RunKind, name: string): Promise<boolean> {
    return this.classes.has(`${kind}/${name}`);
  }
  async patchStatus(
    schedule: EtcdSnapshotSchedule,
    status: Record<string, unknown>,
  ): Promise<EtcdSnapshotSchedule> {
    if (this.failPatches > 0) {
      this.failPatches--;
      throw new Error('injected: the status patch failed');
    }
    this.writes.push('patch');
    const key = `${schedule.metadata?.namespace}/${schedule.metadata?.name}`;
    const current = this.schedules.get(key) as EtcdSnapshotSchedule;
    const next = {
      ...current,
      metadata: { ...current.metadata, resourceVersion: this.#rv() },
      status: mergePatch((current.status ?? {}) as Record<string, unknown>, status),
    } as EtcdSnapshotSchedule;
    this.schedules.upsert(next);
    return next;
  }
  async recordEvent(_schedule: EtcdSnapshotSchedule, event: ScheduleEvent): Promise<void> {
    this.writes.push(`event ${event.reason}`);
    this.events.push(event);
  }
}
