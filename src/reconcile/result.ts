// The reconcile contract (controller-runtime's reconcile.Reconciler, level-based):
// reconcile(key) looks at the world as it is now and moves it one step toward the desired
// state; it must be idempotent, since any key may be reconciled again at any time.
import type { Logger } from '../telemetry/logger.ts';

/** `{}`: done until something changes. `{ requeueAfter }`: look again after that many ms (no backoff). */
export interface ReconcileResult {
  requeueAfter?: number;
}

export interface ReconcileContext {
  /**
   * Aborted when this replica loses the key's shard (reason: OwnershipLostError) or when shutdown
   * outlasts its deadline (reason: ShutdownError). Pass it to every request and wait.
   */
  readonly signal: AbortSignal;
  /** Throws (and aborts `signal`) unless this replica still owns the key. Call before every write. */
  assertOwner(): void;
  /** A child logger with controller and key fields. */
  readonly log: Logger;
}

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult>;
}
