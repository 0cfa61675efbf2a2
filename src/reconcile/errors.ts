// Typed errors of the reconcile runtime. A reconciler throws TerminalError for failures that
// retrying cannot fix (recorded in status by the reconciler, counted, never requeued); any other
// error requeues the key with per-key exponential backoff.

/** Wrap or throw to stop retrying a key (controller-runtime's reconcile.TerminalError). */
export class TerminalError extends Error {
  override name = 'TerminalError';
}

/** The abort reason when this replica lost the key's shard; the key is dropped, not retried. */
export class OwnershipLostError extends Error {
  override name = 'OwnershipLostError';
  readonly key: string;
  constructor(key: string) {
    super(`this replica no longer owns ${key}`);
    this.key = key;
  }
}

/** The abort reason for reconciles still running when the controller's shutdown deadline passed. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

/** True if err, or any error in its cause chain, is a TerminalError (errors.Is semantics). */
export function isTerminalError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof TerminalError) return true;
  }
  return false;
}
