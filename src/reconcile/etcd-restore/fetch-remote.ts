// FetchRemote: a source without a local file (source.objectStore, an imported record) is first
// downloaded into a snapshot claim by an agent fetch Job (`verify --remote --out`: manifest, both
// SHA-256s and etcd's trailer checked, the file renamed into place only then). Nothing of the
// cluster is touched before it: a copy that does not verify or a store that does not answer fails
// the restore with the agent's reason while the cluster runs on. Validate then goes on from the
// fetched file as from any record's, and VerifyFile re-reads it.
//
//   Validating (source resolved; fetch planned) → FetchingRemote (the Job) → Validating → VerifyingFile …
import type { EtcdRestore, EtcdRestoreFetchStatus, EtcdRestoreStatus } from '../../records/etcd-restore.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { claimSize, snapshotClaim } from '../snapshot-records/claim-spec.ts';
import { fail, type StepFailure } from '../step.ts';
import { type FetchPlan, importedRecordPlan } from './fetch-plan.ts';
import { runJob } from './job-run.ts';
import { buildFetchJob } from './jobs.ts';
import type { RestoreIo } from './restore-io.ts';
import { failPhase, transition } from './status-writes.ts';

/** What Validate reads of the snapshot it restores from: a record's status, or the fetched copy's. */
export type SnapshotFacts = NonNullable<EtcdRestoreStatus['snapshot']> & {
  lastRevisionSeen?: number;
};

/** A record's facts as Validate writes them to status.snapshot. */
export function recordFacts(record: EtcdSnapshot): SnapshotFacts {
  const s = record.status;
  return {
    record: record.metadata?.name ?? '',
    revision: s?.revision ?? 0,
    checksumSha256: s?.checksumSha256 ?? '',
    claimName: record.spec.storage.claimName,
    path: record.spec.storage.path,
    ...(s?.sizeBytes !== undefined ? { sizeBytes: s.sizeBytes } : {}),
    ...(s?.keyCount !== undefined ? { keyCount: s.keyCount } : {}),
    ...(s?.etcdVersion ? { etcdVersion: s.etcdVersion } : {}),
    ...(s?.lastRevisionSeen !== undefined ? { lastRevisionSeen: s.lastRevisionSeen } : {}),
  };
}

/** A copy named by location, once fetched: its facts are what the fetch read from its manifest. */
function fetchedFacts(fetch: EtcdRestoreFetchStatus): SnapshotFacts {
  const f = fetch.fetched!;
  return {
    record: '',
    revision: f.revision ?? 0,
    checksumSha256: f.sha256,
    sizeBytes: f.sizeBytes,
    claimName: fetch.claimName,
    path: fetch.path,
    ...(f.etcdVersion ? { etcdVersion: f.etcdVersion } : {}),
  };
}

/**
 * Validate's first step after the source resolved: the facts to go on with, or — for a source
 * that must be fetched and was not yet — the move to FetchingRemote (a ReconcileResult).
 */
export async function fetchedOrLocal(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
  resolved: { record: EtcdSnapshot } | { remote: FetchPlan },
): Promise<{ facts: SnapshotFacts; record?: EtcdSnapshot } | ReconcileResult | StepFailure> {
  const plan = 'remote' in resolved ? resolved.remote : importedRecordPlan(restore, resolved.record);
  const record = 'record' in resolved ? resolved.record : undefined;
  if (plan === undefined) return { facts: recordFacts(record!), ...(record ? { record } : {}) };
  if ('kind' in plan) return plan;
  const done = restore.status?.fetch;
  if (done?.fetched && done.job === plan.job)
    return record ? { facts: recordFacts(record), record } : { facts: fetchedFacts(done) };
  const claimProblem = await ensureSnapshotClaim(io, restore, ctx, plan, record);
  if (claimProblem) return claimProblem;
  await transition(
    io,
    restore,
    ctx,
    'FetchingRemote',
    { fetch: plan },
    `fetching the remote copy ${plan.namespace}/${plan.cluster}/${plan.snapshot} into ${plan.claimName}/${plan.path}`,
  );
  return { requeueAfter: 0 };
}

