// An in-memory world for the pipeline reconciler: indexed stores standing in for the informer
// caches and a fake API that versions records (409 on a stale resourceVersion), creates and
// deletes Jobs, and writes everything back into the stores at once (an informer without lag).
import { Writable } from 'node:stream';
import type { SecretLike } from '../../../../src/etcd/credentials.ts';
import { credentialsFromSecret } from '../../../../src/etcd/credentials.ts';
import { etcdClusterIndexer, INDEX_ETCD_CLUSTER } from '../../../../src/etcd/discovery.ts';
import { IndexedStore } from '../../../../src/informers/indexed-store.ts';
import type { Job, PersistentVolumeClaim, Pod, StatefulSet } from '../../../../src/informers/resources.ts';
import { objectKey, type ReadonlyStore } from '../../../../src/informers/store-types.ts';
import type { ClusterTurns } from '../../../../src/reconcile/cluster-turns.ts';
import { RecordingPipelineMetrics } from '../../../../src/reconcile/etcd-snapshot/metrics.ts';
import {
  type PipelineOptions,
  resolvePipelineOptions,
} from '../../../../src/reconcile/etcd-snapshot/options.ts';
import type {
  ClusterHealthView,
  HealthChecker,
  KubeEvent,
  PipelineApi,
} from '../../../../src/reconcile/etcd-snapshot/ports.ts';
import { EtcdSnapshotReconciler } from '../../../../src/reconcile/etcd-snapshot/reconciler.ts';
import type { ReconcileContext } from '../../../../src/reconcile/result.ts';
import {
  INDEX_PIPELINE_WORKLOAD,
  INDEX_RECORD_CLUSTER,
  pipelineWorkloadIndexer,
  recordClusterIndexer,
} from '../../../../src/reconcile/snapshot-records/indexes.ts';
import type { EtcdRestore } from '../../../../src/records/etcd-restore.ts';
import {
  type EtcdSnapshot,
  etcdSnapshotIndexers,
  FINALIZER_BACKUP_FILE,
  LABEL_GROUP_SNAPSHOT_ID,
} from '../../../../src/records/etcd-snapshot.ts';
import { createLogger } from '../../../../src/telemetry/logger.ts';

class ConflictError extends Error {
  statusCode = 409;
  statusReason = 'Conflict';
}

/** An API answer as the informers' KubeClient throws it: HTTP status, Status reason, message. */
export class FakeApiError extends Error {
  readonly statusCode: number;
  readonly statusReason: string;
  constructor(statusCode: number, statusReason: string, message: string) {
    super(`POST /apis/batch/v1/namespaces/etcd/jobs: ${statusCode} ${statusReason}: ${message}`);
    this.statusCode = statusCode;
    this.statusReason = statusReason;
  }
}

export class FakeWorld implements PipelineApi {
  rv = 100;
  readonly records = new IndexedStore<EtcdSnapshot>();
  readonly jobs = new IndexedStore<Job>();
  readonly pods = new IndexedStore<Pod>();
  readonly claims = new IndexedStore<PersistentVolumeClaim>();
  readonly statefulSets = new IndexedStore<StatefulSet>();
  readonly secrets = new Map<string, SecretLike>();
  readonly events: { record: string; event: KubeEvent }[] = [];
  readonly calls: string[] = [];
  readonly logLines: string[] = [];
  logTail = '';
  /** When set, status writes reach the API but not the cache (an informer that lags). */
  cacheLag = false;
  readonly apiOnly = new Map<string, EtcdSnapshot>();
  /** When set, every Job create fails with it (an API that refuses or does not answer). */
  refuseJobs: Error | undefined;

  constructor() {
    for (const [n, f] of Object.entries(etcdSnapshotIndexers)) this.records.addIndexer(n, f);
    this.records.addIndexer(INDEX_RECORD_CLUSTER, recordClusterIndexer);
    this.jobs.addIndexer(INDEX_PIPELINE_WORKLOAD, pipelineWorkloadIndexer);
    this.pods.addIndexer(INDEX_PIPELINE_WORKLOAD, pipelineWorkloadIndexer);
    this.pods.addIndexer(INDEX_ETCD_CLUSTER, etcdClusterIndexer);
    this.statefulSets.addIndexer(INDEX_ETCD_CLUSTER, etcdClusterIndexer);
  }

  next(): string {
    return String(++this.rv);
  }

