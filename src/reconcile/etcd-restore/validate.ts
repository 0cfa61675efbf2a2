// Validate: every check that can be made before anything is touched, then the cluster's turn.
//   spec → source resolves to a Ready record with a checksum → target StatefulSet (waited for,
//   bounded) → not managed by another operator → membership (live MemberList cross-checked with
//   the StatefulSet, or the StatefulSet alone while the cluster is down) → data claims exist and
//   hold 2 × the database → etcd version → the turn (no save, delete or other restore in flight).
//   While another restore of the cluster holds the turn, nothing of the target is judged: that
//   restore has scaled it down; this one waits.
// A source without a local file is fetched first (fetch-remote.ts: FetchingRemote, then here again).
// Success writes what the later phases need into status and moves to VerifyingFile.
import { defaultClusterToken, revisionBump } from '../../agent/contract.ts';
import { EtcdError } from '../../etcd/errors.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import { restoreClusterKey } from '../../records/etcd-restore.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import {
  clusterWorkloadKey,
  INDEX_PIPELINE_WORKLOAD,
  INDEX_RECORD_CLUSTER,
} from '../snapshot-records/indexes.ts';
import { fail, type StepFailure } from '../step.ts';
import { checkDataClaims, checkSnapshotRecord, checkVersion } from './checks.ts';
import { fetchedOrLocal } from './fetch-remote.ts';
import { liveAccess } from './live-credentials.ts';
import { resolveMembership } from './membership.ts';
import type { LiveClusterView } from './ports.ts';
import type { RestoreIo } from './restore-io.ts';
import { resolveSource } from './source.ts';
import { failPhase, transition, waiting } from './status-writes.ts';
import { describeTarget, findStatefulSet, managedBy } from './target.ts';
import { restoreTurn, turnHolder } from './turn.ts';

const isFailure = (x: unknown): x is StepFailure => (x as StepFailure | undefined)?.kind === 'fail';

export async function validate(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const outcome = await check(io, restore, ctx);
  if (isFailure(outcome)) {
    await failPhase(io, restore, ctx, outcome);
    return {};
  }
  return outcome;
}

