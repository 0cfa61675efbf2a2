// The restore engine: a level-based reconciler of EtcdRestore objects (key `ns/name`).
//
//   Validate [→ FetchRemote → Validate] (the cluster's turn) → VerifyFile → Quiesce → RestoreMembers → Start → VerifyResult
//   → Completed;  a failure before any swap → Failed (the cluster started as it was);
//   after one → RollingBack → RolledBack
//
// This file only picks the flow for the restore as it is now (phase-choice.ts). Everything a
// flow needs to resume is in status, written BEFORE the action it enables (the replicas before
// the scale-down, the Job names and swapStarted before the first restore Job), and every Job
// has a deterministic name; every status write carries the resourceVersion read.
import { restoreFinished } from '../../records/etcd-restore.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../result.ts';
import { fetchRemote } from './fetch-remote.ts';
import { flowOf, ttlLeftMs } from './phase-choice.ts';
import { quiesce } from './quiesce.ts';
import { type RestoreIo, type RestoreReconcilerDeps, restoreIo } from './restore-io.ts';
import { restoreMembers } from './restore-members.ts';
import { rollBack } from './rollback.ts';
import { start } from './start.ts';
import { validate } from './validate.ts';
import { verifyFile } from './verify-file.ts';
import { verifyResult } from './verify-result.ts';

export class EtcdRestoreReconciler implements Reconciler {
  readonly #io: RestoreIo;

  constructor(deps: RestoreReconcilerDeps) {
    this.#io = restoreIo(deps);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const io = this.#io;
    const seen = io.restore(key);
    if (!seen) return {};
    // A restore deleted mid-way is left as it is: its Jobs go with it (owner references).
    if (seen.metadata?.deletionTimestamp && !restoreFinished(seen)) return {};
    // Velero's exclude label first (restore-io.ts says why); the flows go on from the restore written.
    const restore = await io.excludeFromVelero(seen, ctx);
    switch (flowOf(restore)) {
      case 'validate':
        return validate(io, restore, ctx);
      case 'fetch-remote':
        return fetchRemote(io, restore, ctx);
      case 'verify-file':
        return verifyFile(io, restore, ctx);
      case 'quiesce':
        return quiesce(io, restore, ctx);
      case 'restore-members':
        return restoreMembers(io, restore, ctx);
      case 'start':
        return start(io, restore, ctx);
      case 'verify-result':
        return verifyResult(io, restore, ctx);
      case 'roll-back':
        return rollBack(io, restore, ctx);
      case 'finished': {
        const left = ttlLeftMs(restore, io.now());
        if (left === undefined) return {};
        if (left > 0) return { requeueAfter: left };
        ctx.assertOwner();
        await io.api.deleteRestore(restore, ctx.signal);
        return {};
      }
    }
  }
}
