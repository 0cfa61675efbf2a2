// The snapshot pipeline: a level-based reconciler of EtcdSnapshot records (key `ns/name`).
//
//   Discover → ResolveCredentials → CheckHealth → PrepareStorage → RunJob → AwaitJob → Verify → Ready
//                                                                          ↘ Failed → Cleanup
//   deletionTimestamp → stop the save → delete Job removes the files → finalizer released
//
// ResolveCredentials runs before CheckHealth because the health check needs the credentials.
// The checks before RunJob hold no state: they run again in one pass until the save starts. The
// state that matters lives in status (the save Job's name is written BEFORE the Job is created,
// so "a file may exist" is never lost) and in deterministic Job names. Every status write carries
// the resourceVersion read (409 → requeue with backoff); waiting is a requeue or a Job/Pod event.
import { type AgentResult, SNAPSHOT_MOUNT_PATH } from '../../agent/contract.ts';
import { type EtcdCredentials, withCaFromSecret } from '../../etcd/credentials.ts';
import type { DiscoveryStores } from '../../etcd/discovery.ts';
import { discoverEtcdCluster } from '../../etcd/discovery.ts';
import { ClusterUnhealthyError } from '../../etcd/errors.ts';
import type { Job, PersistentVolumeClaim, Pod } from '../../informers/resources.ts';
import type { ReadonlyStore } from '../../informers/store-types.ts';
import {
  ANNOTATION_TRACEPARENT,
  type EtcdSnapshot,
  type EtcdSnapshotStatus,
  type EtcdSnapshotStep,
  FINALIZER_BACKUP_FILE,
  INDEX_GROUP_SNAPSHOT_ID,
  isBeingDeleted,
} from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../result.ts';
import { buildSnapshotClaim, claimSize, minFreeBytes } from './claim-spec.ts';
import { isTerminal, saveTurn } from './cluster-turn.ts';
import { waitingStatus } from './cluster-wait.ts';
import { CONDITION_SAVE_TURN, withoutBlockingConditions } from './conditions.ts';
import { groupFailure } from './group-failure.ts';
import {
  clusterWorkloadKey,
  INDEX_PIPELINE_WORKLOAD,
  INDEX_RECORD_CLUSTER,
  snapshotWorkloadKey,
} from './indexes.ts';
import { createSaveJob } from './job-create-failure.ts';
import { type JobOutcome, jobFinished, jobOutcome, podActive } from './job-outcome.ts';
import { buildDeleteJob, buildSaveJob } from './job-spec.ts';
import { checkMembershipAfterSave, isDiscarded, memberIdsOf, notDiscarded } from './membership-drift.ts';
import { memberCountsOf, type PipelineMetrics } from './metrics.ts';
import { jobName, snapshotDir } from './names.ts';
import type { PipelineOptions } from './options.ts';
import type { CredentialsParser, HealthChecker, PipelineApi } from './ports.ts';
import { checkSaveResult } from './result-check.ts';
import { type StepIo, sourceFirst } from './step-io.ts';
import { inPhaseSpan, recordEndedPhase, traceparentOf } from './tracing.ts';
import { reportVersionSkew } from './version-skew.ts';

export interface PipelineStores extends DiscoveryStores {
  /** With etcdSnapshotIndexers and INDEX_RECORD_CLUSTER. */
  etcdSnapshots: ReadonlyStore<EtcdSnapshot>;
  /** With INDEX_PIPELINE_WORKLOAD. */
  jobs: ReadonlyStore<Job>;
  /** With INDEX_PIPELINE_WORKLOAD and discovery's INDEX_ETCD_CLUSTER. */
  pods: ReadonlyStore<Pod>;
  persistentVolumeClaims: ReadonlyStore<PersistentVolumeClaim>;
}

export interface PipelineReconcilerDeps {
  stores: PipelineStores;
  api: PipelineApi;
  options: PipelineOptions;
  metrics: PipelineMetrics;
  logger: Logger;
  parseCredentials: CredentialsParser;
  /** Without one, CheckHealth is skipped (the agent still refuses a cluster without quorum). */
  health?: HealthChecker;
  now?: () => Date;
}

