// What the e2e files of the disaster-recovery path share: the store and key Secrets made the way
// a user makes them, and the store-import controller (`--import-from-store`) started in this
// process over the CSI env's informers, as src/app/default-controllers.ts wires it.
import { alwaysOwner } from '../../../src/leader/ownership.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { createStoreImportController } from '../../../src/reconcile/store-import/controller-factory.ts';
import { etcdSnapshotResource } from '../../../src/records/etcd-snapshot.ts';
import type { Logger } from '../../../src/telemetry/logger.ts';
import type { DriverEnv } from '../../integration/csi/driver-env.ts';

export async function createSecret(
  env: DriverEnv,
  namespace: string,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  await env.kubeClient.request('POST', `/api/v1/namespaces/${namespace}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
  });
}

/** The import of `secrets` (`<namespace>/<secret>`), synced every `intervalMs`; started. */
export function startStoreImport(
  env: DriverEnv,
  secrets: string[],
  logger: Logger,
  intervalMs = 2_000,
): Controller {
  const importer = createStoreImportController({
    client: env.kubeClient,
    secrets,
    etcdSnapshots: env.factory.informerFor(etcdSnapshotResource),
    ownership: alwaysOwner,
    logger,
    options: { driverName: 'etcd-snapshot-driver', intervalMs, storageClass: 'local-path', createdBy: 'e2e' },
  });
  importer.start();
  return importer;
}