  // ── PipelineApi ──
  async getSecret(namespace: string, name: string) {
    this.calls.push(`getSecret ${namespace}/${name}`);
    return this.secrets.get(`${namespace}/${name}`);
  }
  async createClaim(claim: PersistentVolumeClaim) {
    this.calls.push(`createClaim ${claim.metadata?.name}`);
    if (!this.claims.get(objectKey(claim)))
      this.claims.upsert({ ...claim, metadata: { ...claim.metadata, resourceVersion: this.next() } });
  }
  async createJob(job: Job) {
    this.calls.push(`createJob ${job.metadata?.name}`);
    if (this.refuseJobs) throw this.refuseJobs;
    if (!this.jobs.get(objectKey(job)))
      this.jobs.upsert({
        ...job,
        metadata: {
          ...job.metadata,
          uid: `uid-${job.metadata?.name}-${this.rv + 1}`,
          resourceVersion: this.next(),
          creationTimestamp: new Date().toISOString(),
        },
      });
  }
  async getJob(namespace: string, name: string) {
    return this.jobs.get(`${namespace}/${name}`);
  }
  async deleteJob(namespace: string, name: string) {
    this.calls.push(`deleteJob ${name}`);
    this.jobs.remove(`${namespace}/${name}`);
  }
  async listJobPods(namespace: string, jobName: string) {
    return this.pods
      .list()
      .filter((p) => p.metadata?.namespace === namespace && p.metadata?.labels?.['job-name'] === jobName);
  }
  async podLogTail() {
    return this.logTail;
  }
  async putStatus(record: EtcdSnapshot) {
    const key = objectKey(record);
    const current = this.apiOnly.get(key) ?? this.records.get(key);
    if (!current || current.metadata?.resourceVersion !== record.metadata?.resourceVersion)
      throw new ConflictError('conflict');
    this.calls.push(`putStatus ${record.metadata?.name} ${record.status?.phase}/${record.status?.step}`);
    const updated = {
      ...current,
      status: record.status,
      metadata: { ...current.metadata, resourceVersion: this.next() },
    };
    if (this.cacheLag) this.apiOnly.set(key, updated);
    else this.records.upsert(updated);
    return updated;
  }
  async removeFinalizer(record: EtcdSnapshot, finalizer: string) {
    const key = objectKey(record);
    const current = this.records.get(key);
    if (!current || current.metadata?.resourceVersion !== record.metadata?.resourceVersion)
      throw new ConflictError('conflict');
    this.calls.push(`removeFinalizer ${record.metadata?.name}`);
    const finalizers = (current.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
    if (current.metadata?.deletionTimestamp && finalizers.length === 0) this.records.remove(key);
    else
      this.records.upsert({
        ...current,
        metadata: { ...current.metadata, finalizers, resourceVersion: this.next() },
      });
  }
  async recordEvent(record: EtcdSnapshot, event: KubeEvent) {
    this.events.push({ record: record.metadata?.name ?? '', event });
  }

  // ── test helpers ──
  addRecord(
    name: string,
    options: { cluster?: string; group?: string; created?: string; secret?: string } = {},
  ): EtcdSnapshot {
    const cluster = options.cluster ?? 'main';
    const record: EtcdSnapshot = {
      apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
      kind: 'EtcdSnapshot',
      metadata: {
        name,
        namespace: 'etcd',
        uid: `uid-${name}`,
        resourceVersion: this.next(),
        creationTimestamp: options.created ?? '2026-01-01T00:00:00Z',
        finalizers: [FINALIZER_BACKUP_FILE],
        labels: options.group ? { [LABEL_GROUP_SNAPSHOT_ID]: options.group } : {},
      },
      spec: {
        driverName: 'etcd-snapshot-driver',
        requestKind: 'group',
        requestName: `req-${name}`,
        ...(options.group ? { groupSnapshotId: options.group } : {}),
        cluster: {
          key: `etcd/${cluster}`,
          namespace: 'etcd',
          name: cluster,
          endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379'],
          discoveredBy: 'pvc-annotation',
          ...(options.secret ? { credentialsSecret: options.secret } : {}),
        },
        members: [{ snapshotId: `${name}-m`, sourceVolumeId: `etcd/${name}-data` }],
        sourcesDigest: 'd',
        parameters: {},
        snapshotTimeoutSeconds: 300,
        retentionDays: 7,
        storage: {
          storageClassName: 'standard',
          claimName: `etcd-snapshots-${cluster}`,
          path: `${name}/snapshot.db`,
        },
        createdBy: 'test',
      },
    };
    this.records.upsert(record);
    return record;
  }

  record(name: string): EtcdSnapshot {
    const r = this.records.get(`etcd/${name}`);
    if (!r) throw new Error(`no record ${name}`);
    return r;
  }

  markDeleted(name: string): void {
    const r = this.record(name);
    this.records.upsert({
      ...r,
      metadata: { ...r.metadata, deletionTimestamp: '2026-01-01T00:05:00Z', resourceVersion: this.next() },
    });
  }

  /** The Job ends; its pod leaves `message` as termination message with `exitCode`. */
  finishJob(
    jobName: string,
    outcome: { complete: boolean; exitCode?: number; message?: string; reason?: string },
  ): void {
    const job = this.jobs.get(`etcd/${jobName}`);
    if (!job) throw new Error(`no job ${jobName}`);
    this.jobs.upsert({
      ...job,
      metadata: { ...job.metadata, resourceVersion: this.next() },
      status: {
        conditions: [
          outcome.complete
            ? { type: 'Complete', status: 'True' }
            : { type: 'Failed', status: 'True', reason: outcome.reason ?? 'BackoffLimitExceeded' },
        ],
      },
    });
    this.pods.upsert({
      metadata: {
        name: `${jobName}-abcde`,
        namespace: 'etcd',
        resourceVersion: this.next(),
        creationTimestamp: '2026-01-01T00:01:00Z',
        labels: { ...job.spec?.template?.metadata?.labels, 'job-name': jobName },
      },
      status: {
        phase: outcome.complete ? 'Succeeded' : 'Failed',
        containerStatuses: [
          {
            name: 'agent',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              terminated: {
                exitCode: outcome.exitCode ?? (outcome.complete ? 0 : 1),
                ...(outcome.message ? { message: outcome.message } : {}),
              },
            },
          },
        ],
      },
    });
  }