/** A failure the record's status should tell: a catalog reason and what happened. */
class PipelineFailure extends Error {
  override name = 'PipelineFailure';
  readonly reason: string;
  readonly step: EtcdSnapshotStep;
  constructor(reason: string, step: EtcdSnapshotStep, message: string) {
    super(message);
    this.reason = reason;
    this.step = step;
  }
}

// Reasons that may clear by themselves (an election, a member restarting): retried until the
// record's snapshot timeout has passed since it was created, then final.
const TRANSIENT_REASONS = new Set(['ETCD_NO_LEADER', 'ETCD_ENDPOINTS_UNREACHABLE']);
const LOG_TAIL_LINES = 20;
const MAX_MESSAGE = 2048;
// A save Job that still runs this long after its deadline (a kubelet that cannot kill it) is
// failed by the controller itself.
const DEADLINE_GRACE_MS = 60_000;

type Step = { done: true } | { done: false; result: ReconcileResult };

export class EtcdSnapshotReconciler implements Reconciler {
  readonly #d: PipelineReconcilerDeps;
  readonly #now: () => Date;
  readonly #written = new Map<string, { replaced: string; record: EtcdSnapshot }>();
  /** Clusters whose turn is being decided (see #startSave). */
  readonly #starting = new Set<string>();

  readonly #io: StepIo;

  constructor(deps: PipelineReconcilerDeps) {
    this.#d = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#io = {
      api: deps.api,
      options: deps.options,
      metrics: deps.metrics,
      health: deps.health,
      now: this.#now,
      putStatus: (record, status, ctx) => this.#putStatus(record, status, ctx),
      fail: (record, ctx, failure) => this.#fail(record, ctx, failure),
      resolveCredentials: (record, ctx) => this.#resolveCredentials(record, ctx),
      currentJob: (namespace, name, ctx) => this.#currentJob(namespace, name, ctx),
    };
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const record = this.#read(key);
    if (!record) return {};
    if (isBeingDeleted(record)) return this.#deletion(record, ctx);
    if (record.status?.phase === 'Failed') return this.#cleanupFailed(record, ctx);

