// An in-memory world for the restore reconciler: indexed stores standing in for the informer
// caches, a fake API that versions restores (409 on a stale resourceVersion), creates Jobs and
// scales the StatefulSet (its pods come and go at once, as a kubelet without lag would make
// them), and a fake live cluster whose answers a test sets.
import { Writable } from 'node:stream';
import type { SecretLike } from '../../../../src/etcd/credentials.ts';
import { etcdClusterIndexer, INDEX_ETCD_CLUSTER } from '../../../../src/etcd/discovery.ts';
import { IndexedStore } from '../../../../src/informers/indexed-store.ts';
import type { Job, PersistentVolumeClaim, Pod, StatefulSet } from '../../../../src/informers/resources.ts';
import { objectKey } from '../../../../src/informers/store-types.ts';
import { ClusterTurns } from '../../../../src/reconcile/cluster-turns.ts';
import { RecordingRestoreMetrics } from '../../../../src/reconcile/etcd-restore/metrics.ts';
import {
  type RestoreOptions,
  resolveRestoreOptions,
} from '../../../../src/reconcile/etcd-restore/options.ts';
import type {
  KubeEvent,
  LiveClusterView,
  RestoreApi,
  SnapshotObject,
} from '../../../../src/reconcile/etcd-restore/ports.ts';
import { EtcdRestoreReconciler } from '../../../../src/reconcile/etcd-restore/reconciler.ts';
import type { ReconcileContext } from '../../../../src/reconcile/result.ts';
import {
  INDEX_PIPELINE_WORKLOAD,
  INDEX_RECORD_CLUSTER,
  pipelineWorkloadIndexer,
  recordClusterIndexer,
} from '../../../../src/reconcile/snapshot-records/indexes.ts';
import {
  type EtcdRestore,
  type EtcdRestoreSpec,
  etcdRestoreIndexers,
} from '../../../../src/records/etcd-restore.ts';
import {
  type EtcdSnapshot,
  etcdSnapshotIndexers,
  VELERO_EXCLUDED,
} from '../../../../src/records/etcd-snapshot.ts';
import { createLogger } from '../../../../src/telemetry/logger.ts';

export const NS = 'etcd';
export const SHA = 'a'.repeat(64);
export const UID = '0123456789abcdef0123456789abcdef';

class ConflictError extends Error {
  statusCode = 409;
  reason = 'Conflict';
}

export class RestoreWorld implements RestoreApi {
  rv = 100;
  readonly restores = new IndexedStore<EtcdRestore>();
  readonly records = new IndexedStore<EtcdSnapshot>();
  readonly jobs = new IndexedStore<Job>();
  readonly pods = new IndexedStore<Pod>();
  readonly claims = new IndexedStore<PersistentVolumeClaim>();
  readonly statefulSets = new IndexedStore<StatefulSet>();
  readonly volumeSnapshots = new Map<string, SnapshotObject>();
  readonly contentHandles = new Map<string, string>();
  readonly events: KubeEvent[] = [];
  /** Every call that changes the world, in order: what crash-safety tests read. */
  readonly calls: string[] = [];
  /** The live cluster's answer; undefined: no endpoint answers (the cluster is down). */
  live: LiveClusterView | undefined;
  /** Pods stay after a scale to 0 (a kubelet that is slow to stop them). */
  podsLinger = false;
  /** The credentials kind of every look at the live cluster. */
  readonly probedWith: string[] = [];