  /** A running pod of a Job (for the deletion sequencing). */
  runningPod(jobName: string): string {
    const job = this.jobs.get(`etcd/${jobName}`);
    const name = `${jobName}-run`;
    this.pods.upsert({
      metadata: {
        name,
        namespace: 'etcd',
        resourceVersion: this.next(),
        labels: { ...job?.spec?.template?.metadata?.labels, 'job-name': jobName },
      },
      status: { phase: 'Running' },
    });
    return name;
  }
}

export function okSave(name: string): string {
  return JSON.stringify({
    operation: 'save',
    ok: true,
    snapshotId: name,
    file: `/snapshots/${name}/snapshot.db`,
    revision: 42,
    sha256: 'a'.repeat(64),
    sizeBytes: 20480,
    totalKeys: 7,
    etcdVersion: '3.6.16',
    member: 'http://10.0.0.2:2379',
    createdAt: '2026-01-01T00:01:30Z',
    storage: { usedBytes: 30_000, availableBytes: 970_000 },
  });
}

export const healthy: ClusterHealthView = {
  members: [1, 2, 3],
  hasQuorum: true,
  source: 'http://10.0.0.2:2379',
  dbSizeBytes: 1024 * 1024 * 1024,
};

export function makeReconciler(
  world: FakeWorld,
  health?: HealthChecker,
  now?: () => Date,
  more: {
    etcdRestores?: ReadonlyStore<EtcdRestore>;
    turns?: ClusterTurns;
    options?: Partial<PipelineOptions>;
  } = {},
) {
  const metrics = new RecordingPipelineMetrics();
  const logs: string[] = world.logLines;
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  });
  const reconciler = new EtcdSnapshotReconciler({
    stores: {
      etcdSnapshots: world.records,
      jobs: world.jobs,
      pods: world.pods,
      persistentVolumeClaims: world.claims,
      statefulSets: world.statefulSets,
      ...(more.etcdRestores ? { etcdRestores: more.etcdRestores } : {}),
    },
    api: world,
    options: resolvePipelineOptions({
      agentImage: 'ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:dev',
      executorServiceAccount: 'etcd-snapshot-executor',
      defaultStorageClass: 'standard',
      ...more.options,
    }),
    metrics,
    logger,
    parseCredentials: credentialsFromSecret,
    ...(health ? { health } : {}),
    ...(now ? { now } : {}),
    ...(more.turns ? { turns: more.turns } : {}),
  });
  const ctx = (): ReconcileContext => ({
    signal: new AbortController().signal,
    assertOwner: () => {},
    log: logger,
  });
  return { reconciler, metrics, run: (name: string) => reconciler.reconcile(`etcd/${name}`, ctx()) };
}
