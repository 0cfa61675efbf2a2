// Every change of a collection as the apiserver announces it, with the time it arrived: the HA
// cases judge "exactly once" from the whole history (a save Job deleted and made again between
// two polls has a new uid; a second save pod is an ADDED event), not from the state at the end,
// and time failovers from the Lease events.
import { type KubeConfig, Watch } from '@kubernetes/client-node';

export interface WatchedObject {
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface LoggedEvent<T extends WatchedObject = WatchedObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** performance.now() when the event arrived. */
  at: number;
  object: T;
}

export interface EventLog<T extends WatchedObject = WatchedObject> {
  readonly events: readonly LoggedEvent<T>[];
  /** Resolves with the first logged event (past or future) that matches. */
  next(match: (e: LoggedEvent<T>) => boolean, timeoutMs: number, what: string): Promise<LoggedEvent<T>>;
  stop(): void;
}

/**
 * Watches `path` (a collection URL, e.g. /apis/batch/v1/namespaces/etcd/jobs) from now on, the
 * objects that exist first as ADDED. A watch that ends is resumed from the last resourceVersion
 * seen, so the log has no gaps; a 410 (the version was compacted) is thrown at the next `next`.
 */
export async function startEventLog<T extends WatchedObject = WatchedObject>(
  kubeConfig: KubeConfig,
  path: string,
  labelSelector?: string,
): Promise<EventLog<T>> {
  const events: LoggedEvent<T>[] = [];
  const waiters = new Set<() => void>();
  let resourceVersion: string | undefined;
  let stopped = false;
  let failure: Error | undefined;
  let abort: AbortController | undefined;
  const watch = new Watch(kubeConfig);
  // The client cuts a watch silent for 30 s; an idle collection is silent for longer than that.
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 3_600_000;

  const run = async (): Promise<void> => {
    if (stopped) return;
    abort = await watch.watch(
      path,
      {
        allowWatchBookmarks: true,
        labelSelector,
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      (phase: string, object: T & { code?: number; message?: string }) => {
        if (phase === 'BOOKMARK') {
          resourceVersion = object.metadata.resourceVersion ?? resourceVersion;
          return;
        }
        if (phase === 'ERROR') {
          failure = new Error(`watch ${path}: ${object.code} ${object.message}`);
          return;
        }
        resourceVersion = object.metadata.resourceVersion ?? resourceVersion;
        events.push({ type: phase as LoggedEvent['type'], at: performance.now(), object });
        for (const w of waiters) w();
      },
      () => {
        if (!stopped && !failure) setTimeout(() => void run().catch(fail), 200);
      },
    );
  };
  const fail = (err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err));
    for (const w of waiters) w();
  };
  await run();

  return {
    events,
    next(match, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (failure) return finish(() => reject(failure));
          const hit = events.find(match);
          if (hit) finish(() => resolve(hit));
        };
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))),
          timeoutMs,
        );
        waiters.add(check);
        check();
      });
    },
    stop() {
      stopped = true;
      abort?.abort();
    },
  };
}
