// The snapshot pipeline: a level-based reconciler of EtcdSnapshot records (key `ns/name`).
//
//   Discover → ResolveCredentials → CheckHealth → PrepareStorage → RunJob   start-save.ts
//   → AwaitJob → Verify → Ready                                             await-save.ts
//   → Upload → Ready (a record naming an object store)                      await-upload.ts
//   Ready with a remote copy → a verify Job every --remote-verify-interval   remote-verify.ts
//   ↘ Failed → Cleanup;  deletionTimestamp → Delete                        remove-files.ts
//
// This file only picks the flow for the record as it is now. The state that matters lives in
// status (the save Job's name is written BEFORE the Job is created, so "a file may exist" is
// never lost) and in deterministic Job names. Every status write carries the resourceVersion
// read (409 → requeue with backoff); waiting is a requeue or a Job/Pod event. Each flow is a
// list of phases returning a StepResult (../step.ts); failures are written by status-writes.ts.
import { INDEX_GROUP_SNAPSHOT_ID, isBeingDeleted } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../result.ts';
import { awaitSave } from './await-save.ts';
import { awaitUpload } from './await-upload.ts';
import { groupFailure } from './group-failure.ts';
import { remoteVerify } from './remote-verify.ts';
import { cleanupFailed, deletion } from './remove-files.ts';
import { SaveStarter } from './start-save.ts';
import { failRecord } from './status-writes.ts';
import { type PipelineReconcilerDeps, type StepIo, stepIo } from './step-io.ts';

export type { PipelineReconcilerDeps, PipelineStores } from './step-io.ts';

export class EtcdSnapshotReconciler implements Reconciler {
  readonly #io: StepIo;
  readonly #starter: SaveStarter;

  constructor(deps: PipelineReconcilerDeps) {
    this.#io = stepIo(deps);
    this.#starter = new SaveStarter(this.#io);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const io = this.#io;
    const record = io.record(key);
    if (!record) return {};
    if (isBeingDeleted(record)) return deletion(io, record, ctx);
    // Imported from a store (reconcile/store-import): its status is the import's, no save runs.
    if (record.spec.imported) return {};
    if (record.status?.phase === 'Failed') return cleanupFailed(io, record, ctx);

    const groupId = record.spec.groupSnapshotId;
    if (groupId) {
      const peers = io.stores.etcdSnapshots.byIndex(INDEX_GROUP_SNAPSHOT_ID, groupId);
      const failure = groupFailure(record, peers);
      if (failure) {
        await failRecord(io, record, ctx, {
          reason: failure.reason,
          step: record.status?.step ?? 'Discover',
          message: `group snapshot ${groupId} failed: ${failure.message}`,
          failedWith: failure.failedWith,
        });
        return {};
      }
    }
    if (record.status?.phase === 'Ready') return remoteVerify(io, record, ctx);
    // uploadJob is written with the judged save: that record is past awaitSave for good.
    if (record.status?.uploadJob) return awaitUpload(io, record, ctx);
    if (record.status?.saveJob) return awaitSave(io, record, ctx);
    return this.#starter.start(record, ctx);
  }
}
