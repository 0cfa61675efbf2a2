// The apiserver as a ListWatchSource: one resource, optionally one namespace, label and field selectors.
import type { KubeClient } from './kube-client.ts';
import type { ListPage, ListWatchSource } from './list-watch.ts';
import { apiVersionOf, collectionPath, type ResourceDefinition } from './resources.ts';
import type { StoredObject } from './store-types.ts';

export interface Selectors {
  /** Watch one namespace only; all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

interface ListBody<T> {
  items?: T[] | null;
  metadata?: { resourceVersion?: string; continue?: string };
}

export function kubeListWatch<T extends StoredObject>(
  client: KubeClient,
  resource: ResourceDefinition<T>,
  selectors: Selectors = {},
): ListWatchSource<T> {
  const path = collectionPath(resource, selectors.namespace);
  const { labelSelector, fieldSelector } = selectors;
  const apiVersion = apiVersionOf(resource);
  return {
    async list({ limit, continue: next, signal }): Promise<ListPage<T>> {
      // No resourceVersion: a consistent read from etcd, so a relist after 410 sees the present.
      const body = await client.request<ListBody<T>>('GET', path, {
        query: { limit, continue: next, labelSelector, fieldSelector },
        signal,
      });
      const items = body.items ?? [];
      // List items come without apiVersion and kind; watch events carry them. Make both alike.
      for (const item of items) {
        item.apiVersion ??= apiVersion;
        item.kind ??= resource.kind;
      }
      return {
        items,
        resourceVersion: body.metadata?.resourceVersion ?? '',
        continue: body.metadata?.continue,
      };
    },
    watch({ resourceVersion, timeoutSeconds, signal }) {
      return client.watch(
        path,
        { resourceVersion, timeoutSeconds, allowWatchBookmarks: true, labelSelector, fieldSelector },
        signal,
      );
    },
  };
}
