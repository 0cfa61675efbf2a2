// The reconcilers and the bucket elector, started as one start-up step and stopped as one part:
// every controller drains before any bucket is handed over.
import type { BucketElector } from '../leader/bucket-elector.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { StartupStack } from './startup-stack.ts';

/** What a reconciler looks like to the composition root (src/reconcile/controller.ts fits). */
export interface RunnableController {
  start(): void;
  /** drained: false when reconciles were still running at the deadline (aborted, maybe not ended). */
  stop(options: { deadlineMs: number }): Promise<{ drained: boolean }>;
}

/**
 * Starts the controllers, then the elector. How to stop them is on the stack before the first
 * starts, so a controller whose start throws leaves none of the ones before it running: the
 * unwind stops them all (stopping one that never started does nothing).
 */
export function startControllers(
  controllers: readonly RunnableController[],
  elector: BucketElector | undefined,
  stack: StartupStack,
  log: Logger,
): void {
  stack.push('controllers and buckets', async (left) => {
    const results = await Promise.all(
      controllers.map((c) => c.stop({ deadlineMs: Math.min(10_000, left()) })),
    );
    // Hand buckets over only when no reconcile still runs: one that ignored its abort would
    // otherwise overlap with the next owner's. Undrained, the Leases are left to expire.
    const drained = results.every((r) => r.drained);
    if (!drained) log.warn({ component: 'main' }, 'reconciles still running; leaving Leases to expire');
    await elector?.stop({ release: drained });
  });
  // Controllers subscribe to ownership changes before the elector can report any; their
  // workers wait for the caches (src/reconcile/controller.ts).
  for (const controller of controllers) controller.start();
  elector?.start();
}
