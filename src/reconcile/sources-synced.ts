// controller-runtime's WaitForCacheSync for our sources: a controller starts its workers only
// once every source's store holds a complete list. Before that, "not in the store" may only mean
// "not listed yet", and a reconciler acting on it could delete what still exists.
import { combineLatest, filter, type Observable, Subscription, take } from 'rxjs';
import type { Logger } from '../telemetry/logger.ts';

export interface SyncingSource {
  /** false until the first complete list is in the store, then true; absent: complete from the start. */
  readonly synced$?: Observable<boolean>;
  /** synced$'s current value, for a reader that must not judge an unsynced store. */
  readonly hasSynced?: boolean;
  /** Shown in the log while waiting. */
  readonly name?: string;
}

/** Calls `then` once, when every source has synced (at once if none reports it); unsubscribe cancels. */
export function whenAllSynced(
  sources: readonly SyncingSource[],
  log: Logger,
  then: () => void,
): Subscription {
  const syncing = [...new Set(sources)].filter((s) => s.synced$ !== undefined);
  if (syncing.length === 0) {
    then();
    return Subscription.EMPTY;
  }
  log.info({ sources: syncing.map((s) => s.name ?? 'unnamed') }, 'waiting for caches to sync');
  return combineLatest(syncing.map((s) => s.synced$!.pipe(filter(Boolean), take(1))))
    .pipe(take(1))
    .subscribe(() => {
      log.info('caches synced; starting workers');
      then();
    });
}
