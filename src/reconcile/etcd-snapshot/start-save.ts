// The flow of a record whose save has not started:
//   (its cluster's turn) → Discover → ResolveCredentials → CheckHealth → PrepareStorage → RunJob
// ResolveCredentials runs before CheckHealth because the health check needs the credentials.
// RunJob writes the save Job's name into status BEFORE creating the Job, so "a file may exist"
// is never lost; from then on the record is in the await flow (await-save.ts).

import { INDEX_RESTORE_CLUSTER } from '../../records/etcd-restore.ts';
import type { EtcdSnapshot, EtcdSnapshotStatus, EtcdSnapshotStep } from '../../records/etcd-snapshot.ts';
import { restoreInFlight } from '../cluster-turns.ts';
import type { ReconcileContext, ReconcileResult } from '../result.ts';
import { minFreeBytes } from '../snapshot-records/claim-spec.ts';
import { clusterWorkloadKey, INDEX_PIPELINE_WORKLOAD } from '../snapshot-records/indexes.ts';
import { jobName } from '../snapshot-records/names.ts';
import { type Phase, runPhases, type StepResult } from '../step.ts';
import { saveTurn } from './cluster-turn.ts';
import { waitingStatus } from './cluster-wait.ts';
import { withoutBlockingConditions } from './conditions.ts';
import { createSaveJob } from './job-create-failure.ts';
import { buildSaveJob } from './job-spec.ts';
import { checkHealth, discover, prepareStorage, type SaveRun } from './preflight.ts';
import { resolveCredentialsStep } from './resolve-credentials.ts';
import { failRecord, logStep } from './status-writes.ts';
import type { StepIo } from './step-io.ts';
import { inStepSpan, traceparentOf } from './tracing.ts';

export class SaveStarter {
  readonly #io: StepIo;

  constructor(io: StepIo) {
    this.#io = io;
  }

  async start(record: EtcdSnapshot, ctx: ReconcileContext): Promise<ReconcileResult> {
    // Records of one cluster are reconciled by this replica alone (ownership is by cluster), but
    // by several workers at once, and a restore of the cluster by another controller: two that
    // judged the turn from the same cache before either wrote its intent would both start. The
    // decision and the intent write are one critical section per cluster (../cluster-turns.ts);
    // a record finding it taken looks again shortly.
    const clusterKey = record.spec.cluster.key;
    const result = await this.#io.turns.exclusive(clusterKey, () => startExclusive(this.#io, record, ctx));
    return result ?? { requeueAfter: 1_000 };
  }
}

/** A restore of the cluster (running, waiting for its turn, or noted moments ago) blocks saves. */
function restoreBlocking(io: StepIo, clusterKey: string): string | undefined {
  const restores = io.stores.etcdRestores?.byIndex(INDEX_RESTORE_CLUSTER, clusterKey) ?? [];
  const name = restoreInFlight(restores, io.turns.recentIntents(clusterKey, 'restore'));
  return name === undefined ? undefined : `the restore ${name}`;
}

async function startExclusive(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const { namespace, name: clusterName, key: clusterKey } = record.spec.cluster;
  const workload = clusterWorkloadKey(namespace, clusterName, 'save');
  const restore = restoreBlocking(io, clusterKey);
  const turn: ReturnType<typeof saveTurn> = restore
    ? { go: false, waitingFor: restore }
    : saveTurn({
        self: record,
        // Our own intent writes count even before the cache has them.
        peers: io.clusterRecords(clusterKey),
        saveJobs: io.stores.jobs.byIndex(INDEX_PIPELINE_WORKLOAD, workload),
        savePods: io.stores.pods.byIndex(INDEX_PIPELINE_WORKLOAD, workload),
      });
  if (!turn.go) {
    ctx.log.debug({ waiting_for: turn.waitingFor }, 'waiting for the cluster’s save to end');
    const waiting = waitingStatus(record.status, clusterKey, turn.waitingFor, io.now());
    if (waiting) await io.putStatus(record, waiting, ctx);
    return { requeueAfter: io.options.pollIntervalMs };
  }
  const started = performance.now();
  const run: SaveRun = {
    record,
    ctx,
    endpoints: [],
    credentials: { kind: 'none' },
    health: { endpoints: [], memberIds: [] },
  };
  const spanned = (name: EtcdSnapshotStep, step: () => StepResult | Promise<StepResult>) => ({
    name,
    run: () => inStepSpan(record, name, async () => step()),
  });
  const phases: Phase<EtcdSnapshotStep>[] = [
    spanned('Discover', () => discover(io, run)),
    spanned('ResolveCredentials', () => resolveCredentialsStep(io, run)),
    spanned('CheckHealth', () => checkHealth(io, run)),
    spanned('PrepareStorage', () => prepareStorage(io, run)),
    {
      name: 'RunJob',
      run: () => inStepSpan(record, 'RunJob', (span, parent) => runJob(io, run, span, parent)),
    },
  ];
  const outcome = await runPhases(phases);
  if (outcome.result.kind === 'requeue') return { requeueAfter: outcome.result.afterMs };
  if (outcome.result.kind === 'fail' && 'phase' in outcome) {
    const { reason, message } = outcome.result;
    // RunJob may have written the intent: the failure goes on top of that write.
    await failRecord(io, run.record, ctx, { reason, step: outcome.phase, message });
    return {};
  }
  logStep(ctx.log, record, 'Running', 'RunJob', (performance.now() - started) / 1000);
  return { requeueAfter: io.options.pollIntervalMs };
}

/** Intent first, then the Job: once the status is stored, every later reader knows a file may exist. */
async function runJob(
  io: StepIo,
  run: SaveRun,
  span: Parameters<typeof traceparentOf>[0],
  parent: Parameters<typeof traceparentOf>[1],
): Promise<StepResult> {
  const { record, ctx, health } = run;
  const status: EtcdSnapshotStatus = {
    // The wait for the turn is over: its condition goes.
    ...(record.status ? (withoutBlockingConditions(record.status) ?? record.status) : {}),
    phase: 'Running',
    readyToUse: false,
    step: 'AwaitJob',
    saveJob: jobName('save', record.metadata?.name ?? ''),
    endpoints: health.endpoints,
    startedAt: io.now().toISOString(),
  };
  if (health.dbSizeBytes !== undefined) status.dbSizeBytes = health.dbSizeBytes;
  if (health.memberIds.length > 0) status.memberIds = health.memberIds;
  else delete status.memberIds;
  const written = await io.putStatus(record, status, ctx);
  io.turns.noteIntent(record.spec.cluster.key, { kind: 'save', name: record.metadata?.name ?? '' });
  run.record = written;
  const traceparent = traceparentOf(span, parent);
  const job = buildSaveJob(io.options, {
    record: written,
    endpoints: health.endpoints,
    ...(health.dbSizeBytes !== undefined ? { minFreeBytes: minFreeBytes(health.dbSizeBytes) } : {}),
    ...(traceparent ? { traceparent } : {}),
  });
  return createSaveJob(io, written, job, ctx);
}
