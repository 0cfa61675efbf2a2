// A small reflector (client-go tools/cache/reflector.go, reduced): list, then watch from the list's
// resourceVersion with bookmarks; on a closed or failed watch, watch again from the last version
// seen; on 410 Gone (the version was compacted away), list again and report what disappeared
// meanwhile as deleted. Objects are delivered in wire form (timestamps as strings).
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { describeError, statusCode, wireForm } from './kube-api.ts';
import type { Log } from './log.ts';

interface Meta {
  metadata?: { uid?: string; resourceVersion?: string };
}

export interface ListWatchOptions<T extends Meta> {
  kubeConfig: KubeConfig;
  /** Lists the objects (the typed client is fine: they are converted to wire form). */
  list(): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** The collection path to watch, e.g. /api/v1/pods. */
  watchPath: string;
  /** Extra query parameters of the watch, e.g. a fieldSelector; must match the list's. */
  watchQuery?: Record<string, string>;
  onUpsert(object: T): void;
  onDelete(object: T): void;
  log: Log;
}

export interface ListWatch {
  /** Resolves after the first list was delivered. */
  readonly synced: Promise<void>;
  stop(): void;
}

const RETRY_MS = 1000;

export function startListWatch<T extends Meta>(options: ListWatchOptions<T>): ListWatch {
  const known = new Map<string, T>();
  let stopped = false;
  let abort: AbortController | undefined;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const relist = async (): Promise<string> => {
    const list = await options.list();
    const items = list.items.map((item) => wireForm(item));
    const seen = new Set<string>();
    for (const item of items) {
      const uid = item.metadata?.uid ?? '';
      seen.add(uid);
      known.set(uid, item);
      options.onUpsert(item);
    }
    for (const [uid, object] of known) {
      if (!seen.has(uid)) {
        known.delete(uid);
        options.onDelete(object);
      }
    }
    markSynced();
    return list.metadata?.resourceVersion ?? '';
  };

  /** Watches from `resourceVersion`; resolves with the last version seen, or undefined to relist. */
  const watchOnce = (resourceVersion: string): Promise<string | undefined> =>
    new Promise((resolve) => {
      let last: string | undefined = resourceVersion;
      const watch = new Watch(options.kubeConfig);
      watch
        .watch(
          options.watchPath,
          { ...options.watchQuery, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (type, object: T & { code?: number; message?: string }) => {
            if (type === 'ERROR') {
              // 410 Gone: too old a version; anything else is just as final for this watch.
              if (object.code === 410) last = undefined;
              else
                options.log.debug('watch error event', { path: options.watchPath, message: object.message });
              abort?.abort();
              return;
            }
            const version = object.metadata?.resourceVersion;
            if (version && last !== undefined) last = version;
            if (type === 'BOOKMARK') return;
            const uid = object.metadata?.uid ?? '';
            if (type === 'DELETED') {
              known.delete(uid);
              options.onDelete(object);
            } else {
              known.set(uid, object);
              options.onUpsert(object);
            }
          },
          (err: unknown) => {
            if (err && statusCode(err) === 410) last = undefined;
            else if (err && !stopped && !(err instanceof Error && err.name === 'AbortError')) {
              options.log.debug('watch ended', { path: options.watchPath, error: describeError(err) });
            }
            resolve(last);
          },
        )
        .then(
          (controller) => {
            abort = controller;
            if (stopped) controller.abort();
          },
          (err: unknown) => {
            options.log.debug('watch failed to start', {
              path: options.watchPath,
              error: describeError(err),
            });
            resolve(last);
          },
        );
    });

  void (async () => {
    while (!stopped) {
      let version: string | undefined;
      try {
        version = await relist();
      } catch (err) {
        options.log.warn('list failed; retrying', { path: options.watchPath, error: describeError(err) });
        await sleep(RETRY_MS);
        continue;
      }
      while (!stopped && version !== undefined) {
        const startedAt = Date.now();
        version = await watchOnce(version);
        // A watch that ends at once (apiserver down, restarting) is not retried in a hot loop.
        if (Date.now() - startedAt < RETRY_MS) await sleep(RETRY_MS);
      }
    }
  })();

  return {
    synced,
    stop() {
      stopped = true;
      abort?.abort();
    },
  };
}
