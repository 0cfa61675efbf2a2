// In-memory stand-ins for the retention reconciler: indexed stores as the informer caches, a fake
// RetentionApi that records its calls and keeps Jobs, and content informers as plain sources.
import { Subject } from 'rxjs';
import { IndexedStore } from '../../../../src/informers/indexed-store.ts';
import type {
  Job,
  PersistentVolumeClaim,
  Pod,
  UnstructuredObject,
} from '../../../../src/informers/resources.ts';
import type { InformerEvent } from '../../../../src/informers/store-types.ts';
import type { KubeEvent } from '../../../../src/kube/event-recorder.ts';
import type { ReconcileContext } from '../../../../src/reconcile/result.ts';
import { ContentReferences } from '../../../../src/reconcile/retention/content-references.ts';
import type { RetentionApi } from '../../../../src/reconcile/retention/kube-api.ts';
import type { RetentionMetrics } from '../../../../src/reconcile/retention/metrics.ts';
import {
  type RetentionOptionsInput,
  resolveRetentionOptions,
} from '../../../../src/reconcile/retention/options.ts';
import {
  INDEX_SNAPSHOT_CLAIM_CLUSTER,
  RetentionReconciler,
  snapshotClaimClusterIndexer,
} from '../../../../src/reconcile/retention/reconciler.ts';
import {
  INDEX_RECORD_CLUSTER,
  recordClusterIndexer,
} from '../../../../src/reconcile/snapshot-records/indexes.ts';
import { type EtcdSnapshot, etcdSnapshotIndexers } from '../../../../src/records/etcd-snapshot.ts';
import { createLogger } from '../../../../src/telemetry/logger.ts';

export const NOW = Date.parse('2025-06-01T12:00:00Z');
export const DAY = 86_400_000;
export const DRIVER = 'etcd-snapshot-driver';

export function record(
  name: string,
  o: {
    ageMs?: number;
    phase?: 'Ready' | 'Failed' | 'Running';
    retentionDays?: number;
    snapshotAgeMs?: number;
    driver?: string;
    group?: string;
  } = {},
): EtcdSnapshot {
  const created = new Date(NOW - (o.ageMs ?? 10 * 60_000)).toISOString();
  return {
    metadata: {
      name,
      namespace: 'etcd',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: created,
    },
    spec: {
      driverName: o.driver ?? DRIVER,
      requestKind: o.group ? 'group' : 'snapshot',
      requestName: `req-${name}`,
      ...(o.group ? { groupSnapshotId: o.group } : {}),
      cluster: { key: 'etcd/main', namespace: 'etcd', name: 'main', endpoints: [], discoveredBy: 'pods' },
      members: [{ snapshotId: `snap-${name}`, sourceVolumeId: 'vol-1' }],
      sourcesDigest: 'x',
      parameters: {},
      snapshotTimeoutSeconds: 300,
      retentionDays: o.retentionDays ?? 30,
      storage: {
        storageClassName: 'local-path',
        claimName: 'etcd-snapshots-main',
        path: `${name}/snapshot.db`,
      },
      createdBy: 'test',
    },
    status: {
      phase: o.phase ?? 'Ready',
      finishedAt: created,
      creationTime: new Date(NOW - (o.snapshotAgeMs ?? o.ageMs ?? 10 * 60_000)).toISOString(),
    },
  };
}

export function content(name: string, handle: string, policy: 'Delete' | 'Retain'): UnstructuredObject {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotContent',
    metadata: { name },
    spec: { deletionPolicy: policy, driver: DRIVER },
    status: { snapshotHandle: handle },
  } as UnstructuredObject;
}

export class ContentSource {
  readonly store = new IndexedStore<UnstructuredObject>();
  readonly events$ = new Subject<InformerEvent<UnstructuredObject>>();
  addIndexer(name: string, fn: Parameters<IndexedStore<UnstructuredObject>['addIndexer']>[1]) {
    this.store.addIndexer(name, fn);
  }
  add(c: UnstructuredObject) {
    this.store.upsert(c);
    this.events$.next({ type: 'added', object: c });
  }
  delete(c: UnstructuredObject) {
    this.store.remove(c.metadata?.name ?? '');
    this.events$.next({ type: 'deleted', object: c });
  }
}

