// The retention reconciler, keyed by etcd cluster (`<namespace>/<name>`, the pipeline's shard key,
// so it runs on the replica owning the cluster's bucket). Each pass judges the cluster's records
// (record-verdict.ts) and drives the periodic sweep of the cluster's snapshot claim (sweep-job.ts)
// and of its remote snapshots in the store its records name (remote-orphans.ts).
// The sweep's state lives in its Job (deterministic name) and, for pacing only, in memory: after a
// restart a claim is simply swept again, and a directory needs two sweeps to be deleted.
import { parseAgentResult } from '../../agent/contract.ts';
import type { Job, PersistentVolumeClaim } from '../../informers/resources.ts';
import { objectKey, type ReadonlyStore } from '../../informers/store-types.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { jobFinished } from '../jobs/job-state.ts';
import { APP_NAME, LABEL_APP, LABEL_CLUSTER, labelValue } from '../jobs/labels.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../result.ts';
import { INDEX_RECORD_CLUSTER } from '../snapshot-records/indexes.ts';
import type { ContentReferences } from './content-references.ts';
import type { RetentionApi } from './kube-api.ts';
import type { RetentionMetrics } from './metrics.ts';
import type { RetentionOptions } from './options.ts';
import { confirmedOrphans, deletable, ownedDirs } from './orphan-dirs.ts';
import { expiresAt, judgeRecord, type ReportReason } from './record-verdict.ts';
import { clusterStore, ownedRemote, readRemoteSweep } from './remote-orphans.ts';
import { buildSweepJob, sweepJobName } from './sweep-job.ts';

export interface RetentionStores {
  /** Indexed by INDEX_RECORD_CLUSTER. */
  etcdSnapshots: ReadonlyStore<EtcdSnapshot>;
  persistentVolumeClaims: ReadonlyStore<PersistentVolumeClaim>;
}

export interface RetentionReconcilerDeps {
  stores: RetentionStores;
  contents: ContentReferences;
  api: RetentionApi;
  options: RetentionOptions;
  metrics: RetentionMetrics;
  logger: Logger;
  now?: () => number;
}

const REPORT_EVENT: Record<ReportReason, 'Normal' | 'Warning'> = {
  OrphanRetained: 'Normal',
  OrphanPolicyUnknown: 'Warning',
  RetentionExpiredReferenced: 'Warning',
};

/** Snapshot claims by `<namespace>/<cluster label>`: the pipeline labels them app and cluster. */
export const INDEX_SNAPSHOT_CLAIM_CLUSTER = 'snapshot-claim-cluster';
export function snapshotClaimClusterIndexer(claim: PersistentVolumeClaim | Job): string[] {
  const labels = claim.metadata?.labels;
  const cluster = labels?.[LABEL_CLUSTER];
  if (labels?.[LABEL_APP] !== APP_NAME || !cluster) return [];
  return [`${claim.metadata?.namespace ?? ''}/${cluster}`];
}

/** The snapshot claims of a cluster, through the index (the claim store holds every PVC). */
export function clusterClaims(
  claims: ReadonlyStore<PersistentVolumeClaim>,
  clusterKey: string,
): PersistentVolumeClaim[] {
  const slash = clusterKey.indexOf('/');
  const cluster = labelValue(clusterKey.slice(slash + 1));
  if (cluster === undefined) return [];
  return claims.byIndex(INDEX_SNAPSHOT_CLAIM_CLUSTER, `${clusterKey.slice(0, slash)}/${cluster}`);
}

export class RetentionReconciler implements Reconciler {
  readonly #deps: RetentionReconcilerDeps;
  readonly #now: () => number;
  /** Per claim (`ns/name`): when its last sweep was read. */
  readonly #lastSweep = new Map<string, number>();
  /** Per claim: the unowned directories its last sweep found (the next may delete them). */
  readonly #unowned = new Map<string, string[]>();
  /** Per cluster: the unowned remote snapshots its last sweep found in the store. */
  readonly #unownedRemote = new Map<string, string[]>();
  /** Sweep Jobs already read, waiting to be gone (uid). */
  readonly #readJobs = new Set<string>();
  /** Reports already made (record uid → reason): one Event per record and reason. */
  readonly #reported = new Map<string, string>();