async function check(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult | StepFailure> {
  const namespace = restore.metadata?.namespace ?? '';
  const options = restore.spec.options ?? {};
  const bump = options.bumpRevision !== false;
  if (!bump && options.markCompacted === true)
    return fail('RESTORE_INVALID_SPEC', 'spec.options.markCompacted=true needs spec.options.bumpRevision');
  if (bump && options.markCompacted === false)
    return fail(
      'RESTORE_INVALID_SPEC',
      'spec.options.markCompacted=false with a revision bump: etcdutl marks the bumped revisions compacted whenever it bumps',
    );

  const source = await resolveSource(io, restore, ctx.signal);
  if (isFailure(source)) return source;
  if ('record' in source) {
    const { record } = source;
    const recordProblem = checkSnapshotRecord(record);
    if (recordProblem) return recordProblem;
    if (record.metadata?.namespace !== namespace)
      return fail(
        'RESTORE_SNAPSHOT_NOT_FOUND',
        `the snapshot record ${record.metadata?.namespace}/${record.metadata?.name} is in another namespace; its file's claim cannot be mounted in ${namespace}`,
      );
  }
  // A source without a local file is fetched (and verified) first: FetchingRemote, then back here.
  const local = await fetchedOrLocal(io, restore, ctx, source);
  if (isFailure(local)) return local;
  if (!('facts' in local)) return local;
  const { facts } = local;

  const holder = turnHolder(restore, io.clusterRestores(restoreClusterKey(restore)));
  if (holder) {
    await waiting(
      io,
      restore,
      ctx,
      'ClusterBusy',
      `waiting for the restore ${holder.metadata?.name} to end (one operation per etcd cluster)`,
    );
    return { requeueAfter: io.options.pollIntervalMs };
  }

  const sets = findStatefulSet(io.stores.statefulSets, namespace, restore.spec.target.cluster);
  if (sets.length === 0) return awaitTarget(io, restore, ctx);
  if (sets.length > 1)
    return fail(
      'RESTORE_MEMBERSHIP_UNRESOLVABLE',
      `cluster ${restore.spec.target.cluster} runs as ${sets.length} StatefulSets (${sets.map((s) => s.metadata?.name).join(', ')}); a restore needs exactly one`,
    );
  const set = sets[0]!;
  const manager = managedBy(set, io.stores.druidEtcds, restore.spec.target.cluster);
  if (manager && restore.spec.target.allowManagedBy !== manager.override)
    return fail(
      'RESTORE_TARGET_MANAGED',
      `StatefulSet ${namespace}/${set.metadata?.name} is managed by ${manager.owner}, which would undo the scale-down; set spec.target.allowManagedBy=${manager.override} after stopping it (docs/restore.md)`,
    );
  const target = describeTarget(set, restore);
  if (isFailure(target)) return target;

  const access = await liveAccess(io, restore, ctx, local.record?.metadata?.name);
  if (isFailure(access)) return access;
  let live: LiveClusterView | undefined;
  if (access.endpoints.length > 0) {
    try {
      live = await io.probe(access.endpoints, access.credentials, {
        signal: ctx.signal,
        timeoutMs: io.options.probeTimeoutMs,
      });
    } catch (err) {
      ctx.signal.throwIfAborted();
      const reason = err instanceof EtcdError ? err.reason : undefined;
      // A cluster that answers but refuses us is not "down": its member list cannot be skipped.
      if (reason?.startsWith('AUTH_')) return fail(reason, (err as Error).message);
      ctx.log.info(
        { err: (err as Error).message },
        'target cluster does not answer: membership from the StatefulSet',
      );
    }
  }
  const membership = resolveMembership(target.members, live?.members);
  if (isFailure(membership)) return membership;
  const claims = checkDataClaims(
    io.stores.persistentVolumeClaims,
    namespace,
    membership.members,
    facts.sizeBytes,
  );
  if (claims) return claims;
  const version = checkVersion(facts.etcdVersion, live?.version ?? target.imageVersion);
  if (version) return version;

  const clusterKey = restoreClusterKey(restore);
  const taken = await io.turns.exclusive(clusterKey, async () => {
    const turn = restoreTurn({
      self: restore,
      restores: io.clusterRestores(clusterKey),
      records: io.stores.etcdSnapshots.byIndex(INDEX_RECORD_CLUSTER, clusterKey),
      jobs: ['save', 'delete'].flatMap((op) =>
        io.stores.jobs.byIndex(
          INDEX_PIPELINE_WORKLOAD,
          clusterWorkloadKey(namespace, restore.spec.target.cluster, op),
        ),
      ),
      pods: ['save', 'delete'].flatMap((op) =>
        io.stores.pods.byIndex(
          INDEX_PIPELINE_WORKLOAD,
          clusterWorkloadKey(namespace, restore.spec.target.cluster, op),
        ),
      ),
      notedSaves: io.turns.recentIntents(clusterKey, 'save'),
    });
    if (!turn.go) {
      await waiting(
        io,
        restore,
        ctx,
        'ClusterBusy',
        `waiting for ${turn.waitingFor} to end (one operation per etcd cluster)`,
      );
      return { requeueAfter: io.options.pollIntervalMs };
    }
    const { lastRevisionSeen, ...snapshot } = facts;
    const revision = snapshot.revision ?? 0;
    await transition(
      io,
      restore,
      ctx,
      'VerifyingFile',
      {
        clusterKey,
        snapshot,
        statefulSet: target.name,
        jobDataDir: target.jobDataDir,
        membersFrom: membership.source,
        members: membership.members.map((m) => ({ ...m, state: 'Pending' as const })),
        revisionBump: bump ? revisionBump(newestSeen(lastRevisionSeen, revision, live), revision) : 0,
        clusterToken: options.clusterToken ?? defaultClusterToken(restore.metadata?.uid ?? ''),
      },
      `validated: ${membership.members.length} members from the ${membership.source === 'member-list' ? 'live member list' : 'StatefulSet (cluster down)'}, snapshot ${snapshot.record} at revision ${revision}; the cluster's turn is taken`,
    );
    io.turns.noteIntent(clusterKey, { kind: 'restore', name: restore.metadata?.name ?? '' });
    return { requeueAfter: 0 };
  });
  return taken ?? { requeueAfter: 1_000 };
}

/** A target that does not exist yet (Velero restores claims first) is waited for, bounded. */
async function awaitTarget(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult | StepFailure> {
  const namespace = restore.metadata?.namespace ?? '';
  const what = `StatefulSet of etcd cluster ${namespace}/${restore.spec.target.cluster} (labelled etcd.io/cluster or so named)`;
  const waitSeconds = restore.spec.target.waitForTargetSeconds ?? io.options.defaultWaitForTargetSeconds;
  const since = Date.parse(restore.metadata?.creationTimestamp ?? '') || io.now().getTime();
  const left = since + waitSeconds * 1000 - io.now().getTime();
  if (left <= 0)
    return fail(
      'RESTORE_TARGET_NOT_FOUND',
      `no ${what}${waitSeconds > 0 ? ` appeared within waitForTargetSeconds=${waitSeconds}` : ''}`,
    );
  await waiting(io, restore, ctx, 'TargetNotFound', `waiting up to ${waitSeconds}s for the ${what}`);
  return { requeueAfter: Math.min(left, io.options.pollIntervalMs) };
}

/**
 * The newest revision any client may have seen: the snapshot record's lastRevisionSeen, and the
 * live cluster's revision now when it answers (a cluster restored before is already past the
 * snapshot's lastRevisionSeen: bumping from that alone would take its revisions backwards).
 */
export function newestSeen(
  lastRevisionSeen: number | undefined,
  snapshotRevision: number,
  live: LiveClusterView | undefined,
): number {
  return Math.max(lastRevisionSeen ?? snapshotRevision, snapshotRevision, live?.revision ?? 0);
}
