// What the store import needs of the world: the Kubernetes API (the store Secret, records,
// Events on the Secret) and a read-only S3 client. Ports, so the reconciler is unit-tested with
// fakes and the e2e runs it against the real API server and S3 server.
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretLike } from '../../etcd/credentials.ts';
import type { ReadonlyStore } from '../../informers/store-types.ts';
import type { KubeEvent } from '../../kube/event-recorder.ts';
import type { StoreConfig } from '../../objectstore/config.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';

export interface StoreImportApi {
  getSecret(namespace: string, name: string, signal: AbortSignal): Promise<SecretLike | undefined>;
  /** Creates the record unless one of its name exists; returns the record that exists now. */
  createRecord(body: EtcdSnapshot, signal: AbortSignal): Promise<{ record: EtcdSnapshot; created: boolean }>;
  /** Writes the status subresource (guarded by the record's resourceVersion: 409 on a stale one). */
  putStatus(record: EtcdSnapshot, signal: AbortSignal): Promise<EtcdSnapshot>;
  /** An Event on the store Secret (its name only: the Secret's content is never read into one). */
  secretEvent(namespace: string, name: string, event: KubeEvent, signal: AbortSignal): Promise<void>;
}

/** A client that only lists and reads; destroyed after each sync. */
export type StoreClient = Pick<S3Client, 'send' | 'destroy'>;

export type StoreClientFactory = (config: StoreConfig) => StoreClient;

export interface StoreImportOptions {
  driverName: string;
  /** How often each store is listed again (ms). */
  intervalMs: number;
  /** The storage class of the claim a restore may fetch an imported file into. */
  storageClass: string;
  /** spec.createdBy of imported records. */
  createdBy: string;
}

export interface StoreImportDeps {
  api: StoreImportApi;
  /** The records' cache with the snapshot-ID index (records/etcd-snapshot.ts). */
  records: ReadonlyStore<EtcdSnapshot>;
  clients: StoreClientFactory;
  options: StoreImportOptions;
  now?: () => Date;
}