    const groupId = record.spec.groupSnapshotId;
    if (groupId) {
      const peers = this.#d.stores.etcdSnapshots.byIndex(INDEX_GROUP_SNAPSHOT_ID, groupId);
      const failure = groupFailure(record, peers);
      if (failure) {
        await this.#fail(record, ctx, {
          reason: failure.reason,
          step: record.status?.step ?? 'Discover',
          message: `group snapshot ${groupId} failed: ${failure.message}`,
          failedWith: failure.failedWith,
        });
        return {};
      }
    }
    if (record.status?.phase === 'Ready') return {};
    try {
      if (record.status?.saveJob) return await this.#awaitSave(record, ctx);
      return await this.#startSave(record, ctx);
    } catch (err) {
      if (!(err instanceof PipelineFailure)) throw err;
      await this.#fail(record, ctx, { reason: err.reason, step: err.step, message: err.message });
      return {};
    }
  }

  // ─── Discover → ResolveCredentials → CheckHealth → PrepareStorage → RunJob ────────────────

  async #startSave(record: EtcdSnapshot, ctx: ReconcileContext): Promise<ReconcileResult> {
    // Records of one cluster are reconciled by this replica alone (ownership is by cluster), but
    // by several workers at once: two that judged the turn from the same cache before either
    // wrote its intent would both start. The decision and the intent write are one critical
    // section per cluster; a record finding it taken looks again shortly.
    const clusterKey = record.spec.cluster.key;
    if (this.#starting.has(clusterKey)) return { requeueAfter: 1_000 };
    this.#starting.add(clusterKey);
    try {
      return await this.#startSaveExclusive(record, ctx);
    } finally {
      this.#starting.delete(clusterKey);
    }
  }

  async #startSaveExclusive(record: EtcdSnapshot, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { stores, options } = this.#d;
    const { namespace, name: clusterName, key: clusterKey } = record.spec.cluster;
    const turn = saveTurn({
      self: record,
      // Our own intent writes count even before the cache has them.
      peers: stores.etcdSnapshots
        .byIndex(INDEX_RECORD_CLUSTER, clusterKey)
        .map((r) => this.#read(`${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`) ?? r),
      saveJobs: stores.jobs.byIndex(
        INDEX_PIPELINE_WORKLOAD,
        clusterWorkloadKey(namespace, clusterName, 'save'),
      ),
      savePods: stores.pods.byIndex(
        INDEX_PIPELINE_WORKLOAD,
        clusterWorkloadKey(namespace, clusterName, 'save'),
      ),
    });
    if (!turn.go) {
      ctx.log.debug({ waiting_for: turn.waitingFor }, 'waiting for the cluster’s save to end');
      const waiting = waitingStatus(record.status, clusterKey, turn.waitingFor, this.#now());
      if (waiting) await this.#putStatus(record, waiting, ctx);
      return { requeueAfter: options.pollIntervalMs };
    }
    const started = performance.now();

    const endpoints = await inPhaseSpan(record, 'Discover', async () => this.#discover(record));
    const credentials = await inPhaseSpan(record, 'ResolveCredentials', async () =>
      this.#resolveCredentials(record, ctx),
    );
    const health = await inPhaseSpan(record, 'CheckHealth', async () =>
      this.#checkHealth(record, endpoints, credentials, ctx),
    );
    if ('retryAfter' in health) return { requeueAfter: health.retryAfter };
    const claimReady = await inPhaseSpan(record, 'PrepareStorage', async () =>
      this.#prepareStorage(record, health.dbSizeBytes, ctx),
    );
    if (!claimReady) return { requeueAfter: options.pollIntervalMs };

    const refused = await inPhaseSpan(record, 'RunJob', async (span, parent) => {
      const saveJob = jobName('save', record.metadata?.name ?? '');
      const status: EtcdSnapshotStatus = {
        // The wait for the turn is over: its condition goes.
        ...(record.status ? (withoutBlockingConditions(record.status) ?? record.status) : {}),
        phase: 'Running',
        readyToUse: false,
        step: 'AwaitJob',
        saveJob,
        endpoints: health.endpoints,
        startedAt: this.#now().toISOString(),
      };
      if (health.dbSizeBytes !== undefined) status.dbSizeBytes = health.dbSizeBytes;
      if (health.memberIds.length > 0) status.memberIds = health.memberIds;
      else delete status.memberIds;
      // Intent first: once this is stored, every later reader knows a file may exist.
      const written = await this.#putStatus(record, status, ctx);
      const traceparent = traceparentOf(span, parent);
      const job = buildSaveJob(options, {
        record: written,
        endpoints: health.endpoints,
        ...(health.dbSizeBytes !== undefined ? { minFreeBytes: minFreeBytes(health.dbSizeBytes) } : {}),
        ...(traceparent ? { traceparent } : {}),
      });
      return createSaveJob(this.#io, written, job, ctx);
    });
    if (refused) return refused;
    this.#logStep(ctx.log, record, 'Running', 'RunJob', (performance.now() - started) / 1000);
    return { requeueAfter: options.pollIntervalMs };
  }

  #discover(record: EtcdSnapshot): string[] {
    const { cluster } = record.spec;
    // Explicit endpoints were the user's word; anything discovered is looked up again, as pod IPs
    // change when members restart.
    if (cluster.discoveredBy === 'pvc-annotation') return cluster.endpoints;
    const found = discoverEtcdCluster(
      {
        namespace: cluster.namespace,
        name: cluster.name,
        ...(cluster.credentialsSecret ? { credentialsSecret: cluster.credentialsSecret } : {}),
      },
      this.#d.stores,
      this.#d.options.discovery,
    );
    if (found.found && found.cluster.endpoints.length > 0) return found.cluster.endpoints;
    if (cluster.endpoints.length > 0) return cluster.endpoints;
    throw new PipelineFailure(
      'ETCD_CLUSTER_NOT_FOUND',
      'Discover',
      `etcd cluster ${cluster.key} not found: ${found.found ? 'no endpoints' : found.tried.join('; ')}`,
    );
  }

  async #resolveCredentials(record: EtcdSnapshot, ctx: ReconcileContext): Promise<EtcdCredentials> {
    const { namespace, credentialsSecret } = record.spec.cluster;
    if (!credentialsSecret) return { kind: 'none' };
    const secret = await this.#d.api.getSecret(namespace, credentialsSecret, ctx.signal);
    if (!secret) {
      throw new PipelineFailure(
        'AUTH_CERT_NOT_FOUND',
        'ResolveCredentials',
        `credentials Secret ${namespace}/${credentialsSecret} does not exist`,
      );
    }
    const { caSecret } = record.spec.cluster;
    const ca = caSecret ? await this.#d.api.getSecret(namespace, caSecret.name, ctx.signal) : undefined;
    if (caSecret && !ca) {
      throw new PipelineFailure(
        'AUTH_CERT_NOT_FOUND',
        'ResolveCredentials',
        `CA Secret ${namespace}/${caSecret.name} (etcd-druid's tlsCASecretRef) does not exist`,
      );
    }
    try {
      const credentials = this.#d.parseCredentials(secret);
      return ca && caSecret ? withCaFromSecret(credentials, ca, caSecret.key) : credentials;
    } catch (err) {
      throw new PipelineFailure(
        reasonOf(err) ?? 'AUTH_CERT_NOT_FOUND',
        'ResolveCredentials',
        (err as Error).message,
      );
    }
  }

  async #checkHealth(
    record: EtcdSnapshot,
    endpoints: string[],
    credentials: EtcdCredentials,
    ctx: ReconcileContext,
  ): Promise<{ endpoints: string[]; memberIds: string[]; dbSizeBytes?: number } | { retryAfter: number }> {
    const check = this.#d.health;
    if (!check) return { endpoints, memberIds: [] };
    const cluster = record.spec.cluster.key;
    const { metrics } = this.#d;
    try {
      const health = await check(endpoints, credentials, {
        signal: ctx.signal,
        timeoutMs: this.#d.options.healthTimeoutMs,
        onCall: (c) => metrics.etcdRequest(cluster, c.operation, c.seconds, c.error === undefined),
      });
      metrics.clusterHealth(cluster, memberCountsOf(health), health.hasQuorum);
      if (!health.hasQuorum) {
        throw new PipelineFailure(
          'ETCD_QUORUM_LOST',
          'CheckHealth',
          `etcd cluster ${cluster}: fewer than a quorum of its ${health.members.length} members answer`,
        );
      }
      await reportVersionSkew(this.#io, record, health, ctx);
      return {
        endpoints: sourceFirst(endpoints, health.source),
        memberIds: memberIdsOf(health.members),
        ...(health.dbSizeBytes !== undefined ? { dbSizeBytes: health.dbSizeBytes } : {}),
      };
    } catch (err) {
      if (err instanceof PipelineFailure) throw err;
      ctx.signal.throwIfAborted();
      // An unhealthy cluster is what the quorum gauge exists for; a credential failure is not.
      if (err instanceof ClusterUnhealthyError) metrics.clusterHealth(cluster, err.members, false);
      const reason = reasonOf(err);
      if (!reason) throw err;
      const age = this.#now().getTime() - Date.parse(record.metadata?.creationTimestamp ?? '');
      if (TRANSIENT_REASONS.has(reason) && !(age > record.spec.snapshotTimeoutSeconds * 1000)) {
        ctx.log.info({ reason, message: (err as Error).message }, 'etcd not healthy yet; checking again');
        return { retryAfter: Math.min(5_000, this.#d.options.pollIntervalMs) };
      }
      throw new PipelineFailure(reason, 'CheckHealth', (err as Error).message);
    }
  }

  /** Creates the cluster's snapshot claim if absent; false while it cannot be used yet. */
  async #prepareStorage(
    record: EtcdSnapshot,
    dbSizeBytes: number | undefined,
    ctx: ReconcileContext,
  ): Promise<boolean> {
    const { claimName } = record.spec.storage;
    const { namespace } = record.spec.cluster;
    const existing = this.#d.stores.persistentVolumeClaims.get(`${namespace}/${claimName}`);
    if (existing) {
      // A claim being deleted takes every file with it; wait for it to go and make a new one.
      if (existing.metadata?.deletionTimestamp) {
        ctx.log.info({ claim: claimName }, 'snapshot claim is being deleted; waiting');
        return false;
      }
      return true;
    }
    const claim = buildSnapshotClaim(
      record,
      claimSize(this.#d.options.snapshotClaimSize, dbSizeBytes),
      this.#d.options.defaultStorageClass,
    );
    ctx.assertOwner();
    try {
      await this.#d.api.createClaim(claim, ctx.signal);
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      this.#d.metrics.storageError(record.spec.cluster.key, 'STORAGE_PVC_NOT_FOUND');
      if (status === 400 || status === 403 || status === 422) {
        throw new PipelineFailure(
          'STORAGE_PVC_NOT_FOUND',
          'PrepareStorage',
          `cannot create snapshot claim ${namespace}/${claimName}: ${(err as Error).message}`,
        );
      }
      throw err;
    }
    return true;
  }

  // ─── AwaitJob → Verify → Ready ─────────────────────────────────────────────────────────────

  async #awaitSave(record: EtcdSnapshot, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { options } = this.#d;
    const name = record.status?.saveJob ?? '';
    const namespace = record.metadata?.namespace ?? '';
    const job = await this.#currentJob(namespace, name, ctx);
    if (!job) {
      // Intent stored but no Job: the writer crashed before creating it (or it was removed).
      // Same name, same arguments: creating it again is the same save. Its agent joins the trace
      // under the CSI call's span (the RunJob span that would have been its parent has ended).
      const traceparent = record.metadata?.annotations?.[ANNOTATION_TRACEPARENT];
      const again = buildSaveJob(options, {
        record,
        ...(traceparent ? { traceparent } : {}),
        endpoints: record.status?.endpoints ?? record.spec.cluster.endpoints,
        ...(record.status?.dbSizeBytes !== undefined
          ? { minFreeBytes: minFreeBytes(record.status.dbSizeBytes) }
          : {}),
      });
      const refused = await createSaveJob(this.#io, record, again, ctx);
      if (refused) return refused;
      ctx.log.info({ job: name }, 'save Job was missing; created it');
      return { requeueAfter: options.pollIntervalMs };
    }
    if (!ownedBy(job, record)) {
      // A Job of an earlier record of the same name, which the garbage collector is removing.
      return { requeueAfter: options.pollIntervalMs };
    }
    if (isDiscarded(job, record)) {
      // The save discarded for a membership change, still in the cache: gone first, then again.
      if (!job.metadata?.deletionTimestamp) {
        ctx.assertOwner();
        await this.#d.api.deleteJob(namespace, name, ctx.signal);
      }
      return { requeueAfter: Math.min(2_000, options.pollIntervalMs) };
    }
    let outcome = jobOutcome(job, notDiscarded(this.#podsOf(namespace, record, 'save'), record));
    if (outcome.state !== 'running' && outcome.result === undefined) {
      // The pod cache may trail the Job's: read the pods before judging without their result.
      const pods = await this.#d.api.listJobPods(namespace, name, ctx.signal);
      outcome = jobOutcome(job, notDiscarded(pods, record));
    }
    const cluster = record.spec.cluster.key;
    if (outcome.state === 'running') {
      const startedAt = Date.parse(record.status?.startedAt ?? '');
      const deadlineMs = (job.spec?.activeDeadlineSeconds ?? options.jobActiveDeadlineSeconds) * 1000;
      if (startedAt && this.#now().getTime() - startedAt > deadlineMs + DEADLINE_GRACE_MS) {
        ctx.assertOwner();
        await this.#d.api.deleteJob(namespace, name, ctx.signal);
        this.#d.metrics.jobTimeout(cluster);
        recordEndedPhase(
          record,
          'AwaitJob',
          record.status?.startedAt,
          { 'k8s.job.name': name },
          'JOB_TIMEOUT',
        );
        await this.#fail(record, ctx, {
          reason: 'JOB_TIMEOUT',
          step: 'AwaitJob',
          message: `save Job ${name} still running ${Math.round(deadlineMs / 1000)}s after it started`,
        });
        return {};
      }
      return { requeueAfter: options.pollIntervalMs };
    }
    // The wait is over: one AwaitJob span from the Job's creation to now.
    recordEndedPhase(
      record,
      'AwaitJob',
      record.status?.startedAt,
      { 'k8s.job.name': name },
      outcome.state === 'failed' ? outcome.reason : undefined,
    );
    if (outcome.state === 'failed') {
      if (outcome.timedOut) this.#d.metrics.jobTimeout(cluster);
      if (outcome.reason === 'STORAGE_QUOTA_EXCEEDED' || outcome.reason === 'STORAGE_WRITE_FAILED')
        this.#d.metrics.storageError(cluster, outcome.reason);
      const tail = outcome.pod
        ? await this.#d.api.podLogTail(namespace, outcome.pod, LOG_TAIL_LINES, ctx.signal)
        : '';
      await this.#fail(record, ctx, {
        reason: outcome.reason,
        step: 'AwaitJob',
        message: tail.trim()
          ? `${outcome.message}\n--- log tail of pod ${outcome.pod} ---\n${tail.trim()}`
          : outcome.message,
      });
      return {};
    }
    return this.#verify(record, outcome, ctx);
  }

  async #verify(
    record: EtcdSnapshot,
    outcome: Extract<JobOutcome, { state: 'succeeded' }>,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult> {
    const snapshotId = record.metadata?.name ?? '';
    const file = `${SNAPSHOT_MOUNT_PATH}/${record.spec.storage.path}`;
    const check = await inPhaseSpan(record, 'Verify', async () =>
      checkSaveResult(outcome.result, { snapshotId, file }),
    );
    if (!check.ok) {
      await this.#fail(record, ctx, { reason: check.reason, step: 'Verify', message: check.message });
      return {};
    }
    const retried = await checkMembershipAfterSave(this.#io, record, ctx);
    if (retried) return retried;
    await this.#ready(record, check.result, ctx);
    return {};
  }

  async #ready(record: EtcdSnapshot, result: AgentResult, ctx: ReconcileContext): Promise<void> {
    const now = this.#now();
    const status: EtcdSnapshotStatus = {
      ...record.status,
      phase: 'Ready',
      readyToUse: true,
      step: 'Ready',
      creationTime: result.createdAt ?? now.toISOString(),
      backupPath: record.spec.storage.path,
      finishedAt: now.toISOString(),
    };
    delete status.reason;
    delete status.message;
    delete status.conditions;
    if (result.sizeBytes !== undefined) status.sizeBytes = result.sizeBytes;
    if (result.sha256 !== undefined) status.checksumSha256 = result.sha256;
    if (result.revision !== undefined) status.revision = result.revision;
    if (result.etcdVersion !== undefined) status.etcdVersion = result.etcdVersion;
    if (result.member !== undefined) status.sourceMember = result.member;
    if (result.totalKeys !== undefined) status.totalKeys = result.totalKeys;
    await this.#putStatus(record, status, ctx);
    const cluster = record.spec.cluster.key;
    const seconds = durationSeconds(record, now);
    this.#d.metrics.operationFinished({
      operation: 'create',
      status: 'success',
      cluster,
      durationSeconds: seconds,
    });
    if (result.sizeBytes !== undefined) this.#d.metrics.snapshotSize(cluster, result.sizeBytes);
    if (result.storage !== undefined) {
      const { usedBytes, availableBytes } = result.storage;
      this.#d.metrics.storageUsage(
        record.spec.cluster.namespace,
        record.spec.storage.claimName,
        usedBytes,
        availableBytes,
      );
    }
    this.#logStep(ctx.log, record, 'Ready', 'Ready', seconds);
  }

  // ─── Failed → Cleanup ──────────────────────────────────────────────────────────────────────

  async #fail(
    record: EtcdSnapshot,
    ctx: ReconcileContext,
    failure: { reason: string; step: EtcdSnapshotStep; message: string; failedWith?: string },
  ): Promise<void> {
    const now = this.#now();
    const message =
      failure.message.length > MAX_MESSAGE ? `${failure.message.slice(0, MAX_MESSAGE)}…` : failure.message;
    const status: EtcdSnapshotStatus = {
      ...(record.status
        ? (withoutBlockingConditions(record.status, [CONDITION_SAVE_TURN]) ?? record.status)
        : {}),
      phase: 'Failed',
      readyToUse: false,
      step: failure.step,
      reason: failure.reason,
      message,
      finishedAt: now.toISOString(),
    };
    if (failure.failedWith) status.failedWith = failure.failedWith;
    await this.#putStatus(record, status, ctx);
    await this.#d.api.recordEvent(
      record,
      { type: 'Warning', reason: 'SnapshotFailed', message: `${failure.reason}: ${message}` },
      ctx.signal,
    );
    const seconds = durationSeconds(record, now);
    this.#d.metrics.operationFinished({
      operation: 'create',
      status: failure.reason,
      cluster: record.spec.cluster.key,
      durationSeconds: seconds,
    });
    this.#logStep(ctx.log, record, 'Failed', failure.step, seconds, failure.reason);
  }

  /** A failed record keeps nothing: its save stops, its files go, then its finalizer. */
  async #cleanupFailed(record: EtcdSnapshot, ctx: ReconcileContext): Promise<ReconcileResult> {
    if (!record.metadata?.finalizers?.includes(FINALIZER_BACKUP_FILE)) return {};
    const step = await inPhaseSpan(record, 'Cleanup', async () => this.#removeFiles(record, ctx));
    if (!step.done) return step.result;
    ctx.assertOwner();
    await this.#d.api.removeFinalizer(record, FINALIZER_BACKUP_FILE, ctx.signal);
    this.#logStep(ctx.log, record, 'Failed', 'Cleanup', durationSeconds(record, this.#now()));
    return {};
  }

  // ─── Deletion ──────────────────────────────────────────────────────────────────────────────

  async #deletion(record: EtcdSnapshot, ctx: ReconcileContext): Promise<ReconcileResult> {
    if (!record.metadata?.finalizers?.includes(FINALIZER_BACKUP_FILE)) return {};
    const started = Date.parse(record.metadata?.deletionTimestamp ?? '');
    const step = await inPhaseSpan(record, 'Delete', async () => this.#removeFiles(record, ctx));
    if (!step.done) return step.result;
    ctx.assertOwner();
    await this.#d.api.removeFinalizer(record, FINALIZER_BACKUP_FILE, ctx.signal);
    const seconds = Number.isNaN(started) ? 0 : Math.max(0, (this.#now().getTime() - started) / 1000);
    this.#d.metrics.operationFinished({
      operation: 'delete',
      status: 'success',
      cluster: record.spec.cluster.key,
      durationSeconds: seconds,
    });
    ctx.log.info(
      {
        snapshot_id: record.metadata?.name,
        cluster_name: record.spec.cluster.key,
        operation: 'delete',
        status: 'Deleted',
        duration_seconds: seconds,
      },
      'snapshot files removed; finalizer released',
    );
    return {};
  }

  /**
   * Stops the record's save and removes its directory: the save Job is deleted and its pods must
   * have stopped (a pod still writing would leave a file behind), then the delete Job runs to
   * success. Reads the API, not the caches, for the save: a Job created a moment ago must not be
   * missed. Done at once when no save ever started (no file can exist).
   */
  async #removeFiles(record: EtcdSnapshot, ctx: ReconcileContext): Promise<Step> {
    const { api, options } = this.#d;
    if (!record.status?.saveJob && !record.status?.backupPath) return { done: true };
    const namespace = record.metadata?.namespace ?? '';
    const recordName = record.metadata?.name ?? '';
    const saveName = record.status?.saveJob ?? jobName('save', recordName);
    const wait: Step = { done: false, result: { requeueAfter: Math.min(2_000, options.pollIntervalMs) } };

    const save = await api.getJob(namespace, saveName, ctx.signal);
    if (save && ownedBy(save, record) && !jobFinished(save) && !save.metadata?.deletionTimestamp) {
      ctx.assertOwner();
      await api.deleteJob(namespace, saveName, ctx.signal);
      ctx.log.info({ job: saveName }, 'stopped the save Job');
    }
    const savePods = await api.listJobPods(namespace, saveName, ctx.signal);
    if (savePods.some(podActive)) return wait;

    // The delete Job removes a whole directory: only ever one that is this record's own (a path
    // of another layout could name a directory other snapshots share).
    const dir = snapshotDir(record.spec.storage.path);
    if (!dir?.endsWith(recordName)) {
      await api.recordEvent(
        record,
        {
          type: 'Warning',
          reason: 'SnapshotFileNotRemoved',
          message: `path ${record.spec.storage.path} is not in a directory of its own; left in place`,
        },
        ctx.signal,
      );
      return { done: true };
    }
    const deleteName = jobName('delete', recordName);
    const del = await this.#currentJob(namespace, deleteName, ctx);
    if (!del) {
      ctx.assertOwner();
      await api.createJob(buildDeleteJob(options, record), ctx.signal);
      return wait;
    }
    if (!ownedBy(del, record)) return wait;
    const outcome = jobOutcome(del, this.#podsOf(namespace, record, 'delete'));
    if (outcome.state === 'running') return wait;
    if (outcome.state === 'failed') {
      await api.recordEvent(
        record,
        { type: 'Warning', reason: 'SnapshotDeleteFailed', message: `${outcome.reason}: ${outcome.message}` },
        ctx.signal,
      );
      this.#d.metrics.operationFinished({
        operation: 'delete',
        status: outcome.reason,
        cluster: record.spec.cluster.key,
        durationSeconds: 0,
      });
      // A new delete Job after a pause: removing a directory is safe to repeat.
      ctx.assertOwner();
      await api.deleteJob(namespace, deleteName, ctx.signal);
      return { done: false, result: { requeueAfter: options.pollIntervalMs * 3 } };
    }
    return { done: true };
  }

  // ─── helpers ───────────────────────────────────────────────────────────────────────────────

  /**
   * The record from the cache, or our own later write while the cache still holds the version
   * that write replaced (a Job event can arrive before the record's). Only an optimisation: a
   * stale read would cost a 409 and a retry, never a wrong step.
   */
  #read(key: string): EtcdSnapshot | undefined {
    const cached = this.#d.stores.etcdSnapshots.get(key);
    const written = this.#written.get(key);
    if (!written) return cached;
    if (cached && cached.metadata?.resourceVersion === written.replaced) return written.record;
    this.#written.delete(key);
    return cached;
  }

  async #putStatus(
    record: EtcdSnapshot,
    status: EtcdSnapshotStatus,
    ctx: ReconcileContext,
  ): Promise<EtcdSnapshot> {
    ctx.assertOwner();
    const written = await this.#d.api.putStatus({ ...record, status }, ctx.signal);
    const key = `${record.metadata?.namespace ?? ''}/${record.metadata?.name ?? ''}`;
    this.#written.set(key, { replaced: record.metadata?.resourceVersion ?? '', record: written });
    return written;
  }

  async #currentJob(namespace: string, name: string, ctx: ReconcileContext): Promise<Job | undefined> {
    return (
      this.#d.stores.jobs.get(`${namespace}/${name}`) ??
      (await this.#d.api.getJob(namespace, name, ctx.signal))
    );
  }

  #podsOf(namespace: string, record: EtcdSnapshot, operation: 'save' | 'delete'): Pod[] {
    return this.#d.stores.pods.byIndex(
      INDEX_PIPELINE_WORKLOAD,
      snapshotWorkloadKey(namespace, record.metadata?.name ?? '', operation),
    );
  }

  #logStep(
    log: Logger,
    record: EtcdSnapshot,
    status: string,
    step: EtcdSnapshotStep,
    seconds: number,
    reason?: string,
  ): void {
    log.info(
      {
        snapshot_id: record.metadata?.name,
        cluster_name: record.spec.cluster.key,
        operation: 'create',
        status,
        step,
        duration_seconds: Math.round(seconds * 1000) / 1000,
        ...(reason ? { reason } : {}),
      },
      `snapshot ${status.toLowerCase()} (${step})`,
    );
  }
}

function ownedBy(job: Job, record: EtcdSnapshot): boolean {
  const uid = record.metadata?.uid;
  return (job.metadata?.ownerReferences ?? []).some(
    (o) => o.kind === 'EtcdSnapshot' && (!uid || o.uid === uid),
  );
}

function reasonOf(err: unknown): string | undefined {
  const reason = (err as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' && /^[A-Z][A-Z_]+$/.test(reason) ? reason : undefined;
}

function durationSeconds(record: EtcdSnapshot, now: Date): number {
  const from = Date.parse(record.metadata?.creationTimestamp ?? '');
  return Number.isNaN(from) ? 0 : Math.max(0, (now.getTime() - from) / 1000);
}

export { isTerminal };