  constructor(deps: RetentionReconcilerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Forgets what was remembered about a record that is gone. */
  forgetRecord(uid: string): void {
    this.#reported.delete(uid);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const nextRecords = await this.#judgeRecords(key, ctx);
    const nextSweep = this.#deps.options.sweepIntervalMs > 0 ? await this.#sweep(key, ctx) : Infinity;
    return { requeueAfter: Math.max(1_000, Math.min(nextRecords, nextSweep, this.#deps.options.resyncMs)) };
  }

  async #judgeRecords(clusterKey: string, ctx: ReconcileContext): Promise<number> {
    const { options, api, metrics } = this.#deps;
    const now = this.#now();
    let next = options.resyncMs;
    const counts: Record<ReportReason, number> = {
      OrphanRetained: 0,
      OrphanPolicyUnknown: 0,
      RetentionExpiredReferenced: 0,
    };
    // Contents not listed yet: every verdict is "keep" for now; look again soon, not at the resync.
    if (!this.#deps.contents.synced) next = Math.min(next, options.pollIntervalMs);
    for (const record of this.#deps.stores.etcdSnapshots.byIndex(INDEX_RECORD_CLUSTER, clusterKey)) {
      const uid = record.metadata?.uid ?? '';
      const verdict = judgeRecord(record, this.#deps.contents.stateOf(record), now, options);
      if (verdict.action === 'keep') {
        this.#reported.delete(uid);
        // Look again when the grace or the retention runs out, not only at the next resync.
        const created = Date.parse(record.metadata?.creationTimestamp ?? '');
        if (Number.isFinite(created) && now - created < options.orphanGraceMs)
          next = Math.min(next, created + options.orphanGraceMs - now + 1_000);
        const expiry = expiresAt(record);
        if (expiry !== undefined && expiry > now) next = Math.min(next, expiry - now + 1_000);
        continue;
      }
      const fields = { snapshot_id: record.metadata?.name, cluster_name: clusterKey, reason: verdict.reason };
      if (verdict.action === 'report') {
        counts[verdict.reason]++;
        if (this.#reported.get(uid) === verdict.reason) continue;
        ctx.assertOwner();
        ctx.log.warn(fields, `snapshot record kept: ${verdict.message}`);
        await api.recordEvent(
          record,
          { type: REPORT_EVENT[verdict.reason], reason: verdict.reason, message: verdict.message },
          ctx.signal,
        );
        this.#reported.set(uid, verdict.reason);
        continue;
      }
      ctx.assertOwner();
      ctx.log.info(fields, `deleting snapshot record: ${verdict.message}`);
      await api.deleteRecord(record, ctx.signal);
      await api.recordEvent(
        record,
        { type: 'Normal', reason: verdict.reason, message: `deleted: ${verdict.message}` },
        ctx.signal,
      );
      metrics.recordDeleted(clusterKey, verdict.reason);
    }
    metrics.reportedRecords(clusterKey, counts);
    return next;
  }

  async #sweep(clusterKey: string, ctx: ReconcileContext): Promise<number> {
    const { options, api, stores } = this.#deps;
    let next = Infinity;
    const records = stores.etcdSnapshots.byIndex(INDEX_RECORD_CLUSTER, clusterKey);
    const clusterName = clusterKey.slice(clusterKey.indexOf('/') + 1);
    const store = clusterStore(records);
    // The store is listed by one claim's sweep of the cluster: the first by name.
    const claims = clusterClaims(stores.persistentVolumeClaims, clusterKey).sort((a, b) =>
      objectKey(a).localeCompare(objectKey(b)),
    );
    const remoteClaim = claims.find((c) => !c.metadata?.deletionTimestamp && c.status?.phase === 'Bound');
    for (const claim of claims) {
      if (claim.metadata?.deletionTimestamp || claim.status?.phase !== 'Bound') continue;
      const namespace = claim.metadata?.namespace ?? '';
      const claimName = claim.metadata?.name ?? '';
      const claimKey = objectKey(claim);
      const name = sweepJobName(claimName);
      const job = await api.getJob(namespace, name, ctx.signal);
      if (job && this.#readJobs.has(job.metadata?.uid ?? '')) {
        next = Math.min(next, options.pollIntervalMs); // read already; waiting for it to go
        continue;
      }
      if (job && !jobFinished(job)) {
        next = Math.min(next, options.pollIntervalMs);
        continue;
      }
      if (job) {
        await this.#readSweep(clusterKey, claim, job, records, ctx);
        this.#readJobs.add(job.metadata?.uid ?? '');
        this.#lastSweep.set(claimKey, this.#now());
        ctx.assertOwner();
        await api.deleteJob(namespace, name, ctx.signal);
        next = Math.min(next, options.sweepIntervalMs);
        continue;
      }
      const last = this.#lastSweep.get(claimKey);
      const since = last === undefined ? Infinity : this.#now() - last;
      if (since < options.sweepIntervalMs) {
        next = Math.min(next, options.sweepIntervalMs - since);
        continue;
      }
      const owned = ownedDirs(records, claimName);
      const remove = options.deleteOrphanFiles ? deletable(this.#unowned.get(claimKey), owned) : [];
      const remote =
        store && claim === remoteClaim
          ? {
              secretName: store,
              keep: ownedRemote(records),
              delete: options.deleteOrphanFiles
                ? deletable(this.#unownedRemote.get(clusterKey), ownedRemote(records))
                : [],
            }
          : undefined;
      ctx.assertOwner();
      await api.createJob(
        buildSweepJob(options, {
          claim,
          clusterName,
          keep: owned,
          delete: remove,
          ...(remote ? { remote } : {}),
        }),
        ctx.signal,
      );
      ctx.log.debug({ claim: claimKey, keep: owned.length, delete: remove.length }, 'sweep Job created');
      next = Math.min(next, options.pollIntervalMs);
    }
    return next;
  }

  async #readSweep(
    clusterKey: string,
    claim: PersistentVolumeClaim,
    job: Job,
    records: EtcdSnapshot[],
    ctx: ReconcileContext,
  ): Promise<void> {
    const { api, metrics, options } = this.#deps;
    const namespace = claim.metadata?.namespace ?? '';
    const claimName = claim.metadata?.name ?? '';
    const claimKey = objectKey(claim);
    const pods = await api.listJobPods(namespace, job.metadata?.name ?? '', ctx.signal);
    const message = pods
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .map((s) => s.state?.terminated?.message)
      .find((m) => m !== undefined);
    const result = parseAgentResult(message);
    if (!result?.ok || !result.sweep) {
      const why = result?.error
        ? `${result.error.reason}: ${result.error.message}`
        : (message ?? 'no result');
      ctx.log.warn({ claim: claimKey, error: why }, 'sweep of the snapshot claim failed');
      await api.claimEvent(
        claim,
        { type: 'Warning', reason: 'SnapshotSweepFailed', message: `sweep failed: ${why}` },
        ctx.signal,
      );
      return;
    }
    const sweep = result.sweep;
    // The cache may have caught up with a record since the Job was made: its directory is owned.
    const owned = ownedDirs(records, claimName);
    const orphans = confirmedOrphans(sweep.unowned, owned);
    const count = sweep.unownedCount - (sweep.unowned.length - orphans.length);
    this.#unowned.set(claimKey, orphans);
    metrics.orphanFiles(clusterKey, count);
    if (sweep.remote) {
      const remote = await readRemoteSweep(
        { clusterKey, claim, report: sweep.remote, records, deleteOrphans: options.deleteOrphanFiles },
        { api, metrics },
        ctx,
      );
      if (remote) this.#unownedRemote.set(clusterKey, remote);
      else this.#unownedRemote.delete(clusterKey);
    }
    if (sweep.deleted.length > 0) {
      ctx.log.info({ claim: claimKey, deleted: sweep.deleted }, 'orphaned snapshot directories deleted');
      await api.claimEvent(
        claim,
        {
          type: 'Normal',
          reason: 'OrphanedSnapshotFilesDeleted',
          message: `deleted ${sweep.deleted.length} snapshot directories no record owned: ${sweep.deleted.join(', ')}`,
        },
        ctx.signal,
      );
    }
    if (count > 0) {
      const more = count > orphans.length ? ` and ${count - orphans.length} more` : '';
      const what = options.deleteOrphanFiles
        ? 'they are deleted at the next sweep if still unowned'
        : 'kept (--delete-orphan-files removes them)';
      ctx.log.warn({ claim: claimKey, orphans: count }, 'snapshot directories no record owns');
      await api.claimEvent(
        claim,
        {
          type: 'Warning',
          reason: 'OrphanedSnapshotFiles',
          message: `${count} snapshot directories no record owns: ${orphans.join(', ')}${more}; ${what}`,
        },
        ctx.signal,
      );
    }
  }
}