  constructor() {
    this.restores.addIndexer('restore-cluster-key', etcdRestoreIndexers['restore-cluster-key']);
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

  // ── RestoreApi ──
  async getVolumeSnapshot(namespace: string, name: string) {
    return this.volumeSnapshots.get(`${namespace}/${name}`);
  }
  async getVolumeGroupSnapshot() {
    return undefined;
  }
  async getContentHandle(_kind: 'single' | 'group', name: string) {
    return this.contentHandles.get(name);
  }
  readonly secrets = new Map<string, SecretLike>();
  async getSecret(namespace: string, name: string) {
    return this.secrets.get(`${namespace}/${name}`);
  }
  /** Records the API server has that the cache (`records`) does not hold yet: a lagging cache. */
  readonly uncachedRecords: EtcdSnapshot[] = [];
  async listSnapshotRecords(namespace: string) {
    return [...this.records.list(), ...this.uncachedRecords].filter(
      (r) => r.metadata?.namespace === namespace,
    );
  }
  async scaleStatefulSet(namespace: string, name: string, replicas: number) {
    this.calls.push(`scale ${name} ${replicas}`);
    const set = this.statefulSets.get(`${namespace}/${name}`);
    if (!set) throw new Error(`no StatefulSet ${name}`);
    this.statefulSets.upsert({
      ...set,
      spec: { ...set.spec!, replicas },
      metadata: { ...set.metadata, resourceVersion: this.next() },
    });
    if (replicas === 0 && !this.podsLinger)
      for (const p of this.memberPods(name)) this.pods.remove(objectKey(p));
    if (replicas > 0) this.runPods(name, replicas);
  }
  async getPod(namespace: string, name: string) {
    return this.pods.get(`${namespace}/${name}`);
  }
  async deletePods(namespace: string, matchLabels: Record<string, string>) {
    const names = this.pods
      .list()
      .filter(
        (p) =>
          p.metadata?.namespace === namespace &&
          Object.entries(matchLabels).every(([k, v]) => p.metadata?.labels?.[k] === v),
      )
      .map((p) => p.metadata?.name ?? '');
    this.calls.push(`deletePods ${names.join(',')}`);
    return names;
  }
  async createClaim(claim: PersistentVolumeClaim) {
    if (this.claims.get(objectKey(claim))) return;
    this.calls.push(`createClaim ${claim.metadata?.name}`);
    this.claims.upsert({ ...claim, metadata: { ...claim.metadata, resourceVersion: this.next() } });
  }
  async createJob(job: Job) {
    if (this.jobs.get(objectKey(job))) return;
    this.calls.push(`createJob ${job.metadata?.name}`);
    this.jobs.upsert({
      ...job,
      metadata: { ...job.metadata, uid: `uid-${job.metadata?.name}`, resourceVersion: this.next() },
    });
  }
  async getJob(namespace: string, name: string) {
    return this.jobs.get(`${namespace}/${name}`);
  }
  async listJobPods(namespace: string, jobName: string) {
    return this.pods
      .list()
      .filter((p) => p.metadata?.namespace === namespace && p.metadata?.labels?.['job-name'] === jobName);
  }
  async podLogTail() {
    return '';
  }
  /** The next status write it matches fails, as a driver killed just before it would. */
  crashBefore: ((status: EtcdRestore['status']) => boolean) | undefined;

  async putStatus(restore: EtcdRestore) {
    if (this.crashBefore?.(restore.status)) {
      this.crashBefore = undefined;
      throw new Error('killed before the status write');
    }
    const key = objectKey(restore);
    const current = this.restores.get(key);
    if (!current || current.metadata?.resourceVersion !== restore.metadata?.resourceVersion)
      throw new ConflictError('conflict');
    const s = restore.status ?? {};
    this.calls.push(
      `status ${s.phase}${s.recordedReplicas !== undefined ? ` replicas=${s.recordedReplicas}` : ''}${s.swapStarted ? ' swap' : ''}${s.members?.some((m) => m.job) ? ' jobs' : ''}`,
    );
    const updated = {
      ...current,
      status: restore.status,
      metadata: { ...current.metadata, resourceVersion: this.next() },
    };
    this.restores.upsert(updated);
    return updated;
  }
  async excludeFromVelero(restore: EtcdRestore) {
    const current = this.restores.get(objectKey(restore));
    if (!current) throw new Error(`no restore ${restore.metadata?.name}`);
    this.calls.push(`exclude-from-velero ${restore.metadata?.name}`);
    const labels = { ...current.metadata?.labels, ...VELERO_EXCLUDED };
    const updated = { ...current, metadata: { ...current.metadata, labels, resourceVersion: this.next() } };
    this.restores.upsert(updated);
    return updated;
  }
  async deleteRestore(restore: EtcdRestore) {
    this.calls.push(`deleteRestore ${restore.metadata?.name}`);
    this.restores.remove(objectKey(restore));
  }
  async recordEvent(_restore: EtcdRestore, event: KubeEvent) {
    this.events.push(event);
  }

  // ── the world ──
  memberPods(set: string): Pod[] {
    return this.pods.list().filter((p) => p.metadata?.labels?.statefulset === set);
  }

  runPods(set: string, replicas: number): void {
    for (let i = 0; i < replicas; i++)
      this.pods.upsert({
        metadata: {
          name: `${set}-${i}`,
          namespace: NS,
          resourceVersion: this.next(),
          labels: { 'etcd.io/cluster': 'main', statefulset: set, app: 'etcd' },
        },
        spec: {
          containers: [
            {
              name: 'etcd',
              image: 'quay.io/coreos/etcd:v3.6.16',
              ports: [{ name: 'client', containerPort: 2379 }],
            },
          ],
        },
        status: { phase: 'Running', podIP: `10.0.0.${i + 1}` },
      });
  }

  /** A 3-member StatefulSet as the etcd fixture makes it, running, with its data claims. */
  addCluster(replicas = 3, image = 'quay.io/coreos/etcd:v3.6.16'): void {
    this.statefulSets.upsert({
      metadata: {
        name: 'main',
        namespace: NS,
        labels: { 'etcd.io/cluster': 'main' },
        resourceVersion: this.next(),
      },
      spec: {
        serviceName: 'main',
        replicas,
        selector: { matchLabels: { 'etcd.io/cluster': 'main' } },
        template: {
          spec: {
            containers: [
              {
                name: 'etcd',
                image,
                args: [
                  '--name=$(POD_NAME)',
                  '--data-dir=/var/run/etcd/data',
                  `--initial-advertise-peer-urls=http://$(POD_NAME).main.${NS}.svc:2380`,
                ],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                ports: [
                  { name: 'client', containerPort: 2379 },
                  { name: 'peer', containerPort: 2380 },
                ],
                volumeMounts: [{ name: 'data', mountPath: '/var/run/etcd' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    });
    for (let i = 0; i < replicas; i++)
      this.claims.upsert({
        metadata: { name: `data-main-${i}`, namespace: NS },
        status: { capacity: { storage: '1Gi' } },
      });
    this.runPods('main', replicas);
    this.live = this.healthyView(replicas, 1000);
  }

  healthyView(replicas: number, revision: number, keys = 5): LiveClusterView {
    const names = Array.from({ length: replicas }, (_, i) => `main-${i}`);
    return {
      members: names.map((name, i) => ({
        id: `${i + 1}`,
        name,
        peerUrls: [`http://${name}.main.${NS}.svc:2380`],
      })),
      answering: replicas,
      leaders: ['1'],
      revision,
      keyCounts: names.map((member) => ({ member, count: keys })),
      version: '3.6.16',
    };
  }

  addRecord(name = 'snap', status: Partial<EtcdSnapshot['status']> = {}): void {
    this.records.upsert({
      metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: this.next() },
      spec: {
        driverName: 'd',
        requestKind: 'snapshot',
        requestName: `req-${name}`,
        cluster: {
          key: `${NS}/main`,
          namespace: NS,
          name: 'main',
          endpoints: [],
          discoveredBy: 'statefulset',
        },
        members: [{ snapshotId: `${name}-id`, sourceVolumeId: `${NS}/data-main-0` }],
        sourcesDigest: 'x',
        parameters: {},
        snapshotTimeoutSeconds: 300,
        retentionDays: 7,
        storage: {
          storageClassName: 'standard',
          claimName: 'etcd-snapshots-main',
          path: `${name}/snapshot.db`,
        },
        createdBy: 'test',
      },
      status: {
        phase: 'Ready',
        readyToUse: true,
        checksumSha256: SHA,
        revision: 500,
        lastRevisionSeen: 900,
        sizeBytes: 20480,
        etcdVersion: '3.6.0',
        ...status,
      },
    });
  }

  addRestore(spec: Partial<EtcdRestoreSpec> = {}, name = 'r1', created = '2026-01-01T00:00:00Z'): void {
    this.restores.upsert({
      metadata: {
        name,
        namespace: NS,
        uid: name === 'r1' ? UID : `${UID.slice(0, 30)}${name.slice(-2).padStart(2, '0')}`,
        resourceVersion: this.next(),
        creationTimestamp: created,
        generation: 1,
      },
      spec: { source: { etcdSnapshot: { name: 'snap' } }, target: { cluster: 'main' }, ...spec },
    });
  }

  restore(name = 'r1'): EtcdRestore {
    const r = this.restores.get(`${NS}/${name}`);
    if (!r) throw new Error(`no restore ${name}`);
    return r;
  }

  /** The Job ends, its pod leaving `result` (an AgentResult) as termination message. */
  finishJob(name: string, complete: boolean, result: object): void {
    const job = this.jobs.get(`${NS}/${name}`);
    if (!job) throw new Error(`no job ${name}`);
    this.jobs.upsert({
      ...job,
      metadata: { ...job.metadata, resourceVersion: this.next() },
      status: {
        conditions: [
          complete
            ? { type: 'Complete', status: 'True' }
            : { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
        ],
      },
    });
    this.pods.upsert({
      metadata: {
        name: `${name}-pod`,
        namespace: NS,
        resourceVersion: this.next(),
        labels: { ...job.spec?.template?.metadata?.labels, 'job-name': name },
      },
      status: {
        phase: complete ? 'Succeeded' : 'Failed',
        containerStatuses: [
          {
            name: 'agent',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: complete ? 0 : 16, message: JSON.stringify(result) } },
          },
        ],
      },
    });
  }

  jobNames(): string[] {
    return this.jobs
      .list()
      .map((j) => j.metadata?.name ?? '')
      .sort();
  }
}

export function reconcilerFor(
  world: RestoreWorld,
  options: { turns?: ClusterTurns; now?: () => Date; restore?: Partial<RestoreOptions> } = {},
) {
  const metrics = new RecordingRestoreMetrics();
  const logger = createLogger({
    level: 'warn',
    format: 'json',
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const reconciler = new EtcdRestoreReconciler({
    stores: {
      etcdRestores: world.restores,
      etcdSnapshots: world.records,
      jobs: world.jobs,
      pods: world.pods,
      persistentVolumeClaims: world.claims,
      statefulSets: world.statefulSets,
    },
    api: world,
    probe: async (_endpoints, credentials) => {
      world.probedWith.push(credentials.kind);
      if (!world.live) throw new Error('no etcd endpoint answered');
      return world.live;
    },
    parseCredentials: (secret) =>
      secret.data?.username ? { kind: 'basic', username: 'u', password: 'p' } : { kind: 'none' },
    options: resolveRestoreOptions({
      job: {
        agentImage: 'ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:dev',
        executorServiceAccount: 'etcd-snapshot-executor',
        jobActiveDeadlineSeconds: 600,
        jobTtlSecondsAfterFinished: 600,
        resources: { requests: {}, limits: {} },
      },
      verifyResultTimeoutMs: 60_000,
      quiesceTimeoutMs: 60_000,
      ...options.restore,
    }),
    metrics,
    turns: options.turns ?? new ClusterTurns(),
    ...(options.now ? { now: options.now } : {}),
  });
  const ctx: ReconcileContext = {
    signal: new AbortController().signal,
    assertOwner() {},
    log: logger,
  };
  return {
    reconciler,
    metrics,
    run: () => reconciler.reconcile(`${NS}/r1`, ctx),
    runKey: (k: string) => reconciler.reconcile(k, ctx),
  };
}

export const okResult = (operation: string, extra: object = {}) => ({ operation, ok: true, ...extra });
