// The checks before a save starts: Discover → ResolveCredentials → CheckHealth → PrepareStorage.
// They hold no state: each runs again in one pass until the save starts, so each only reads
// the world (or creates the cluster's claim, which is idempotent) and fills in the SaveRun the
// next one reads. A check that cannot pass says so as a step result.

import type { EtcdCredentials } from '../../etcd/credentials.ts';
import { discoverEtcdCluster } from '../../etcd/discovery.ts';
import {
  ClusterSlowError,
  ClusterUnhealthyError,
  EtcdError,
  type EtcdErrorReason,
} from '../../etcd/errors.ts';
import { namespacedKey } from '../../informers/store-types.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import { buildSnapshotClaim, claimSize } from '../snapshot-records/claim-spec.ts';
import { fail, proceed, requeueAfter, type StepResult } from '../step.ts';
import { memberIdsOf } from './membership-drift.ts';
import { memberCountsOf } from './metrics.ts';
import { slowEtcdVerdict } from './slow-etcd-wait.ts';
import { type StepIo, sourceFirst } from './step-io.ts';
import { reportVersionSkew } from './version-skew.ts';

// Reasons that may clear by themselves (an election, a member restarting): retried until the
// record's snapshot timeout has passed since it was created, then final.
const TRANSIENT_REASONS: ReadonlySet<EtcdErrorReason> = new Set([
  'ETCD_NO_LEADER',
  'ETCD_ENDPOINTS_UNREACHABLE',
]);

/** What the checks learn for the save: filled in phase by phase. */
export interface SaveRun {
  /** The record as last read or written (RunJob writes the intent). */
  record: EtcdSnapshot;
  readonly ctx: ReconcileContext;
  endpoints: string[];
  credentials: EtcdCredentials;
  /** Endpoints with the health check's source first, the member IDs it saw, the db size. */
  health: { endpoints: string[]; memberIds: string[]; dbSizeBytes?: number };
}

export function discover(io: StepIo, run: SaveRun): StepResult {
  const { cluster } = run.record.spec;
  // Explicit endpoints were the user's word; anything discovered is looked up again, as pod IPs
  // change when members restart.
  if (cluster.discoveredBy === 'pvc-annotation') return found(run, cluster.endpoints);
  const result = discoverEtcdCluster(
    {
      namespace: cluster.namespace,
      name: cluster.name,
      ...(cluster.credentialsSecret ? { credentialsSecret: cluster.credentialsSecret } : {}),
    },
    io.stores,
    io.options.discovery,
  );
  if (result.found && result.cluster.endpoints.length > 0) return found(run, result.cluster.endpoints);
  if (cluster.endpoints.length > 0) return found(run, cluster.endpoints);
  return fail(
    'ETCD_CLUSTER_NOT_FOUND',
    `etcd cluster ${cluster.key} not found: ${result.found ? 'no endpoints' : result.tried.join('; ')}`,
  );
}

function found(run: SaveRun, endpoints: string[]): StepResult {
  run.endpoints = endpoints;
  return proceed;
}

/** Quorum and member list; transient etcd trouble is a requeue until the snapshot times out. */
export async function checkHealth(io: StepIo, run: SaveRun): Promise<StepResult> {
  const { record, ctx, endpoints, credentials } = run;
  const check = io.health;
  if (!check) {
    run.health = { endpoints, memberIds: [] };
    return proceed;
  }
  const cluster = record.spec.cluster.key;
  const { metrics } = io;
  try {
    const health = await check(endpoints, credentials, {
      signal: ctx.signal,
      timeoutMs: io.options.healthTimeoutMs,
      onCall: (c) => metrics.etcdRequest(cluster, c.operation, c.seconds, c.error === undefined),
    });
    metrics.clusterHealth(cluster, memberCountsOf(health), health.hasQuorum);
    if (!health.hasQuorum) {
      return fail(
        'ETCD_QUORUM_LOST',
        `etcd cluster ${cluster}: fewer than a quorum of its ${health.members.length} members answer`,
      );
    }
    await reportVersionSkew(io, record, health, ctx);
    run.health = {
      endpoints: sourceFirst(endpoints, health.source),
      memberIds: memberIdsOf(health.members),
      ...(health.dbSizeBytes !== undefined ? { dbSizeBytes: health.dbSizeBytes } : {}),
    };
    return proceed;
  } catch (err) {
    ctx.signal.throwIfAborted();
    // An unhealthy cluster is what the quorum gauge exists for; a credential failure is not.
    if (err instanceof ClusterUnhealthyError) metrics.clusterHealth(cluster, err.members, false);
    // The health check says why with an EtcdError; anything else is retried with backoff.
    if (!(err instanceof EtcdError)) throw err;
    // Slow is not unhealthy: the gauges keep their value, the record waits with backoff.
    if (err instanceof ClusterSlowError) {
      const verdict = slowEtcdVerdict(record, err, io.now(), io.options.pollIntervalMs);
      if (verdict.kind === 'fail') return fail(err.reason, verdict.message);
      ctx.log.info(
        { reason: err.reason, message: err.message },
        'etcd members answer too slowly; checking again',
      );
      if (verdict.status) run.record = await io.putStatus(record, verdict.status, ctx);
      return requeueAfter(verdict.requeueAfterMs);
    }
    const { reason } = err;
    const age = io.now().getTime() - Date.parse(record.metadata?.creationTimestamp ?? '');
    if (TRANSIENT_REASONS.has(reason) && !(age > record.spec.snapshotTimeoutSeconds * 1000)) {
      ctx.log.info({ reason, message: err.message }, 'etcd not healthy yet; checking again');
      return requeueAfter(Math.min(5_000, io.options.pollIntervalMs));
    }
    return fail(reason, err.message);
  }
}

/** Creates the cluster's snapshot claim if absent; a requeue while it cannot be used yet. */
export async function prepareStorage(io: StepIo, run: SaveRun): Promise<StepResult> {
  const { record, ctx } = run;
  const { claimName } = record.spec.storage;
  const { namespace } = record.spec.cluster;
  const existing = io.stores.persistentVolumeClaims.get(namespacedKey(namespace, claimName));
  if (existing) {
    // A claim being deleted takes every file with it; wait for it to go and make a new one.
    if (existing.metadata?.deletionTimestamp) {
      ctx.log.info({ claim: claimName }, 'snapshot claim is being deleted; waiting');
      return requeueAfter(io.options.pollIntervalMs);
    }
    return proceed;
  }
  const claim = buildSnapshotClaim(
    record,
    claimSize(io.options.snapshotClaimSize, run.health.dbSizeBytes),
    io.options.defaultStorageClass,
  );
  ctx.assertOwner();
  try {
    await io.api.createClaim(claim, ctx.signal);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    io.metrics.storageError(record.spec.cluster.key, 'STORAGE_PVC_NOT_FOUND');
    if (status === 400 || status === 403 || status === 422) {
      return fail(
        'STORAGE_PVC_NOT_FOUND',
        `cannot create snapshot claim ${namespace}/${claimName}: ${(err as Error).message}`,
      );
    }
    throw err;
  }
  return proceed;
}
