// Composition of the store import (`--import-from-store`): a Controller whose keys are the
// configured store Secrets (`<namespace>/<secret>`), each requeued every interval by its own
// reconcile. The keys come from a fixed source, so a replica that gains a key's bucket queues it
// as it would an informer's object; the records' cache must have synced before the first sync
// (an unsynced cache could not tell an existing record from a missing one).
import { of } from 'rxjs';
import type { InformerEvent, ReadonlyStore } from '../../informers/store-types.ts';
import type { JsonRequester } from '../../kube/custom-objects.ts';
import type { Ownership } from '../../leader/ownership.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { Controller, type Source } from '../controller.ts';
import { enqueueObject } from '../handlers.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { kubeStoreImportApi, sdkStoreClients } from './kube-api.ts';
import type { StoreClientFactory, StoreImportApi, StoreImportOptions } from './ports.ts';
import { StoreImportReconciler } from './reconciler.ts';

interface StoreKey {
  metadata: { namespace: string; name: string };
}

export interface StoreImportControllerDeps {
  client: JsonRequester;
  /** `<namespace>/<secret>` of every store to import from. */
  secrets: readonly string[];
  etcdSnapshots: Source<EtcdSnapshot>;
  ownership: Ownership;
  logger: Logger;
  options: StoreImportOptions;
  controllerMetrics?: ControllerMetrics;
  api?: StoreImportApi;
  clients?: StoreClientFactory;
  now?: () => Date;
}

/** The configured Secrets as a source that never changes: every key "added" once. */
export function fixedKeys(secrets: readonly string[]): Source<StoreKey> {
  const objects = [...new Set(secrets)].map((s): StoreKey => {
    const [namespace = '', name = ''] = s.split('/');
    return { metadata: { namespace, name } };
  });
  const byKey = new Map(objects.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  const store: ReadonlyStore<StoreKey> = {
    get: (key) => byKey.get(key),
    list: () => [...objects],
    keys: () => byKey.keys(),
    byIndex: () => [],
    size: objects.length,
  };
  const events = objects.map((object): InformerEvent<StoreKey> => ({ type: 'added', object }));
  return { name: 'import-from-store', store, events$: of(...events) };
}

export function createStoreImportController(deps: StoreImportControllerDeps): Controller {
  const logger = deps.logger.child({ component: 'store-import' });
  const reconciler = new StoreImportReconciler({
    api: deps.api ?? kubeStoreImportApi(deps.client, logger),
    records: deps.etcdSnapshots.store,
    clients: deps.clients ?? sdkStoreClients,
    options: deps.options,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const controller = new Controller({
    name: 'store-import',
    reconciler,
    logger,
    ownership: deps.ownership,
    alsoSynced: [deps.etcdSnapshots],
    ...(deps.controllerMetrics ? { metrics: deps.controllerMetrics } : {}),
  });
  return controller.watch(fixedKeys(deps.secrets), enqueueObject());
}