export class FakeRetentionApi implements RetentionApi {
  readonly calls: string[] = [];
  readonly events: { on: string; event: KubeEvent }[] = [];
  readonly jobs = new Map<string, Job>();
  readonly podMessages = new Map<string, string>();
  readonly records: IndexedStore<EtcdSnapshot>;
  constructor(records: IndexedStore<EtcdSnapshot>) {
    this.records = records;
  }
  async createJob(job: Job) {
    this.calls.push(`createJob ${job.metadata?.name}`);
    const name = job.metadata?.name ?? '';
    if (!this.jobs.has(name))
      this.jobs.set(name, { ...job, metadata: { ...job.metadata, uid: `job-${this.calls.length}` } });
  }
  async getJob(_ns: string, name: string) {
    return this.jobs.get(name);
  }
  async deleteJob(_ns: string, name: string) {
    this.calls.push(`deleteJob ${name}`);
    this.jobs.delete(name);
  }
  async listJobPods(_ns: string, name: string): Promise<Pod[]> {
    const message = this.podMessages.get(name);
    return message === undefined
      ? []
      : [
          {
            status: {
              containerStatuses: [{ name: 'agent', state: { terminated: { exitCode: 0, message } } }],
            },
          } as Pod,
        ];
  }
  async recordEvent(r: EtcdSnapshot, event: KubeEvent) {
    this.events.push({ on: r.metadata?.name ?? '', event });
  }
  async deleteRecord(r: EtcdSnapshot) {
    this.calls.push(`deleteRecord ${r.metadata?.name}`);
    this.records.remove(`${r.metadata?.namespace}/${r.metadata?.name}`);
  }
  async claimEvent(c: PersistentVolumeClaim, event: KubeEvent) {
    this.events.push({ on: `claim/${c.metadata?.name}`, event });
  }
  /** Finishes a Job with an agent result in its pod's termination message. */
  finish(name: string, result: unknown) {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no Job ${name}`);
    job.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    this.podMessages.set(name, JSON.stringify(result));
  }
}

export class RecordingRetentionMetrics implements RetentionMetrics {
  readonly orphans: [string, number][] = [];
  readonly reported: [string, Record<string, number>][] = [];
  readonly deleted: [string, string][] = [];
  readonly remote: [string, number][] = [];
  orphanFiles(cluster: string, count: number) {
    this.orphans.push([cluster, count]);
  }
  remoteOrphans(cluster: string, count: number) {
    this.remote.push([cluster, count]);
  }
  reportedRecords(cluster: string, counts: Record<string, number>) {
    this.reported.push([cluster, { ...counts }]);
  }
  recordDeleted(cluster: string, reason: string) {
    this.deleted.push([cluster, reason]);
  }
}

export function world(options: Partial<RetentionOptionsInput> = {}, crds = true) {
  const records = new IndexedStore<EtcdSnapshot>();
  for (const [n, f] of Object.entries(etcdSnapshotIndexers)) records.addIndexer(n, f);
  records.addIndexer(INDEX_RECORD_CLUSTER, recordClusterIndexer);
  const claims = new IndexedStore<PersistentVolumeClaim>();
  claims.addIndexer(INDEX_SNAPSHOT_CLAIM_CLUSTER, snapshotClaimClusterIndexer);
  const vsc = new ContentSource();
  const contents = new ContentReferences(crds ? [vsc] : []);
  contents.start();
  const api = new FakeRetentionApi(records);
  const metrics = new RecordingRetentionMetrics();
  let now = NOW;
  const reconciler = new RetentionReconciler({
    stores: { etcdSnapshots: records, persistentVolumeClaims: claims },
    contents,
    api,
    metrics,
    logger: createLogger({ level: 'error', format: 'json' }),
    now: () => now,
    options: resolveRetentionOptions({
      driverName: DRIVER,
      sweepIntervalMs: 0,
      job: {
        agentImage: 'img',
        executorServiceAccount: 'sa',
        jobActiveDeadlineSeconds: 60,
        jobTtlSecondsAfterFinished: 60,
        resources: { requests: {}, limits: {} },
      },
      ...options,
    }),
  });
  const ctx = (): ReconcileContext => ({
    signal: new AbortController().signal,
    assertOwner() {},
    log: createLogger({ level: 'error', format: 'json' }),
  });
  return {
    records,
    claims,
    vsc,
    api,
    metrics,
    add: (r: EtcdSnapshot) => records.upsert(r),
    advance: (ms: number) => {
      now += ms;
    },
    run: () => reconciler.reconcile('etcd/main', ctx()),
  };
}

export function claim(name = 'etcd-snapshots-main'): PersistentVolumeClaim {
  return {
    metadata: {
      name,
      namespace: 'etcd',
      uid: `uid-${name}`,
      labels: { app: 'etcd-snapshot-driver', 'snapshot.etcd-snapshot-driver.io/cluster': 'main' },
    },
    status: { phase: 'Bound' },
  } as PersistentVolumeClaim;
}
