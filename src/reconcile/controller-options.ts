// What a Controller is built with and stopped with (controller.ts).
import type { Ownership } from '../leader/ownership.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { RateLimiterOptions } from './rate-limiter.ts';
import type { Reconciler } from './result.ts';
import type { SyncingSource } from './sources-synced.ts';

export interface ControllerOptions {
  /** The `controller` label of the metrics and the workqueue `name`. */
  name: string;
  reconciler: Reconciler;
  logger: Logger;
  /** Concurrent reconciles (distinct keys); default 1, as controller-runtime's MaxConcurrentReconciles. */
  workers?: number;
  ownership?: Ownership;
  /** Maps a queue key to the key ownership is decided by; default: the key itself. */
  shardKey?: (key: string) => string;
  metrics?: ControllerMetrics;
  rateLimiter?: Partial<RateLimiterOptions>;
  /** Stores the reconciler reads without watching them: the workers wait for these to sync too. */
  alsoSynced?: readonly SyncingSource[];
}

export interface StopOptions {
  /** How long in-flight reconciles may run before they are aborted (ShutdownError); default 30 s. */
  deadlineMs?: number;
  /** After aborting, how long to wait for them to return; default 5 s. */
  abortGraceMs?: number;
}