/**
 * The claim the copy goes to, made as the pipeline's PrepareStorage makes it when absent (a new
 * cluster after a disaster has none): the record's class, or the driver's default; the driver's
 * claim size, else room for three of the database (1Gi at least, and when the size is unknown).
 */
async function ensureSnapshotClaim(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
  plan: FetchPlan,
  record: EtcdSnapshot | undefined,
): Promise<StepFailure | undefined> {
  const namespace = restore.metadata?.namespace ?? '';
  const what = `the snapshot claim ${namespace}/${plan.claimName} to fetch the remote copy into`;
  const existing = io.stores.persistentVolumeClaims.get(`${namespace}/${plan.claimName}`);
  if (existing?.metadata?.deletionTimestamp)
    return fail('RESTORE_SNAPSHOT_NOT_READY', `${what} is being deleted`);
  if (existing) return undefined;
  const made = io.options.snapshotClaim;
  if (!made)
    return fail(
      'RESTORE_SNAPSHOT_NOT_READY',
      `${what} does not exist and this driver makes no claims for restores: create it (docs/restore.md, "Restore from the store")`,
    );
  const claim = snapshotClaim(
    {
      namespace,
      claimName: plan.claimName,
      clusterName: plan.cluster,
      ...(record?.spec.storage.storageClassName
        ? { storageClassName: record.spec.storage.storageClassName }
        : {}),
    },
    claimSize(made.size, record?.status?.sizeBytes),
    made.defaultStorageClass,
  );
  ctx.assertOwner();
  try {
    await io.api.createClaim(claim, ctx.signal);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 400 || status === 403 || status === 422)
      return fail('RESTORE_SNAPSHOT_NOT_READY', `${what} cannot be created: ${(err as Error).message}`);
    throw err;
  }
  ctx.log.info({ claim: plan.claimName }, 'snapshot claim created for the fetch of a remote copy');
  return undefined;
}

/** The FetchingRemote phase: the fetch Job, then back to Validating with what it read. */
export async function fetchRemote(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const fetch = restore.status?.fetch;
  if (!fetch) {
    await failPhase(io, restore, ctx, fail('RESTORE_INVALID_SPEC', 'FetchingRemote without status.fetch'));
    return {};
  }
  const what = `the remote copy ${fetch.namespace}/${fetch.cluster}/${fetch.snapshot}`;
  const run = await runJob(io, restore, ctx, () => buildFetchJob(io.options, restore, fetch));
  if (run.state === 'running') return { requeueAfter: io.options.pollIntervalMs };
  if (run.state === 'failed') {
    await failPhase(io, restore, ctx, {
      reason: run.reason,
      message: `${what} could not be fetched (nothing on the cluster was changed): ${run.message}`,
    });
    return {};
  }
  const result = run.result;
  const got = result?.sha256;
  if (!result?.ok || !got || result.sizeBytes === undefined) {
    await failPhase(
      io,
      restore,
      ctx,
      fail('CHECKSUM_MISMATCH', `${what}: the fetch Job reported no checksum`),
    );
    return {};
  }
  if (fetch.expectedSha256 && got !== fetch.expectedSha256) {
    await failPhase(
      io,
      restore,
      ctx,
      fail(
        'CHECKSUM_MISMATCH',
        `${what} reads with SHA-256 ${got}; the record ${fetch.snapshot} holds ${fetch.expectedSha256}`,
      ),
    );
    return {};
  }
  const fetched = {
    sha256: got,
    sizeBytes: result.sizeBytes,
    ...(result.revision !== undefined ? { revision: result.revision } : {}),
    ...(result.etcdVersion ? { etcdVersion: result.etcdVersion } : {}),
    ...(result.remote?.object ? { object: result.remote.object } : {}),
  };
  await transition(
    io,
    restore,
    ctx,
    'Validating',
    { fetch: { ...fetch, fetched } },
    `${what} ${result.fetched === 'already-present' ? 'was already fetched' : 'fetched'} and verified: SHA-256 ${got}, ${result.sizeBytes} bytes${result.revision !== undefined ? `, revision ${result.revision}` : ''}`,
  );
  return { requeueAfter: 0 };
}
